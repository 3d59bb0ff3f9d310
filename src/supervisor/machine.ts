/**
 * One service's state machine: a pure function from (status, event, now) to
 * the next status and the effects the supervisor must carry out. `now` is
 * read off both clocks (clock.ts): `since` is wall time, for people;
 * `startedAt`, `until` and so uptime are monotonic, so a wall clock set from
 * the network at boot cannot make a crash loop look stable.
 *
 *             start                spawned
 *   waiting ---------> starting ------------> running
 *      ^                 |  ^                   |  |
 *      |    spawn_failed |  | backoff_elapsed   |  | exited (policy)
 *      |                 v  |                   |  +--> exited | fatal
 *      |               fatal backoff <----------+  |
 *      |                         (quick crash)     | exited, stable or delay 0
 *      |                                           +--> starting
 *      |   stop(then)          exited
 *      +-- stopping <------ starting|running  ; stopping --exited--> then
 *                                             ;   (stopped | waiting | starting)
 *   stopped | exited | fatal --start/restart--> starting
 *   backoff --stop--> stopped | waiting ; any down state --stop(waiting)--> waiting
 *
 * Every change of state name yields exactly one `Change`; an event that does
 * not apply in a state is a no-op (no change, no effects).
 */
import type { Instant } from "../clock.js";
import { afterExit, describeExit, type Exit, type RestartSpec } from "./policy.js";
import type { AfterStop, State, StateName } from "./states.js";

/** Everything the supervisor knows about one service, as data. */
export interface ServiceStatus {
  state: State;
  /** Automatic restarts so far (the `restarts` field of the status topic). */
  restarts: number;
  /** Quick crashes in a row, for backoff and the restart limit. */
  streak: number;
  /** How the last process ended. */
  exit: Exit | null;
  /** When the state last changed, ms since the epoch (wall clock: people read it). */
  since: number;
}

export type MachineEvent =
  | { type: "start"; reason: string }
  | { type: "restart"; reason: string }
  | { type: "stop"; reason: string; then: Exclude<AfterStop, "start"> }
  | { type: "spawned"; pid: number }
  | { type: "spawn_failed"; message: string }
  /** The process ended; after a stop, once its whole group is gone. */
  | { type: "exited"; exit: Exit; escalated?: boolean }
  | { type: "backoff_elapsed" };

export type Effect =
  | { type: "spawn" }
  /** Stop the process group: stop signal, SIGKILL after the timeout. */
  | { type: "kill" }
  | { type: "schedule_restart"; delayMs: number }
  | { type: "cancel_restart" };

export interface Change {
  from: StateName;
  to: StateName;
  reason: string;
}

export interface Step {
  status: ServiceStatus;
  effects: Effect[];
  change: Change | null;
}

export function initialStatus(wall: number): ServiceStatus {
  return { state: { name: "waiting" }, restarts: 0, streak: 0, exit: null, since: wall };
}

const nothing = (status: ServiceStatus): Step => ({ status, effects: [], change: null });

