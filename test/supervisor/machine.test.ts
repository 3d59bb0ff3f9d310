import { describe, expect, it } from "vitest";
import { initialStatus, transition, type MachineEvent, type ServiceStatus } from "../../src/supervisor/machine.js";
import type { RestartSpec } from "../../src/supervisor/policy.js";
import type { State } from "../../src/supervisor/states.js";

const spec: RestartSpec = {
  restart: "on-failure",
  restartDelayMs: 100,
  restartDelayMaxMs: 30_000,
  maxRestarts: 5,
  stableAfterMs: 10_000,
};
/** The monotonic reading; the wall clock reads something else entirely, so a mix-up shows. */
const T = 1_000_000;
const WALL = 1_764_000_000_000;
const NOW = { wall: WALL, mono: T };
const at = (state: State, patch: Partial<ServiceStatus> = {}): ServiceStatus => ({
  ...initialStatus(0),
  state,
  ...patch,
});
const crash = { code: 1, signal: null };
const clean = { code: 0, signal: null };
const killed = { code: null, signal: "SIGKILL" };

interface Row {
  name: string;
  from: ServiceStatus;
  event: MachineEvent;
  to: string;
  effects: string[];
  reason?: RegExp;
  spec?: Partial<RestartSpec>;
  check?: (s: ServiceStatus) => void;
}

const running = (startedAt = T - 1) => at({ name: "running", pid: 42, startedAt });

