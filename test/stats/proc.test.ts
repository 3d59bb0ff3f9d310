/** Process-group vitals against real processes. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pageSize } from "../../src/platform/process.js";
import { ProcessSampler } from "../../src/stats/proc.js";
import { groupSize, tempDir } from "../helpers/daemon.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
});

/** A child leading its own process group, as services run. */
function group(command: string, args: string[]): number {
  return spawnGroup(command, args, "ignore").pid!;
}

/** The same, with a pipe to its stdin and from its stdout, to tell it when and hear when. */
function spawnGroup(command: string, args: string[], stdio: "pipe" | "ignore" = "pipe"): ChildProcess {
  const c = spawn(command, args, { detached: true, stdio: [stdio, stdio, "ignore"] });
  children.push(c);
  return c;
}

/** Resolves once the child has printed `line`. */
function printed(c: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    c.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.split("\n").includes(line)) resolve();
    });
    c.once("exit", () => reject(new Error(`exited before printing ${line}: ${out}`)));
  });
}

/** utime + stime + cutime + cstime of one process, in clock ticks. */
function leaderTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

/**
 * The sampler is given the time of each pass, so a test hands it a window of
 * exactly one second around work whose CPU time the kernel counts, however
 * slowly a busy machine runs that work: the percentage is then the CPU ticks
 * spent (100 a second), and nothing depends on how long the test took.
 */
const WINDOW_MS = 1000;

/** A /proc of processes given as [pid, pgrp, rss pages], whose newest PID is `newest`. */
function fakeProc(processes: [number, number, number][], newest: number): { dir: string; add(pid: number, pgrp: number, rss: number): void; created(pid: number): void } {
  const dir = tempDir();
  const add = (pid: number, pgrp: number, rss: number) => {
    mkdirSync(join(dir, String(pid)));
    writeFileSync(join(dir, String(pid), "stat"), `${pid} (x) S 1 ${pgrp} ${pgrp} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${pid} 1000 ${rss} 0\n`);
  };
  const created = (pid: number) => writeFileSync(join(dir, "loadavg"), `0.00 0.00 0.00 1/1 ${pid}\n`);
  for (const [pid, pgrp, rss] of processes) add(pid, pgrp, rss);
  created(newest);
  return { dir, add, created };
}

describe("ProcessSampler on a /proc of its own", () => {
  const pages = (sampler: ProcessSampler, pgid: number) => sampler.sample([pgid], 0).get(pgid)!.rssBytes / pageSize();

  it("lists /proc again only once a process has been created since its last pass", () => {
    const proc = fakeProc([[100, 100, 10], [200, 200, 1]], 200);
    const s = new ProcessSampler(proc.dir);
    expect(pages(s, 100)).toBe(10);
    // A member that appeared while the kernel's newest PID stayed the same cannot be a new process: not listed.
    proc.add(101, 100, 5);
    expect(pages(s, 100)).toBe(10);
    proc.created(101);
    expect(pages(s, 100)).toBe(15);
    s.close();
  });

  it("lists it on every pass where not every member's file was kept open", () => {
    const proc = fakeProc([[100, 100, 10], [101, 100, 5]], 101);
    const s = new ProcessSampler(proc.dir, 1);
    expect(pages(s, 100)).toBe(15);
    proc.add(102, 100, 1);
    expect(pages(s, 100)).toBe(16);
    s.close();
  });

  it("lists it on every pass without a newest PID to go by", () => {
    const proc = fakeProc([[100, 100, 10]], 100);
    writeFileSync(join(proc.dir, "loadavg"), "");
    const s = new ProcessSampler(proc.dir);
    expect(pages(s, 100)).toBe(10);
    proc.add(101, 100, 5);
    expect(pages(s, 100)).toBe(15);
    s.close();
  });
});

