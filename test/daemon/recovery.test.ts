/** A daemon killed with SIGKILL, then a new one on the same manifest: one live tree per service. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { currentHost, runtimeDir } from "../../src/platform/platform.js";
import { StateFile } from "../../src/runner/recover.js";
import { daemonPerTest, isAlive, state, type Recorder } from "../helpers/daemon.js";

/** Processes a failed test may leave behind, found by `sleepers`: killed by pid, after the daemons' stops (registered before them). */
let strays: () => number[] = () => [];
afterEach(() => {
  for (const pid of strays()) process.kill(pid, "SIGKILL");
  strays = () => [];
});
const daemons = daemonPerTest();

/** The live processes whose environment names `dir` (the services' DIR), by their SVC variable: a service's shell before it execs, then its `sleep`. */
function sleepers(dir: string): Map<string, number[]> {
  const found = new Map<string, number[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || !isAlive(Number(e))) continue;
    let env: string[];
    try {
      env = readFileSync(`/proc/${e}/environ`, "latin1").split("\0");
    } catch {
      continue;
    }
    const svc = env.find((v) => v.startsWith("SVC="))?.slice(4);
    if (svc === undefined || !env.includes(`DIR=${dir}`)) continue;
    found.set(svc, [...(found.get(svc) ?? []), Number(e)]);
  }
  return found;
}

/** Live (not zombie) members of process group `pgid`. */
function groupMembers(pgid: number): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, "latin1");
        const [st, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(pgrp) === pgid && st !== "Z";
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("recovery after the daemon is killed", () => {
  it("stops the trees the dead daemon left before starting new ones", async () => {
    const yaml = `
services:
  tree: { command: PIDFILE=$DIR/tree.pid $SERVICES/forks-grandchild.sh, nowait: true }
  stubborn: { command: PIDFILE=$DIR/stubborn.pid $SERVICES/ignores-term.sh, nowait: true, stop_timeout: 300ms }
`;
    const d = await daemons.start(yaml);
    const running = await d.rec.snapshot((s) => ["tree", "stubborn"].every((n) => state(s, n)?.state === "running"), "both running");
    const leaders = ["tree", "stubborn"].map((n) => state(running, n)!.pid!).sort();
    const read = (f: string) => readFileSync(join(d.dir, f), "utf8").trim().split(" ").map(Number);
    await expect.poll(() => read("tree.pid").length, { interval: 10 }).toBe(2);
    await expect.poll(() => read("stubborn.pid").length, { interval: 10 }).toBe(2);
    const old = [...read("tree.pid"), ...read("stubborn.pid")];
    // The state file is written off the hot path, after the burst of changes: wait until it names both groups.
    const stateFile = new StateFile(runtimeDir(currentHost()), d.control);
    await expect.poll(() => stateFile.read().groups.map((g) => g.pid).sort()).toEqual(leaders);

    d.proc.kill("SIGKILL");
    await d.proc;
    for (const pid of old) expect(isAlive(pid), `orphan ${pid} alive after the daemon died`).toBe(true);

    const next = await daemons.again(d);
    const snap = await next.rec.snapshot((s) => ["tree", "stubborn"].every((n) => state(s, n)?.state === "running"), "both running again");
    for (const pid of old) expect(isAlive(pid), `old ${pid}`).toBe(false);
    // Exactly one live tree each: the new groups hold the processes the new pid files name, the old ones are gone.
    for (const [name, file] of [["tree", "tree.pid"], ["stubborn", "stubborn.pid"]] as const) {
      await expect.poll(() => read(file).some((p) => old.includes(p)), { interval: 10 }).toBe(false);
      await expect.poll(() => read(file).length, { interval: 10 }).toBe(2);
      expect(groupMembers(state(snap, name)!.pid!)).toEqual(expect.arrayContaining(read(file)));
    }
  });

  it("knows every group spawned before a kill in the middle of a spawn burst: nothing doubled, nothing orphaned", async () => {
    const names = Array.from({ length: 30 }, (_, i) => `s${i}`);
    const d = await daemons.start(`services:\n${names.map((n) => `  ${n}: { command: exec sleep 1000, env: { SVC: ${n} } }`).join("\n")}\n`);
    const dir = d.dir;
    strays = () => [...sleepers(dir).values()].flat();
    const mark = d.rec.mark;
    await d.flag();
    // Killed as the first service of the burst runs: the burst's spawns are done, the state file's rewrite has not landed.
    const first = (m: Recorder["messages"][number]): m is typeof m => m.topic === "event" && names.includes((m.data as { service: string }).service) && (m.data as { to: string }).to === "running";
    await d.rec.waitFor(first, "the burst's first running service", mark);
    d.proc.kill("SIGKILL");
    await d.proc;
    const old = [...sleepers(dir).values()].flat();
    expect(old.length).toBeGreaterThan(0);

    const next = await daemons.again(d);
    // Raised again as an app would: this test is about the groups, whatever the facts on disk say.
    await next.flag();
    const snap = await next.rec.snapshot((s) => names.every((n) => state(s, n)?.state === "running"), "all running again");
    for (const pid of old) expect(isAlive(pid), `the dead daemon's ${pid} alive`).toBe(false);
    const now = sleepers(dir);
    for (const n of names) expect(now.get(n), n).toEqual([state(snap, n)!.pid]);
  });

  it("carries on with what the dead daemon was told: the flag, the app, the services stopped by request", async () => {
    const yaml = `
services:
  early: { command: exec sleep 1000, nowait: true }
  held: { command: exec sleep 1000, nowait: true }
  gated: { command: exec sleep 1000 }
`;
    const d = await daemons.start(yaml);
    const app = execa("sleep", ["1000"], { reject: false });
    try {
      expect((await d.cli("flag", "green", "--pid", String(app.pid))).exitCode).toBe(0);
      expect((await d.cli("stop", "held")).exitCode).toBe(0);
      await d.rec.snapshot((s) => state(s, "gated")?.state === "running", "gated running");
      const stateFile = new StateFile(runtimeDir(currentHost()), d.control);
      await expect.poll(() => stateFile.read()).toMatchObject({ flag: true, stopped: ["held"], app: { pid: app.pid, name: "app" } });
      const dead = d.proc.pid!;
      d.proc.kill("SIGKILL");
      await d.proc;

      const next = await daemons.again(d);
      // No flag is sent: the new daemon raises it again by itself.
      const snap = await next.rec.snapshot((s) => state(s, "gated")?.state === "running", "gated running again");
      expect(snap.daemon).toMatchObject({ flag: true, recovered_from: dead });
      expect(state(snap, "held")?.state).toBe("stopped");
      expect(state(snap, "early")?.state).toBe("running");
      expect(state(snap, "app")).toMatchObject({ pid: app.pid, state: "running", external: true });
    } finally {
      app.kill("SIGKILL");
    }
  });

  it("forgets it all after a clean stop: the next daemon waits for the flag", async () => {
    const d = await daemons.start(`services:\n  gated: { command: exec sleep 1000 }\n`);
    await d.flag();
    await d.rec.event("gated", "running");
    d.proc.kill("SIGTERM");
    expect((await d.proc).exitCode).toBe(0);
    const next = await daemons.again(d);
    const snap = await next.rec.snapshot((s) => state(s, "gated") !== undefined, "a snapshot");
    expect(snap.daemon).toMatchObject({ flag: false, recovered_from: null });
    expect(state(snap, "gated")?.state).toBe("waiting");
  });
});