const rows: Row[] = [
  { name: "waiting --start--> starting", from: at({ name: "waiting" }), event: { type: "start", reason: "green flag" }, to: "starting", effects: ["spawn"], reason: /green flag/ },
  { name: "waiting --stop(stopped)--> stopped", from: at({ name: "waiting" }), event: { type: "stop", reason: "disabled", then: "stopped" }, to: "stopped", effects: [] },
  { name: "waiting --stop(waiting)--> no change", from: at({ name: "waiting" }), event: { type: "stop", reason: "stop flag", then: "waiting" }, to: "waiting", effects: [] },
  { name: "waiting --exited--> no-op", from: at({ name: "waiting" }), event: { type: "exited", exit: crash }, to: "waiting", effects: [] },
  { name: "starting --spawned--> running", from: at({ name: "starting" }), event: { type: "spawned", pid: 7 }, to: "running", effects: [], check: (s) => expect(s.state).toEqual({ name: "running", pid: 7, startedAt: T }) },
  { name: "starting --spawn_failed--> fatal", from: at({ name: "starting" }), event: { type: "spawn_failed", message: "x: no such file" }, to: "fatal", effects: [], reason: /cannot spawn: x: no such file/, check: (s) => expect(s.state).toEqual({ name: "fatal", reason: "cannot spawn: x: no such file" }) },
  { name: "starting --stop--> stopping (kill)", from: at({ name: "starting" }), event: { type: "stop", reason: "stop request", then: "stopped" }, to: "stopping", effects: ["kill"] },
  { name: "starting --exited--> backoff (quick crash)", from: at({ name: "starting" }), event: { type: "exited", exit: crash }, to: "backoff", effects: ["schedule_restart"] },
  { name: "running --exited(crash, quick)--> backoff", from: running(), event: { type: "exited", exit: crash }, to: "backoff", effects: ["schedule_restart"], reason: /exited with code 1; restarting in 100ms/, check: (s) => { expect(s.streak).toBe(1); expect(s.exit).toEqual(crash); } },
  { name: "running --exited(crash, stable)--> starting at once", from: running(T - 10_000), event: { type: "exited", exit: killed }, to: "starting", effects: ["spawn"], reason: /killed by SIGKILL; restarting/, check: (s) => { expect(s.restarts).toBe(1); expect(s.streak).toBe(0); } },
  { name: "running --exited(clean, on-failure)--> exited", from: running(), event: { type: "exited", exit: clean }, to: "exited", effects: [], reason: /exited with code 0/ },
  { name: "running --exited(clean, always)--> backoff", spec: { restart: "always" }, from: running(), event: { type: "exited", exit: clean }, to: "backoff", effects: ["schedule_restart"] },
  { name: "running --exited(crash, never)--> exited", spec: { restart: "never" }, from: running(), event: { type: "exited", exit: crash }, to: "exited", effects: [] },
  { name: "running --exited(crash past the limit)--> fatal", from: running({} as never), event: { type: "exited", exit: crash }, to: "fatal", effects: [], reason: /gave up after 5 restarts/ },
  { name: "running --stop--> stopping (kill)", from: running(), event: { type: "stop", reason: "stop request", then: "stopped" }, to: "stopping", effects: ["kill"], check: (s) => expect(s.state).toEqual({ name: "stopping", pid: 42, then: "stopped" }) },
  { name: "running --restart--> stopping then start", from: running(), event: { type: "restart", reason: "restart request" }, to: "stopping", effects: ["kill"], check: (s) => expect(s.state).toMatchObject({ then: "start" }) },
  { name: "running --start--> no-op", from: running(), event: { type: "start", reason: "again" }, to: "running", effects: [] },
  { name: "backoff --backoff_elapsed--> starting", from: at({ name: "backoff", until: T }, { restarts: 2 }), event: { type: "backoff_elapsed" }, to: "starting", effects: ["spawn"], check: (s) => expect(s.restarts).toBe(3) },
  { name: "backoff --start--> starting (timer cancelled)", from: at({ name: "backoff", until: T }), event: { type: "start", reason: "start request" }, to: "starting", effects: ["cancel_restart", "spawn"] },
  { name: "backoff --stop--> stopped (timer cancelled)", from: at({ name: "backoff", until: T }), event: { type: "stop", reason: "stop request", then: "stopped" }, to: "stopped", effects: ["cancel_restart"] },
  { name: "backoff --stop(waiting)--> waiting", from: at({ name: "backoff", until: T }), event: { type: "stop", reason: "stop flag", then: "waiting" }, to: "waiting", effects: ["cancel_restart"] },
  { name: "stopping --exited--> stopped", from: at({ name: "stopping", pid: 42, then: "stopped" }), event: { type: "exited", exit: { code: null, signal: "SIGTERM" } }, to: "stopped", effects: [], reason: /stopped \(killed by SIGTERM\)/ },
  { name: "stopping --exited(escalated)--> stopped", from: at({ name: "stopping", pid: 42, then: "stopped" }), event: { type: "exited", exit: killed, escalated: true }, to: "stopped", effects: [], reason: /killed after stop_timeout/ },
  { name: "stopping(waiting) --exited--> waiting", from: at({ name: "stopping", pid: 42, then: "waiting" }), event: { type: "exited", exit: clean }, to: "waiting", effects: [] },
  { name: "stopping(start) --exited--> starting", from: at({ name: "stopping", pid: 42, then: "start" }), event: { type: "exited", exit: clean }, to: "starting", effects: ["spawn"] },
  { name: "stopping --start--> stays, then starts", from: at({ name: "stopping", pid: 42, then: "stopped" }), event: { type: "start", reason: "start request" }, to: "stopping", effects: [], check: (s) => expect(s.state).toMatchObject({ then: "start" }) },
  { name: "stopping --stop--> no change", from: at({ name: "stopping", pid: 42, then: "stopped" }), event: { type: "stop", reason: "again", then: "stopped" }, to: "stopping", effects: [] },
  { name: "stopped --start--> starting", from: at({ name: "stopped" }), event: { type: "start", reason: "start request" }, to: "starting", effects: ["spawn"] },
  { name: "exited --restart--> starting", from: at({ name: "exited" }), event: { type: "restart", reason: "restart request" }, to: "starting", effects: ["spawn"] },
  { name: "fatal --start--> starting (streak cleared)", from: at({ name: "fatal", reason: "x" }, { streak: 6 }), event: { type: "start", reason: "start request" }, to: "starting", effects: ["spawn"], check: (s) => expect(s.streak).toBe(0) },
  { name: "fatal --stop(waiting)--> waiting", from: at({ name: "fatal", reason: "x" }), event: { type: "stop", reason: "stop flag", then: "waiting" }, to: "waiting", effects: [] },
  { name: "fatal --stop(stopped)--> no change", from: at({ name: "fatal", reason: "x" }), event: { type: "stop", reason: "stop request", then: "stopped" }, to: "fatal", effects: [] },
];
// The row "past the limit" needs a streak at the limit.
rows.find((r) => r.to === "fatal" && r.event.type === "exited")!.from = { ...running(), streak: 5 };