describe.runIf(existsSync("/proc/self/stat"))("ProcessSampler", () => {
  it("finds a member forked since its last pass", async () => {
    const c = spawnGroup("sh", ["-c", "read go; sleep 30 & echo forked; wait"]);
    const sampler = new ProcessSampler();
    await expect.poll(() => sampler.sample([c.pid!], 0).get(c.pid!)?.rssBytes ?? 0).toBeGreaterThan(0);
    const alone = sampler.sample([c.pid!], 0).get(c.pid!)!.rssBytes;
    c.stdin!.write("go\n");
    await printed(c, "forked");
    // Until the child has exec'd sleep and touched its pages, its resident set may read 0.
    await expect.poll(() => sampler.sample([c.pid!], 0).get(c.pid!)!.rssBytes).toBeGreaterThan(alone);
    sampler.close();
  });

  it("tells a busy group from an idle one", async () => {
    // Burns 300 ms of CPU when told to, then prints `done` and idles.
    const busy = spawnGroup("node", [
      "-e",
      "process.stdin.once('data', () => { const t = process.cpuUsage(); while (process.cpuUsage(t).user < 300000); console.log('done'); }); console.log('ready');",
    ]);
    const idle = group("sleep", ["30"]);
    await printed(busy, "ready");
    const sampler = new ProcessSampler();
    const first = sampler.sample([busy.pid!, idle], 0);
    expect(first.get(busy.pid!)?.cpuPercent).toBeNull();
    const done = printed(busy, "done");
    busy.stdin!.write("go\n");
    await done;
    const v = sampler.sample([busy.pid!, idle], WINDOW_MS);
    expect(v.get(busy.pid!)!.cpuPercent).toBeGreaterThanOrEqual(29);
    expect(v.get(idle)!.cpuPercent).toBeLessThan(2);
    expect(v.get(busy.pid!)!.rssBytes).toBeGreaterThan(0);
    expect(v.get(idle)!.rssBytes).toBeGreaterThan(0);
  });

  it("sums the whole group, short-lived children included", async () => {
    // The leader only waits; the work is done by children born and gone between the two passes.
    const c = spawnGroup("sh", [
      "-c",
      "echo ready; read go; for i in 1 2 3 4 5 6 7 8 9 10; do dd if=/dev/zero of=/dev/null bs=64k count=40000 2>/dev/null; done; echo done; read stay",
    ]);
    await printed(c, "ready");
    const sampler = new ProcessSampler();
    sampler.sample([c.pid!], 0);
    const before = leaderTicks(c.pid!);
    const done = printed(c, "done");
    c.stdin!.write("go\n");
    await done;
    const v = sampler.sample([c.pid!], WINDOW_MS);
    // What the kernel counted for the leader and its reaped children.
    const truth = leaderTicks(c.pid!) - before;
    expect(truth).toBeGreaterThan(20);
    expect(Math.abs(v.get(c.pid!)!.cpuPercent! - truth)).toBeLessThanOrEqual(1);
  });

  it("leaves out groups with no process, and forgets groups not asked for", async () => {
    const idle = group("sleep", ["30"]);
    const sampler = new ProcessSampler();
    expect([...sampler.sample([2 ** 30, idle], Date.now()).keys()]).toEqual([idle]);
    expect(sampler.sample([idle], Date.now() + 100).get(idle)?.cpuPercent).toBe(0);
    sampler.sample([], Date.now() + 200);
    // A restarted service's new group must not be compared with an old one.
    expect(sampler.sample([idle], Date.now() + 300).get(idle)?.cpuPercent).toBeNull();
  });

  it("reads a process it passed over once its group is asked for", () => {
    const a = group("sleep", ["30"]);
    const b = group("sleep", ["30"]);
    const sampler = new ProcessSampler();
    expect([...sampler.sample([a], Date.now()).keys()]).toEqual([a]);
    expect([...sampler.sample([a, b], Date.now() + 100).keys()].sort()).toEqual([a, b].sort());
  });

  it("keeps its members' stat files open between passes, and closes them", () => {
    const openFds = () => readdirSync("/proc/self/fd").length;
    const base = openFds();
    const a = group("sleep", ["30"]);
    const sampler = new ProcessSampler();
    sampler.sample([a], Date.now());
    expect(openFds()).toBe(base + 1);
    sampler.sample([a], Date.now() + 100);
    expect(openFds()).toBe(base + 1);
    sampler.sample([], Date.now() + 200);
    expect(openFds()).toBe(base);
    sampler.sample([a], Date.now() + 300);
    sampler.close();
    expect(openFds()).toBe(base);
  });

  it("keeps at most keepOpen stat files open, and still reads every member on each pass", async () => {
    const openFds = () => readdirSync("/proc/self/fd").length;
    const pgid = group("sh", ["-c", "for i in 1 2 3 4 5; do sleep 30 & done; wait"]);
    await expect.poll(() => groupSize(pgid)).toBe(6);
    const base = openFds();
    const capped = new ProcessSampler("/proc", 2);
    capped.sample([pgid], Date.now());
    expect(openFds()).toBe(base + 2);
    const got = capped.sample([pgid], Date.now() + 100).get(pgid)!;
    expect(openFds()).toBe(base + 2);
    // Members past the cap are read too: the group's memory is the same as an uncapped pass finds.
    const all = new ProcessSampler();
    expect(got.rssBytes).toBe(all.sample([pgid], Date.now()).get(pgid)!.rssBytes);
    expect(got.cpuPercent).not.toBeNull();
    all.close();
    capped.close();
    expect(openFds()).toBe(base);
  });

  it("reads nothing, and fails nothing, without /proc", () => {
    expect(new ProcessSampler("/nonexistent-proc").sample([process.pid], Date.now()).size).toBe(0);
  });

  it("reads every member of a group of a hundred processes", async () => {
    // Its cost per pass is the benchmark's idle figure (100 services), not a bound here.
    const c = spawnGroup("sh", ["-c", "for i in $(seq 100); do sleep 30 & done; echo ready; wait"]);
    await printed(c, "ready");
    const sampler = new ProcessSampler();
    const rss = sampler.sample([c.pid!], 0).get(c.pid!)!.rssBytes!;
    // The shell alone has under 2 MiB resident; with its hundred children, each over 64 KiB, far more.
    expect(rss).toBeGreaterThan(100 * 64 * 1024);
  });
});
