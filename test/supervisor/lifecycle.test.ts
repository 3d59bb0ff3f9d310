/** The daemon's lifecycle table, cell by cell. */
import { describe, expect, it } from "vitest";
import { INITIAL_LIFE, lifeStep, type Busy, type Input, type Life, type Op } from "../../src/supervisor/lifecycle.js";

const OPS = {
  green_flag: { type: "green_flag", reason: "green flag" },
  stop_flag: { type: "stop_flag" },
  gate: { type: "gate", name: "cool", open: false, reason: "46.1 C > 45" },
  reload: { type: "reload" },
  service: { type: "service", cmd: "restart", name: "a" },
  shutdown: { type: "shutdown", reason: "SIGTERM" },
} satisfies Record<string, Op>;
type OpName = keyof typeof OPS;

const life = (busy: Busy | null, over: Partial<Life> = {}): Life => ({
  ...INITIAL_LIFE,
  phase: busy === "shutdown" ? "stopping" : "running",
  flag: true,
  busy,
  flips: busy === "flip" ? 1 : 0,
  ...over,
});

/** What each cell does, as the table at the top of lifecycle.ts says. */
const TABLE: Record<"none" | Busy, Record<OpName, string[]>> = {
  none: { green_flag: ["run"], stop_flag: ["run"], gate: ["run"], reload: ["run"], service: ["run"], shutdown: ["run"] },
  flip: { green_flag: ["run"], stop_flag: ["run"], gate: ["run"], reload: ["queue"], service: ["run"], shutdown: ["abort", "refuse_queued"] },
  reload: { green_flag: ["queue"], stop_flag: ["queue"], gate: ["queue"], reload: ["queue"], service: ["queue"], shutdown: ["abort", "refuse_queued"] },
  shutdown: { green_flag: ["ignore"], stop_flag: ["ignore"], gate: ["ignore"], reload: ["refuse"], service: ["refuse"], shutdown: ["ignore"] },
};

describe("lifeStep", () => {
  for (const [busyName, row] of Object.entries(TABLE)) {
    const busy = busyName === "none" ? null : (busyName as Busy);
    for (const [opName, effects] of Object.entries(row)) {
      it(`busy ${busyName} x ${opName} -> ${effects.join(", ")}`, () => {
        const step = lifeStep(life(busy), OPS[opName as OpName]);
        expect(step.effects.map((e) => e.type)).toEqual(effects);
      });
    }
  }

  it("a green flag raises the flag and the phase, a stop_flag lowers both; each is a flip, busy until done", () => {
    const up = lifeStep(INITIAL_LIFE, OPS.green_flag).life;
    expect(up).toMatchObject({ phase: "running", flag: true, busy: "flip", flips: 1 });
    const settled = lifeStep(up, { type: "done" });
    expect(settled.life).toMatchObject({ busy: null, flips: 0 });
    const down = lifeStep(settled.life, OPS.stop_flag).life;
    expect(down).toMatchObject({ phase: "waiting", flag: false, busy: "flip", flips: 1 });
    const done = lifeStep(down, { type: "done" });
    expect(done.life).toMatchObject({ busy: null, flips: 0 });
    expect(done.effects).toEqual([{ type: "dequeue" }]);
  });

  it("a gate's flip changes neither flag nor phase", () => {
    expect(lifeStep(life(null), OPS.gate).life).toMatchObject({ phase: "running", flag: true, busy: "flip", flips: 1 });
    expect(lifeStep(INITIAL_LIFE, OPS.gate).life).toMatchObject({ phase: "waiting", flag: false, busy: "flip", flips: 1 });
  });

  it("a green flag during a stop_flag raises the flag at once; the daemon is busy until both are done", () => {
    const step = lifeStep(life("flip", { phase: "waiting", flag: false }), OPS.green_flag);
    expect(step.life).toMatchObject({ phase: "running", flag: true, busy: "flip", flips: 2 });
    const first = lifeStep(step.life, { type: "done" });
    expect(first).toEqual({ life: { ...step.life, flips: 1 }, effects: [] });
    const second = lifeStep(first.life, { type: "done" });
    expect(second.life).toMatchObject({ busy: null, flips: 0 });
    expect(second.effects).toEqual([{ type: "dequeue" }]);
  });

  it("a stop_flag during a flip with the flag already down is ignored; with the flag up it runs", () => {
    expect(lifeStep(life("flip", { phase: "waiting", flag: false }), OPS.stop_flag).effects).toEqual([{ type: "ignore", op: OPS.stop_flag }]);
    const step = lifeStep(life("flip"), OPS.stop_flag);
    expect(step.effects).toEqual([{ type: "run", op: OPS.stop_flag }]);
    expect(step.life).toMatchObject({ phase: "waiting", flag: false, flips: 2 });
  });

  it("a shutdown during flips waits for the last one, then runs", () => {
    const during = lifeStep(life("flip", { flips: 2 }), OPS.shutdown);
    expect(during.life).toMatchObject({ phase: "stopping", busy: "flip", flips: 2 });
    expect(during.effects.map((e) => e.type)).toEqual(["abort", "refuse_queued"]);
    const one = lifeStep(during.life, { type: "done" });
    expect(one.effects).toEqual([]);
    const last = lifeStep(one.life, { type: "done" });
    expect(last.life).toMatchObject({ busy: "shutdown", flips: 0 });
    expect(last.effects).toEqual([{ type: "run", op: { type: "shutdown", reason: "SIGTERM" } }]);
  });

  it("a flag queued behind a reload does not change the flag until it runs", () => {
    const step = lifeStep(life("reload", { phase: "waiting", flag: false }), OPS.green_flag);
    expect(step.life).toMatchObject({ phase: "waiting", flag: false, busy: "reload" });
    expect(step.effects).toEqual([{ type: "queue", op: OPS.green_flag }]);
  });

  it("a reload and a shutdown make the daemon busy; a service request does not", () => {
    expect(lifeStep(INITIAL_LIFE, OPS.reload).life.busy).toBe("reload");
    expect(lifeStep(INITIAL_LIFE, OPS.service).life.busy).toBeNull();
    expect(lifeStep(INITIAL_LIFE, OPS.shutdown).life).toMatchObject({ phase: "stopping", busy: "shutdown", stopReason: "SIGTERM" });
  });

  it("a shutdown during a reload stops at once in phase, and runs when the reload is done", () => {
    const during = lifeStep(life("reload"), OPS.shutdown);
    expect(during.life).toMatchObject({ phase: "stopping", busy: "reload", stopReason: "SIGTERM" });
    // Anything that arrives meanwhile is treated as during the shutdown.
    expect(lifeStep(during.life, OPS.green_flag).effects.map((e) => e.type)).toEqual(["ignore"]);
    expect(lifeStep(during.life, OPS.reload).effects).toEqual([{ type: "refuse", op: OPS.reload, why: "the daemon is shutting down" }]);
    const done = lifeStep(during.life, { type: "done" });
    expect(done.life.busy).toBe("shutdown");
    expect(done.effects).toEqual([{ type: "run", op: { type: "shutdown", reason: "SIGTERM" } }]);
  });

  it("after a reload, what was queued is dequeued", () => {
    const done = lifeStep(life("reload"), { type: "done" });
    expect(done.life.busy).toBeNull();
    expect(done.effects).toEqual([{ type: "dequeue" }]);
  });

  it("a done with nothing busy, or after the shutdown, does nothing", () => {
    for (const l of [INITIAL_LIFE, life("shutdown")]) {
      const step = lifeStep(l, { type: "done" } satisfies Input);
      expect(step).toEqual({ life: l, effects: [] });
    }
  });
});
