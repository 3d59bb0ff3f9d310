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
const T = 1_000_000;
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
    const step = transition({ ...spec, ...row.spec }, row.from, row.event, T);
    expect(step.status.state.name).toBe(row.to);
    expect(step.effects.map((e) => e.type)).toEqual(row.effects);
    if (row.to === row.from.state.name) {
      expect(step.change).toBeNull();
      expect(step.status.since).toBe(row.from.since);
    } else {
      expect(step.change).toMatchObject({ from: row.from.state.name, to: row.to });
      expect(step.status.since).toBe(T);
    }
    if (row.reason) expect(step.change?.reason).toMatch(row.reason);
    row.check?.(step.status);
  });

  it("a crash loop backs off 100, 200, 400, 800, 1600 ms and then goes fatal", () => {
    let s = running();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const step = transition(spec, s, { type: "exited", exit: crash }, T);
      s = step.status;
      if (s.state.name === "fatal") break;
      const eff = step.effects[0];
      delays.push(eff?.type === "schedule_restart" ? eff.delayMs : -1);
      s = transition(spec, s, { type: "backoff_elapsed" }, T).status;
      s = transition(spec, s, { type: "spawned", pid: 1 }, T).status;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600]);
    expect(s.state.name).toBe("fatal");
    expect(s.restarts).toBe(5);
  });
});