describe("transition", () => {
  it.each(rows)("$name", (row) => {
    const step = transition({ ...spec, ...row.spec }, row.from, row.event, NOW);
    expect(step.status.state.name).toBe(row.to);
    expect(step.effects.map((e) => e.type)).toEqual(row.effects);
    if (row.to === row.from.state.name) {
      expect(step.change).toBeNull();
      expect(step.status.since).toBe(row.from.since);
    } else {
      expect(step.change).toMatchObject({ from: row.from.state.name, to: row.to });
      expect(step.status.since).toBe(WALL);
    }
    if (row.reason) expect(step.change?.reason).toMatch(row.reason);
    row.check?.(step.status);
  });

  it("a crash loop backs off 100, 200, 400, 800, 1600 ms and then goes fatal", () => {
    let s = running();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const step = transition(spec, s, { type: "exited", exit: crash }, NOW);
      s = step.status;
      if (s.state.name === "fatal") break;
      const eff = step.effects[0];
      delays.push(eff?.type === "schedule_restart" ? eff.delayMs : -1);
      s = transition(spec, s, { type: "backoff_elapsed" }, NOW).status;
      s = transition(spec, s, { type: "spawned", pid: 1 }, NOW).status;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600]);
    expect(s.state.name).toBe("fatal");
    expect(s.restarts).toBe(5);
  });
});

describe("durations are monotonic, whatever the wall clock does", () => {
  const HOUR = 3_600_000;
  /** A service that crashes 300 ms after each start, as read by mono, while the wall clock moves `wallStep` per event. */
  function crashLoop(wallStep: number): { trace: string[]; last: ServiceStatus; wall: number } {
    let now = { wall: WALL, mono: T };
    const later = (monoMs: number) => (now = { wall: now.wall + wallStep, mono: now.mono + monoMs });
    let s = transition(spec, at({ name: "starting" }), { type: "spawned", pid: 1 }, now).status;
    const trace: string[] = [];
    for (let i = 0; i < 10 && s.state.name !== "fatal"; i++) {
      const step = transition(spec, s, { type: "exited", exit: crash }, later(300));
      s = step.status;
      trace.push(step.change?.to ?? s.state.name);
      if (s.state.name === "backoff") s = transition(spec, s, { type: "backoff_elapsed" }, later(100)).status;
      if (s.state.name === "starting") s = transition(spec, s, { type: "spawned", pid: 1 }, later(1)).status;
    }
    return { trace, last: s, wall: now.wall };
  }
  const goesFatal = ["backoff", "backoff", "backoff", "backoff", "backoff", "fatal"];

  it("a crash loop goes fatal though the wall clock leaps an hour forward between crashes", () => {
    const { trace, last, wall } = crashLoop(HOUR);
    expect(trace).toEqual(goesFatal);
    expect(last.restarts).toBe(5);
    // `since` still follows the wall clock: people read it.
    expect(last.since).toBe(wall);
  });

  it("a wall clock going back changes nothing either: a crash loop goes fatal, a stable run restarts at once", () => {
    expect(crashLoop(-HOUR).trace).toEqual(goesFatal);
    expect(crashLoop(0).trace).toEqual(goesFatal);
    const up = transition(spec, { ...at({ name: "starting" }), streak: 3 }, { type: "spawned", pid: 1 }, NOW).status;
    const step = transition(spec, up, { type: "exited", exit: crash }, { wall: WALL - HOUR, mono: T + spec.stableAfterMs });
    expect(step.status.state.name).toBe("starting");
    expect(step.status.streak).toBe(0);
  });

  it("a backoff ends at a reading of the monotonic clock", () => {
    const backoff = transition(spec, running(), { type: "exited", exit: crash }, NOW).status;
    expect(backoff.state).toEqual({ name: "backoff", until: T + 100 });
  });
});
