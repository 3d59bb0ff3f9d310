/** Stopping a whole process group: real trees of processes, each in a temp dir of its own. */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { spawnService } from "../../src/runner/spawn.js";
import { groupAlive, markedProcesses, signalGroup, stopGroup } from "../../src/runner/stop.js";
import { isAlive, SERVICES, tempDir } from "../helpers/daemon.js";
import { logIn, pidsIn, specOf } from "../helpers/specs.js";

const nothing = () => undefined;
const POLL = { timeout: 20_000, interval: 5 };
/** Process groups spawned: a test that fails half-way leaves no tree behind. */
const groups: number[] = [];
afterEach(() => {
  for (const pgid of groups.splice(0)) signalGroup(pgid, "SIGKILL");
});

/** Spawns `fixture` with a PIDFILE; `pids` waits for the pids it writes once it is set up. */
function start(fixture: string, args: string[] | null = []) {
  const dir = tempDir();
  const pidfile = join(dir, "pids");
  const command = join(SERVICES, fixture);
  const spec = specOf("svc", { command, args, env: { PIDFILE: pidfile } }, dir);
  const child = spawnService(spec, { shell: "/bin/sh", env: { PATH: process.env.PATH }, output: logIn(dir, "svc") }, {
    onSpawn: nothing,
    onError: nothing,
    onExit: nothing,
  });
  if (child.pid !== undefined) groups.push(child.pid);
  return { child, pids: (count: number) => pidsIn(pidfile, count) };
}

describe("stopGroup", { timeout: 30_000 }, () => {
  it("sends the stop signal to every member and resolves once all are gone, with no SIGKILL", async () => {
    const { child, pids } = start("forks-grandchild.sh");
    const [leader, grandchild] = await pids(2);
    // A timeout no busy machine reaches: the group must go on the stop signal alone.
    const result = await stopGroup(child, "SIGTERM", 600_000);
    expect(result).toEqual({ exit: { code: null, signal: "SIGTERM" }, escalated: false });
    expect(isAlive(leader!)).toBe(false);
    expect(isAlive(grandchild!)).toBe(false);
    expect(groupAlive(child.pid!)).toBe(false);
  });

  it("continues a stopped group, so that the stop signal ends it without a SIGKILL", async () => {
    const { child, pids } = start("forks-grandchild.sh");
    const [leader, grandchild] = await pids(2);
    signalGroup(child.pid!, "SIGSTOP");
    await expect.poll(() => [leader, grandchild].map((p) => readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]![0]), POLL).toEqual(["T", "T"]);
    const result = await stopGroup(child, "SIGTERM", 600_000);
    expect(result).toEqual({ exit: { code: null, signal: "SIGTERM" }, escalated: false });
    expect(isAlive(grandchild!)).toBe(false);
  });

  it("sends the stop signal it is given", async () => {
    const { child, pids } = start("forever.sh");
    await pids(1);
    expect(await stopGroup(child, "SIGINT", 600_000)).toEqual({ exit: { code: null, signal: "SIGINT" }, escalated: false });
  });

  it("SIGKILLs the whole group once the timeout has passed with the stop signal ignored, and says it escalated", async () => {
    const { child, pids } = start("ignores-term.sh");
    // Written once the trap is set: a TERM before it would end the tree at once.
    const [leader, grandchild] = await pids(2);
    const result = await stopGroup(child, "SIGTERM", 200);
    expect(result).toEqual({ exit: { code: null, signal: "SIGKILL" }, escalated: true });
    expect(isAlive(leader!)).toBe(false);
    // Polled: its pipe closes a moment before it has quite ended, and stopGroup looks no further (the bug below).
    await expect.poll(() => isAlive(grandchild!), POLL).toBe(false);
  });

  it("SIGKILLs after the timeout a member that has closed its output, though the leader went on the stop signal", async () => {
    const { child, pids } = start("leaves-daemon-ignoring-term.sh");
    const [, daemon] = await pids(2);
    const result = await stopGroup(child, "SIGTERM", 200);
    // The leader went on SIGTERM; the daemon it left took the SIGKILL.
    expect(result).toEqual({ exit: { code: null, signal: "SIGTERM" }, escalated: true });
    await expect.poll(() => isAlive(daemon!), POLL).toBe(false);
  });

  // The leader's exit and the pipes' close are long over when the member left holds no pipe: without a
  // look at the group after the SIGKILL, the stop resolved before that member had died (20 of 20 runs
  // of this test alone), and a restart could overlap the old tree.
  it("resolves only once a member that holds no pipe has died of the SIGKILL", async () => {
    const { child, pids } = start("leaves-daemon-ignoring-term.sh");
    const [, daemon] = await pids(2);
    await stopGroup(child, "SIGTERM", 200);
    expect(isAlive(daemon!)).toBe(false);
    expect(groupAlive(child.pid!)).toBe(false);
  });

  it("resolves at once for a child that was never spawned", async () => {
    const { child } = start("no-such-fixture.sh");
    expect(child.pid).toBeUndefined();
    expect(await stopGroup(child, "SIGTERM", 600_000)).toEqual({ exit: { code: null, signal: null }, escalated: false });
  });
});

describe("markedProcesses", () => {
  /** A /proc of our own: a process's stat (state, pgrp) and environ. */
  function fakeProc(procs: Record<number, { state: string; pgrp: number; environ: string | null }>): string {
    const dir = tempDir();
    for (const [pid, p] of Object.entries(procs)) {
      mkdirSync(join(dir, pid));
      writeFileSync(join(dir, pid, "stat"), `${pid} (s h) ${p.state} 1 ${p.pgrp} ${p.pgrp} 0 -1 ${Array(44).fill(0).join(" ")}\n`);
      writeFileSync(join(dir, pid, "environ"), p.environ ?? "");
      if (p.environ === null) chmodSync(join(dir, pid, "environ"), 0);
    }
    mkdirSync(join(dir, "self"));
    return dir;
  }

  it("finds the live processes whose environment holds every entry of the marker, wherever the entries stand", () => {
    const mark = ["FLOWINIT_CONTROL=ipc://@a/control", "FLOWINIT_SERVICE=web"];
    const big = "X=" + "y".repeat(200_000);
    const proc = fakeProc({
      10: { state: "S", pgrp: 10, environ: "FLOWINIT_CONTROL=ipc://@a/control\0FLOWINIT_SERVICE=web\0HOME=/\0" },
      11: { state: "R", pgrp: 99, environ: `${big}\0HOME=/\0FLOWINIT_SERVICE=web\0FLOWINIT_CONTROL=ipc://@a/control` },
      12: { state: "Z", pgrp: 10, environ: "FLOWINIT_CONTROL=ipc://@a/control\0FLOWINIT_SERVICE=web\0" },
      13: { state: "S", pgrp: 13, environ: "FLOWINIT_CONTROL=ipc://@a/control\0FLOWINIT_SERVICE=web2\0XFLOWINIT_SERVICE=web\0" },
      14: { state: "S", pgrp: 14, environ: "FLOWINIT_CONTROL=ipc://@a/controlx\0FLOWINIT_SERVICE=web\0" },
      15: { state: "S", pgrp: 15, environ: "" },
      16: { state: "S", pgrp: 16, environ: null },
    });
    const found = markedProcesses(mark, proc).sort((a, b) => a.pid - b.pid);
    expect(found.map((p) => [p.pid, p.pgid])).toEqual([
      [10, 10],
      [11, 99],
    ]);
    expect([...found[1]!.env].sort()).toEqual([...mark, big, "HOME=/"].sort());
  });
});
