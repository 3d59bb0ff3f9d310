/**
 * A service whose child leaves the process group (setsid) and keeps its
 * stdout open: found by the environment the daemon gave it, stopped with the
 * service, and unable to keep the daemon from exiting.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { daemonPerTest, isAlive, state, type RunningDaemon } from "../helpers/daemon.js";

const daemons = daemonPerTest();
let escapee: number | undefined;
// Runs before the daemon's stop (registered after it): an escapee the daemon failed to stop must not hold that stop up.
afterEach(() => {
  if (escapee !== undefined && isAlive(escapee)) process.kill(escapee, "SIGKILL");
  escapee = undefined;
});

/** A daemon running the escaping service; resolves with the escapee's pid once it has left the group. */
async function escaped(): Promise<{ d: RunningDaemon; pid: number }> {
  const d = await daemons.start(`services:\n  leaky: { command: PIDFILE=$DIR/escapee.pid exec $SERVICES/escapes-group.sh, nowait: true, stop_timeout: 10m }\n`);
  const snap = await d.rec.snapshot((s) => state(s, "leaky")?.state === "running", "leaky running");
  let pid = 0;
  await expect.poll(() => (pid = Number(readFileSync(join(d.dir, "escapee.pid"), "utf8").trim() || 0)), { interval: 10 }).toBeGreaterThan(0);
  escapee = pid;
  // It has left the group that a stop signals.
  const pgid = Number(readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1]!.split(" ")[2]);
  expect(pgid).not.toBe(state(snap, "leaky")!.pid);
  return { d, pid };
}

describe("a process that left its service's group", () => {
  it("is stopped with the service, which does not wait out its stop_timeout for the pipes", async () => {
    const { d, pid } = await escaped();
    const r = await d.cli("stop", "leaky");
    expect([r.exitCode, r.stdout]).toEqual([0, "leaky: stopped"]);
    expect(isAlive(pid)).toBe(false);
    d.proc.kill("SIGTERM");
    expect(String((await d.proc).all)).toContain("stopping 1 process that left its process group");
  });

  it("is stopped at shutdown, and the daemon exits", async () => {
    const { d, pid } = await escaped();
    const r = await d.cli("shutdown");
    expect(r.exitCode).toBe(0);
    expect((await d.proc).exitCode).toBe(0);
    expect(isAlive(pid)).toBe(false);
  });
});
