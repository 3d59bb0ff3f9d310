import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { recovery, StateFile, stillOurs, type AppRecord, type Previous } from "../../src/runner/recover.js";
import { bootId } from "../../src/platform/boot.js";
import { sameProcess, startTime } from "../../src/platform/process.js";
import { tempDir } from "../helpers/daemon.js";

const BOOT = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";
const OTHER_BOOT = "ffffffff-4f50-4a6b-8c7d-9e0f1a2b3c4d";
const APP: AppRecord = { pid: 5000, startTime: 900, name: "app" };
/** External gates, one open and one closed. */
const GATES = { started: true, parked: false };

/** A file a daemon (pid 42) left when it died in boot BOOT with the flag up. */
const left = (over: Partial<Previous> = {}): Previous => ({
  daemon: 42,
  bootId: BOOT,
  flag: true,
  app: APP,
  stopped: ["web"],
  gates: GATES,
  groups: [],
  ...over,
});

/** The journal beside a state file. */
const f = (path: string) => path.replace(/\.json$/, ".journal");

const alive = (pid: number, since: number) => pid === APP.pid && since === APP.startTime;

describe("recovery", () => {
  it.each([
    ["no file (none ran, or it stopped cleanly)", left({ daemon: null }), BOOT],
    ["a file from another boot", left({ bootId: OTHER_BOOT }), BOOT],
    ["a file without a boot id (an older version)", left({ bootId: null }), BOOT],
    ["this boot's id unknown", left(), null],
    ["both boot ids unknown", left({ bootId: null }), null],
  ])("restores nothing from %s", (_, previous, now) => {
    expect(recovery(previous, { bootId: now, isAlive: alive })).toBeNull();
  });

  it("restores the flag, the stopped services, the external gates and the app that still lives, naming the dead daemon", () => {
    const calls: [number, number][] = [];
    const isAlive = (pid: number, since: number) => (calls.push([pid, since]), alive(pid, since));
    expect(recovery(left(), { bootId: BOOT, isAlive })).toEqual({ from: 42, flag: true, stopped: ["web"], app: APP, gates: GATES });
    expect(calls).toEqual([[APP.pid, APP.startTime]]);
  });

  it("restores a lowered flag as lowered: a death before any flag is still recovered from", () => {
    expect(recovery(left({ flag: false, app: null, stopped: [], gates: {} }), { bootId: BOOT, isAlive: alive })).toEqual({ from: 42, flag: false, stopped: [], app: null, gates: {} });
  });

  it("drops the app once its pid is gone or names another process", () => {
    expect(recovery(left(), { bootId: BOOT, isAlive: () => false })).toEqual({ from: 42, flag: true, stopped: ["web"], app: null, gates: GATES });
  });

  it("drops an app recorded without a start time, without asking whether its pid lives", () => {
    const isAlive = () => {
      throw new Error("asked");
    };
    expect(recovery(left({ app: { ...APP, startTime: null } }), { bootId: BOOT, isAlive })?.app).toBeNull();
  });
});

