/**
 * settings.wake_lock: while_flag against a real daemon, with fake
 * termux-wake-lock and termux-wake-unlock on PATH that write down each call.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { daemonPerTest, state, tempDir } from "../helpers/daemon.js";

const daemons = daemonPerTest();

const MANIFEST = `settings:\n  wake_lock: while_flag\nservices:\n  modeld: { command: exec sleep 1000 }\n`;
/** No termux commands here, but node and a shell. */
const BARE_PATH = `${dirname(process.execPath)}:/usr/bin:/bin`;

/** A folder with the two commands, each appending its name to `calls`. */
function fakeTermux(): { path: string; calls: () => string[] } {
  const dir = tempDir();
  for (const name of ["termux-wake-lock", "termux-wake-unlock"]) {
    writeFileSync(join(dir, name), `#!/bin/sh\necho ${name} >> "${dir}/calls"\n`);
    chmodSync(join(dir, name), 0o755);
  }
  const calls = () => {
    try {
      return readFileSync(join(dir, "calls"), "utf8").trim().split("\n");
    } catch {
      return [];
    }
  };
  return { path: `${dir}:${BARE_PATH}`, calls };
}

describe("wake_lock: while_flag", () => {
  it("takes the lock when the flag rises and lets it go when it falls and at shutdown", async () => {
    const termux = fakeTermux();
    const d = await daemons.start(MANIFEST, [], { PATH: termux.path });
    expect(termux.calls()).toEqual([]);
    await d.flag();
    await expect.poll(termux.calls).toEqual(["termux-wake-lock"]);
    await sendRaw(d.control, "stop_flag");
    await expect.poll(termux.calls).toEqual(["termux-wake-lock", "termux-wake-unlock"]);
    await d.flag();
    await d.rec.snapshot((s) => state(s, "modeld")?.state === "running", "modeld running");
    await d.stop();
    // Released before the daemon exited.
    expect(termux.calls()).toEqual(["termux-wake-lock", "termux-wake-unlock", "termux-wake-lock", "termux-wake-unlock"]);
  });

  it("runs one command at a time: a flag raised and lowered at once ends unlocked", async () => {
    const termux = fakeTermux();
    const d = await daemons.start(MANIFEST, [], { PATH: termux.path });
    await Promise.all([sendRaw(d.control, "green_flag"), sendRaw(d.control, "stop_flag")]);
    await expect.poll(() => termux.calls().at(-1)).toBe("termux-wake-unlock");
    await d.stop();
    expect(termux.calls().at(-1)).toBe("termux-wake-unlock");
  });

  it("says once that the commands are missing, and supervises as before", async () => {
    const d = await daemons.start(MANIFEST, [], { PATH: BARE_PATH });
    for (let i = 0; i < 2; i++) {
      const mark = d.rec.mark;
      await d.flag();
      await d.rec.event("modeld", "running", mark);
      await sendRaw(d.control, JSON.stringify({ cmd: "stop_flag" }));
      await d.rec.event("modeld", "waiting", mark);
    }
    await d.stop();
    const { all } = await d.proc;
    expect(all.match(/wake_lock: termux-wake-lock not found/g)).toHaveLength(1);
  });
});
