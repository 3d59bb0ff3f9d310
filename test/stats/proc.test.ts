/** Process-group vitals against real processes. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessSampler } from "../../src/stats/proc.js";
import { groupSize } from "../helpers/daemon.js";

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
  const c = spawn(command, args, { detached: true, stdio: "ignore" });
  children.push(c);
  return c.pid!;
}

/** utime + stime + cutime + cstime of one process, in clock ticks. */
function leaderTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two samples `ms` apart; the second one's vitals. */
async function measure(pgids: number[], ms = 300) {
  const sampler = new ProcessSampler();
  const first = sampler.sample(pgids, Date.now());
  for (const pgid of pgids) expect(first.get(pgid)?.cpuPercent).toBeNull();
  await sleep(ms);
  return sampler.sample(pgids, Date.now());
}

// A busy loop gets less than a core when the machine is loaded; one more try then.
const retry = { retry: 2 };

describe.runIf(existsSync("/proc/self/stat"))("ProcessSampler", () => {
  it("tells a busy group from an idle one", retry, async () => {
    const busy = group("node", ["-e", "for(;;){}"]);
    const idle = group("sleep", ["30"]);
    await sleep(200); // node's own start-up is not the loop
    const v = await measure([busy, idle]);
    // On a loaded 2-core machine the loop may get well under a core; it is still far above a sleep.
    expect(v.get(busy)!.cpuPercent).toBeGreaterThan(20);
    expect(v.get(idle)!.cpuPercent).toBeLessThan(5);
    expect(v.get(busy)!.rssBytes).toBeGreaterThan(0);
    expect(v.get(idle)!.rssBytes).toBeGreaterThan(0);
  });

  it("sums the whole group, short-lived children included", retry, async () => {
    // The leader only waits; the work is done by processes that live ~30 ms each,
    // most of them born and gone between the two samples.
    const pgid = group("sh", ["-c", "while :; do dd if=/dev/zero of=/dev/null bs=64k count=2000 2>/dev/null; done"]);
    await sleep(200);
    // What the group got, from the leader's own total with its reaped children: on a loaded
    // machine that may be well under one core, so the sampler is held to it, not to a number.
    const t0 = Date.now();
    const before = leaderTicks(pgid);
    const v = await measure([pgid]);
    const truth = ((leaderTicks(pgid) - before) / 100 / ((Date.now() - t0) / 1000)) * 100;
    expect(truth).toBeGreaterThan(20);
    // One child's lifetime at either end is counted by one and not the other.
    expect(Math.abs(v.get(pgid)!.cpuPercent! - truth)).toBeLessThan(25);
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
    for (let i = 0; i < 500 && groupSize(pgid) < 6; i++) await sleep(10);
    expect(groupSize(pgid)).toBe(6);
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

  it("takes little time for a hundred processes", async () => {
    const pgid = group("sh", ["-c", "for i in $(seq 100); do sleep 30 & done; wait"]);
    const sampler = new ProcessSampler();
    // Started once their memory shows: each sleep has more than half a megabyte resident.
    for (let i = 0; i < 200 && (sampler.sample([pgid], Date.now()).get(pgid)?.rssBytes ?? 0) < 100 * 512 * 1024; i++) await sleep(10);
    // CPU time, not wall time: a loaded machine must not fail this.
    const before = process.cpuUsage();
    const runs = 20;
    for (let i = 0; i < runs; i++) sampler.sample([pgid], Date.now());
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000 / runs).toBeLessThan(20);
  });
});