describe("StateFile", () => {
  it("round-trips the groups, and a clear leaves nothing even with a write in flight", async () => {
    const f = new StateFile(tempDir(), "ipc://@x/control");
    f.save(() => [{ service: "a", pid: 4242, startTime: 7 }]);
    await expect.poll(() => f.read().groups).toEqual([{ service: "a", pid: 4242, startTime: 7 }]);
    f.save(() => [{ service: "a", pid: 4243, startTime: 8 }]);
    await f.clear();
    f.save(() => [{ service: "b", pid: 1, startTime: 1 }]);
    f.saveFacts({ flag: true, app: null, stopped: [], gates: {} });
    expect(existsSync(f.path)).toBe(false);
  });

  it("has each spawned group and the facts on disk when the call returns, and keeps them once the rewrite empties the journal", async () => {
    const dir = tempDir();
    const first = new StateFile(dir, "ipc://@j/control");
    const next = new StateFile(dir, "ipc://@j/control");
    const groups = [{ service: "a", pid: 4242, startTime: 7 }];
    first.spawned({ service: "b", pid: 4343, startTime: 9 });
    first.save(() => groups);
    first.saveFacts({ flag: true, app: null, stopped: ["web"], gates: {} });
    // No wait: what the next daemon needs is there as soon as the calls return.
    expect(next.read()).toMatchObject({ daemon: process.pid, flag: true, stopped: ["web"], groups: [{ service: "b", pid: 4343, startTime: 9 }] });
    groups.push({ service: "b", pid: 4343, startTime: 9 });
    const journal = f(first.path);
    await expect.poll(() => readFileSync(journal, "utf8")).toBe("");
    expect(next.read()).toMatchObject({ flag: true, stopped: ["web"], groups });
  });

  it("rewrites the file after the turn of the change, not in it: the restart that follows a crash does not wait for it", async () => {
    const f = new StateFile(tempDir(), "ipc://@n/control");
    let asked = 0;
    f.save(() => (asked++, [{ service: "a", pid: 4242, startTime: 7 }]));
    // Only the daemon's first file goes out at once, before its first journal line could.
    expect(asked).toBe(1);
    await expect.poll(() => asked).toBe(2);
    await expect.poll(() => f.read().groups).toEqual([{ service: "a", pid: 4242, startTime: 7 }]);
  });

  it("rewrites each live group with the start time it was spawned with, not a /proc reading, until a rewrite no longer lists it", async () => {
    const f = new StateFile(tempDir(), "ipc://@s/control");
    // Past the largest pid Linux hands out: /proc has nothing to say of it.
    const pid = 2 ** 22 + 1;
    let live = [{ service: "a", pid }];
    const save = () => f.save(() => live.map((g) => ({ ...g, startTime: f.startTimeOf(g.pid) })));
    f.spawned({ service: "a", pid, startTime: 7 });
    save();
    expect(f.startTimeOf(pid)).toBe(7);
    await expect.poll(() => readFileSync(f.path, "utf8")).toContain('"startTime":7');
    live = [];
    save();
    await expect.poll(() => f.read().groups).toEqual([]);
    expect(f.startTimeOf(pid)).toBeNull();
  });

  it("passes over journal lines cut short or not what they should be, and counts a group in file and journal once", () => {
    const f0 = new StateFile(tempDir(), "ipc://@k/control");
    writeFileSync(f0.path, JSON.stringify({ daemon: 42, boot_id: BOOT, flag: false, groups: [{ service: "a", pid: 4242, startTime: 7 }] }));
    const lines = ['{"service":"a","pid":4242,"startTime":7}', "null", '{"service":"x","pid":1,"startTime":0}', '{"facts":{"flag":true,"stopped":["web"],"gates":{"started":true}}}', '{"service":"b","pid":4343,"startTime":9}', '{"service":"c","pi'];
    writeFileSync(f(f0.path), lines.join("\n"));
    expect(f0.read()).toEqual({ daemon: 42, bootId: BOOT, flag: true, app: null, stopped: ["web"], gates: { started: true }, groups: [{ service: "a", pid: 4242, startTime: 7 }, { service: "b", pid: 4343, startTime: 9 }] });
  });

  it("refuses a folder others may write", () => {
    const dir = tempDir();
    const f = new StateFile(dir, "ipc://@y/control");
    chmodSync(`${dir}/flowinit-${process.getuid!()}`, 0o777);
    expect(() => f.read()).toThrow(/not a private folder/);
  });

  it("hands the facts and groups one daemon saved to the next on the same endpoint, which restores them", async () => {
    const dir = tempDir();
    const first = new StateFile(dir, "ipc://@z/control");
    const me: AppRecord = { pid: process.pid, startTime: startTime(process.pid), name: "app" };
    first.save(() => [{ service: "a", pid: 4242, startTime: 7 }]);
    first.saveFacts({ flag: true, app: me, stopped: ["web", "db"], gates: GATES });
    const expected: Previous = { daemon: process.pid, bootId: bootId(), flag: true, app: me, stopped: ["web", "db"], gates: GATES, groups: [{ service: "a", pid: 4242, startTime: 7 }] };
    const next = new StateFile(dir, "ipc://@z/control");
    await expect.poll(() => next.read()).toEqual(expected);
    // The facts and the groups go out in one write: later groups keep the facts, later facts keep the groups.
    first.save(() => [{ service: "b", pid: 4343, startTime: 9 }]);
    await expect.poll(() => next.read().groups[0]?.service).toBe("b");
    expect(next.read().stopped).toEqual(["web", "db"]);
    first.saveFacts({ flag: false, app: null, stopped: [], gates: {} });
    await expect.poll(() => next.read().flag).toBe(false);
    expect(next.read().groups).toEqual([{ service: "b", pid: 4343, startTime: 9 }]);

    first.saveFacts({ flag: true, app: me, stopped: ["web", "db"], gates: GATES });
    await expect.poll(() => next.read().flag).toBe(true);
    const now = { bootId: bootId(), isAlive: sameProcess };
    expect(recovery(next.read(), now)).toEqual({ from: process.pid, flag: true, stopped: ["web", "db"], app: me, gates: GATES });
    // The same pid with another start time is another process: not the app.
    first.saveFacts({ flag: true, app: { ...me, startTime: me.startTime! - 1 }, stopped: [], gates: {} });
    await expect.poll(() => next.read().app?.startTime).toBe(me.startTime! - 1);
    expect(recovery(next.read(), now)?.app).toBeNull();
  });

  it("restores nothing once cleared", async () => {
    const dir = tempDir();
    const first = new StateFile(dir, "ipc://@c/control");
    first.saveFacts({ flag: true, app: null, stopped: ["web"], gates: {} });
    const next = new StateFile(dir, "ipc://@c/control");
    await expect.poll(() => next.read().flag).toBe(true);
    await first.clear();
    expect(recovery(next.read(), { bootId: bootId(), isAlive: sameProcess })).toBeNull();
  });

  it("restores nothing from a file of another boot", async () => {
    const f = new StateFile(tempDir(), "ipc://@b/control");
    f.saveFacts({ flag: true, app: null, stopped: [], gates: {} });
    await expect.poll(() => f.read().bootId).toBe(bootId());
    const content = JSON.parse(readFileSync(f.path, "utf8"));
    writeFileSync(f.path, JSON.stringify({ ...content, boot_id: OTHER_BOOT }));
    expect(f.read()).toMatchObject({ daemon: process.pid, bootId: OTHER_BOOT, flag: true });
    expect(recovery(f.read(), { bootId: bootId(), isAlive: sameProcess })).toBeNull();
  });

  it.each([
    ["truncated", '{"daemon":42,"boot_id":"', { daemon: null, bootId: null, flag: false, app: null, stopped: [], gates: {}, groups: [] }],
    ["not an object", "null", { daemon: null, bootId: null, flag: false, app: null, stopped: [], gates: {}, groups: [] }],
    ["of an older version (groups only)", '{"daemon":42,"groups":[{"service":"a","pid":4242,"startTime":7}]}', { daemon: 42, bootId: null, flag: false, app: null, stopped: [], gates: {}, groups: [{ service: "a", pid: 4242, startTime: 7 }] }],
  ])("reads a file that is %s without throwing, and restores nothing from it", (_, text, expected) => {
    const f = new StateFile(tempDir(), "ipc://@t/control");
    writeFileSync(f.path, text);
    expect(f.read()).toEqual(expected);
    expect(recovery(f.read(), { bootId: bootId(), isAlive: sameProcess })).toBeNull();
  });

  it("keeps each valid field of a hostile file and empties the others", () => {
    const f = new StateFile(tempDir(), "ipc://@h/control");
    const hostile = {
      daemon: 42,
      boot_id: bootId(),
      flag: "yes",
      app: { pid: -1, startTime: 3, name: "app" },
      stopped: [1, "", "web", null],
      gates: { started: true, "": true, parked: "yes", cool: 1, off: false },
      groups: [null, 7, { service: "init", pid: 1, startTime: 0 }, { service: "a", pid: 4242, startTime: 7 }],
    };
    writeFileSync(f.path, JSON.stringify(hostile));
    const gates = { started: true, off: false };
    expect(f.read()).toEqual({ daemon: 42, bootId: bootId(), flag: false, app: null, stopped: ["web"], gates, groups: [{ service: "a", pid: 4242, startTime: 7 }] });
    expect(recovery(f.read(), { bootId: bootId(), isAlive: sameProcess })).toEqual({ from: 42, flag: false, stopped: ["web"], app: null, gates });
    for (const other of [null, ["started"], "started", true]) {
      writeFileSync(f.path, JSON.stringify({ ...hostile, gates: other }));
      expect(f.read().gates).toEqual({});
    }
    for (const app of [null, "app", { pid: 5, startTime: "x", name: "app" }, { pid: 5, startTime: 3, name: "" }, { pid: 5.5, startTime: 3, name: "a" }]) {
      writeFileSync(f.path, JSON.stringify({ ...hostile, app }));
      expect(f.read().app).toBeNull();
    }
    for (const [field, value] of [["daemon", "42"], ["daemon", 0], ["boot_id", 7], ["boot_id", ""]] as const) {
      writeFileSync(f.path, JSON.stringify({ ...hostile, [field]: value }));
      expect(recovery(f.read(), { bootId: bootId(), isAlive: sameProcess })).toBeNull();
    }
  });
});

describe("stillOurs", () => {
  it("takes a live pid for ours only with the recorded start time", () => {
    const me = process.pid;
    expect(stillOurs({ service: "a", pid: me, startTime: startTime(me) })).toBe(true);
    expect(stillOurs({ service: "a", pid: me, startTime: startTime(me)! - 1 })).toBe(false);
    expect(stillOurs({ service: "a", pid: me, startTime: null })).toBe(false);
  });
});
