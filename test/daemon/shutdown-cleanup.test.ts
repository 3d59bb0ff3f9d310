/** What a clean stop leaves of the daemon's private runtime files: nothing of its services. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { currentHost, runtimeDir } from "../../src/platform/platform.js";
import { StateFile } from "../../src/runner/recover.js";
import { daemonPerTest, state } from "../helpers/daemon.js";

const daemons = daemonPerTest();

describe("a clean stop", () => {
  it("removes the services' watchdog folders, and the folder that holds them", async () => {
    const d = await daemons.start(`services:
  a: { command: 'echo "$FLOWINIT_WATCHDOG_DIR" > $DIR/a.wd; exec sleep 1000', nowait: true, watchdog: 5s }
  b: { command: 'echo "$FLOWINIT_WATCHDOG_DIR" > $DIR/b.wd; exec sleep 1000', nowait: true, watchdog: 5s }
`);
    await d.rec.snapshot((s) => ["a", "b"].every((n) => state(s, n)?.state === "running"), "both running");
    const read = (n: string) => readFileSync(join(d.dir, `${n}.wd`), "utf8").trim();
    // Each service names its folder as it starts.
    for (const n of ["a", "b"]) await expect.poll(() => existsSync(join(d.dir, `${n}.wd`)) && read(n) !== "").toBe(true);
    const folders = ["a", "b"].map(read);
    const parent = new StateFile(runtimeDir(currentHost()), d.control).watchdogDir;
    for (const f of folders) {
      expect(dirname(f)).toBe(parent);
      expect(existsSync(f), f).toBe(true);
    }

    d.proc.kill("SIGTERM");
    expect((await d.proc).exitCode).toBe(0);
    expect(existsSync(parent), parent).toBe(false);
  });
});
