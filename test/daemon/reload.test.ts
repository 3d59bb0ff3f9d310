/** Reload (the JSON command, the CLI and SIGHUP) against a live daemon. */
import { writeFileSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { daemonPerTest, isAlive, state, type RunningDaemon } from "../helpers/daemon.js";

const daemons = daemonPerTest();
let d: RunningDaemon;
const pid = async (name: string) => {
  const r = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "status" })));
  return state(r.status, name);
};

// Each test its own daemon, from the same manifest, so that none leans on what another reloaded.
beforeEach(async () => {
  d = await daemons.start(`
services:
  keep: { command: exec sleep 1001, nowait: true }
  change: { command: exec sleep 1002, nowait: true }
  gone: { command: exec sleep 1003, nowait: true }
  gated: { command: exec sleep 1004 }
`);
  await d.rec.snapshot((s) => ["keep", "change", "gone"].every((n) => state(s, n)?.state === "running"), "all running");
});

describe("reload", () => {
  it("applies the diff: starts added, stops removed, restarts changed, leaves unchanged alone", async () => {
    const keep = (await pid("keep"))!.pid!;
    const change = (await pid("change"))!.pid!;
    const gone = (await pid("gone"))!.pid!;
    writeFileSync(
      d.manifest,
      `
services:
  keep: { command: exec sleep 1001, nowait: true }
  change: { command: exec sleep 2002, nowait: true }
  added: { command: exec sleep 1005, nowait: true }
  gated: { command: exec sleep 1004 }
`,
    );
    const r = await d.cli("reload");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("added: added\nremoved: gone\nchanged: change\nunchanged: keep, gated");
    expect(r.exitCode).toBe(0);

    expect(await pid("keep")).toMatchObject({ state: "running", pid: keep });
    expect(isAlive(gone)).toBe(false);
    expect(await pid("gone")).toBeUndefined();
    expect(isAlive(change)).toBe(false);
    const snap = await d.rec.snapshot(
      (s) => state(s, "change")?.state === "running" && state(s, "added")?.state === "running",
      "change and added running",
    );
    expect(state(snap, "change")?.pid).not.toBe(change);
    expect(state(snap, "gated")?.state).toBe("waiting");
    expect(snap.services.map((s) => s.name)).toEqual(["keep", "change", "added", "gated"]);
  });

  it("refuses an invalid manifest with its FILE:LINE:COL lines and changes nothing", async () => {
    const keep = (await pid("keep"))!.pid!;
    writeFileSync(d.manifest, `services:\n  keep: { command: exec sleep 1001, nowait: true, restrat: always }\n`);
    const r = await d.cli("reload");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${d.manifest.replace(/[.]/g, "\\.")}:2:51: services\\.keep\\.restrat: unknown key`));
    expect(r.stderr).not.toMatch(/at .*\.js/);
    const reply = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "reload" })));
    expect(reply.ok).toBe(false);
    expect(reply.error.code).toBe("invalid_manifest");
    expect(reply.error.diagnostics[0]).toMatchObject({ line: 2, col: 51 });
    expect(await pid("keep")).toMatchObject({ state: "running", pid: keep });
    expect(await pid("gone")).toMatchObject({ state: "running" });
    expect(await pid("added")).toBeUndefined();
  });

  it("reloads on SIGHUP", async () => {
    writeFileSync(
      d.manifest,
      `
services:
  keep: { command: exec sleep 1001, nowait: true }
  change: { command: exec sleep 1002, nowait: true }
  gone: { command: exec sleep 1003, nowait: true }
  gated: { command: exec sleep 1004 }
  late: { command: exec sleep 1006, nowait: true }
`,
    );
    const mark = d.rec.mark;
    d.proc.kill("SIGHUP");
    await d.rec.event("late", "running", mark);
  });
});