export function transition(spec: RestartSpec, s: ServiceStatus, ev: MachineEvent, now: Instant): Step {
  const to = (state: State, reason: string, effects: Effect[] = [], patch: Partial<ServiceStatus> = {}): Step => ({
    status: { ...s, ...patch, state, since: state.name === s.state.name ? s.since : now.wall },
    effects,
    change: state.name === s.state.name ? null : { from: s.state.name, to: state.name, reason },
  });
  const start = (reason: string, effects: Effect[] = [], patch: Partial<ServiceStatus> = {}) =>
    to({ name: "starting" }, reason, [...effects, { type: "spawn" }], patch);
  const fatal = (reason: string) => to({ name: "fatal", reason }, reason);

  const st = s.state;
  switch (st.name) {
    case "waiting":
      switch (ev.type) {
        case "start":
        case "restart":
          return start(ev.reason, [], { streak: 0 });
        case "stop":
          return ev.then === "stopped" ? to({ name: "stopped" }, ev.reason) : nothing(s);
        default:
          return nothing(s);
      }

    case "starting":
      switch (ev.type) {
        case "spawned":
          return to({ name: "running", pid: ev.pid, startedAt: now.mono }, "spawned");
        case "spawn_failed":
          return fatal(`cannot spawn: ${ev.message}`);
        case "exited":
          return afterCrash(spec, s, ev.exit, 0, now);
        case "stop":
          return to({ name: "stopping", pid: null, then: ev.then }, ev.reason, [{ type: "kill" }]);
        case "restart":
          return to({ name: "stopping", pid: null, then: "start" }, ev.reason, [{ type: "kill" }]);
        default:
          return nothing(s);
      }

    case "running":
      switch (ev.type) {
        case "exited":
          return afterCrash(spec, s, ev.exit, now.mono - st.startedAt, now);
        case "stop":
          return to({ name: "stopping", pid: st.pid, then: ev.then }, ev.reason, [{ type: "kill" }]);
        case "restart":
          return to({ name: "stopping", pid: st.pid, then: "start" }, ev.reason, [{ type: "kill" }]);
        default:
          return nothing(s);
      }

    case "backoff":
      switch (ev.type) {
        case "backoff_elapsed":
          return start("backoff elapsed", [], { restarts: s.restarts + 1 });
        case "start":
        case "restart":
          return start(ev.reason, [{ type: "cancel_restart" }], { streak: 0 });
        case "stop":
          return to({ name: ev.then }, ev.reason, [{ type: "cancel_restart" }]);
        default:
          return nothing(s);
      }

    case "stopping":
      switch (ev.type) {
        case "exited": {
          const how = ev.escalated ? "killed after stop_timeout" : describeExit(ev.exit);
          if (st.then === "start") return start(`restarted (${how})`, [], { exit: ev.exit, streak: 0 });
          return to({ name: st.then }, `stopped (${how})`, [], { exit: ev.exit });
        }
        case "spawned":
          // The spawn confirmation raced the stop; keep the pid for the snapshot.
          return { ...nothing(s), status: { ...s, state: { ...st, pid: ev.pid } } };
        case "spawn_failed":
          if (st.then === "start") return fatal(`cannot spawn: ${ev.message}`);
          return to({ name: st.then }, `stopped (cannot spawn: ${ev.message})`);
        case "start":
        case "restart":
          return { ...nothing(s), status: { ...s, state: { ...st, then: "start" } } };
        case "stop":
          return { ...nothing(s), status: { ...s, state: { ...st, then: ev.then } } };
        default:
          return nothing(s);
      }

    case "stopped":
    case "exited":
    case "fatal":
      switch (ev.type) {
        case "start":
        case "restart":
          return start(ev.reason, [], { streak: 0 });
        case "stop":
          return ev.then === "waiting" ? to({ name: "waiting" }, ev.reason) : nothing(s);
        default:
          return nothing(s);
      }
  }
}

function afterCrash(spec: RestartSpec, s: ServiceStatus, exit: Exit, uptimeMs: number, now: Instant): Step {
  const how = describeExit(exit);
  const decision = afterExit(spec, exit, uptimeMs, s.streak);
  const base = { ...s, exit, since: now.wall };
  const change = (to: StateName, reason: string): Change => ({ from: s.state.name, to, reason });
  switch (decision.action) {
    case "exit":
      return { status: { ...base, state: { name: "exited" } }, effects: [], change: change("exited", how) };
    case "fatal": {
      const reason = `${how}; gave up after ${spec.maxRestarts} restarts without ${spec.stableAfterMs}ms of uptime`;
      return {
        status: { ...base, streak: decision.streak, state: { name: "fatal", reason } },
        effects: [],
        change: change("fatal", reason),
      };
    }
    case "restart":
      if (decision.delayMs === 0) {
        return {
          status: { ...base, streak: decision.streak, restarts: s.restarts + 1, state: { name: "starting" } },
          effects: [{ type: "spawn" }],
          change: change("starting", `${how}; restarting`),
        };
      }
      return {
        status: { ...base, streak: decision.streak, state: { name: "backoff", until: now.mono + decision.delayMs } },
        effects: [{ type: "schedule_restart", delayMs: decision.delayMs }],
        change: change("backoff", `${how}; restarting in ${decision.delayMs}ms`),
      };
  }
}
