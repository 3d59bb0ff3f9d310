/**
 * One service's state machine: a pure function from (status, event, now) to
 * the next status and the effects the supervisor must carry out. `now` is
 * read off both clocks (clock.ts): `since` is wall time, for people;
 * `startedAt`, `until` and so uptime are monotonic, so a wall clock set from
 * the network at boot cannot make a crash loop look stable.
 *
 *                 start, restart           spawned
 *   waiting -----------------------> starting ---------> running
 *      |                             ^  |  |                |
 *      | stop(stopped)               |  |  | spawn_failed   | exited: the policy decides
 *      v                             |  |  +--> fatal       +--> starting (stable, or no delay)
 *   stopped                          |  |                   +--> backoff  (quick crash)
 *                                    |  |                   +--> exited   (no restart wanted)
 *               backoff_elapsed,     |  |                   +--> fatal    (past max_restarts)
 *               start, restart       |  |
 *   backoff -------------------------+  +-- exited: as from running, with no uptime
 *
 *   A service with a `ready` check stays `starting` after its spawn (the pid
 *   kept) and goes `running` on `ready`; a health check that fails
 *   (`condemn`: not ready in time, a missed watchdog) SIGKILLs the group and
 *   marks the state, and the exit that follows is a quick crash with the
 *   check's cause and reason.
 *
 *   starting | running --stop, restart--> stopping (kill; `then` remembers where to go)
 *   stopping --exited--> then: stopped | waiting | starting
 *   stopping --spawn_failed--> then: stopped | waiting; fatal when then is start
 *   backoff --stop--> stopped | waiting (timer cancelled)
 *   stopped | exited | fatal --start, restart--> starting; --stop(waiting)--> waiting
 *
 * Every (state, event) cell is written out, in the same order in each state:
 * the switches have no `default`, so a new state or event does not compile
 * until each cell is decided. A
 * cell that does nothing returns `nop` and says why: `already` (the request
 * holds), `stale` (a stop's own report, after a failed spawn cut the stop
 * short), `impossible` (never sent there: a process reports its spawn once
 * and a failed spawn before anything else, and leaving backoff cancels its
 * timer). Every change of state yields exactly one `Change`; so does a crash
 * restarted at once from `starting`, though the name stays.
 */
import type { Instant } from "../clock.js";
import type { Exit } from "../runner/exit.js";
import type { ServiceSpec } from "../manifest/spec.js";
import { afterExit, describeExit, exitCause, type Cause, type RestartSpec } from "./policy.js";
import type { AfterStop, Condemned, State, StateName } from "./states.js";

/** What the machine reads of a spec: the restart policy, and whether a spawn must still prove ready. */
export type MachineSpec = RestartSpec & Pick<ServiceSpec, "ready">;

/** Everything the supervisor knows about one service, as data. */
export interface ServiceStatus {
  state: State;
  /** Automatic restarts so far (the `restarts` field of the status topic). */
  restarts: number;
  /** Quick crashes in a row, for backoff and the restart limit. */
  streak: number;
  /** How the last process ended. */
  exit: Exit | null;
  /** Why the last process ended (or failed to spawn); null before the first. */
  cause: Cause | null;
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
  /** `denied`: a stop that gave up on members of another user's, left running. */
  | { type: "exited"; exit: Exit; escalated?: boolean; denied?: boolean }
  | { type: "backoff_elapsed" }
  /** The `ready` check passed; `reason` says which. */
  | { type: "ready"; reason: string }
  /** A health check failed on the live process. */
  | { type: "condemn"; verdict: Condemned };

export type Effect =
  | { type: "spawn" }
  /** Stop the process group: stop signal, SIGKILL after the timeout. */
  | { type: "kill" }
  | { type: "schedule_restart"; delayMs: number }
  | { type: "cancel_restart" }
  /** SIGKILL to the process group at once, for a failed health check; `reason` says which. */
  | { type: "sigkill"; reason: string };

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
  return { state: { name: "waiting" }, restarts: 0, streak: 0, exit: null, cause: null, since: wall };
}

/** A cell that does nothing: no change, no effects. */
const nop = (status: ServiceStatus): Step => ({ status, effects: [], change: null });

/** `random`: uniform in [0, 1), for the restart jitter (policy.ts); injected so that tests are exact. */
export function transition(spec: MachineSpec, s: ServiceStatus, ev: MachineEvent, now: Instant, random: () => number): Step {
  const to = (state: State, reason: string, effects: Effect[] = [], patch: Partial<ServiceStatus> = {}): Step => ({
    status: { ...s, ...patch, state, since: state.name === s.state.name ? s.since : now.wall },
    effects,
    change: state.name === s.state.name ? null : { from: s.state.name, to: state.name, reason },
  });
  const start = (reason: string, effects: Effect[] = [], patch: Partial<ServiceStatus> = {}) =>
    to({ name: "starting" }, reason, [...effects, { type: "spawn" }], patch);
  const fatal = (reason: string, patch: Partial<ServiceStatus> = {}) => to({ name: "fatal", reason }, reason, [], patch);
  /** Same state, new data: no change to report. */
  const update = (state: State, effects: Effect[] = []): Step => ({ status: { ...s, state }, effects, change: null });

  const st = s.state;
  switch (st.name) {
    case "waiting":
      switch (ev.type) {
        case "start":
        case "restart":
          return start(ev.reason, [], { streak: 0 });
        case "stop":
          return ev.then === "stopped" ? to({ name: "stopped" }, ev.reason) : nop(s); // already
        case "spawned":
        case "spawn_failed":
          return nop(s); // impossible
        case "exited":
          return nop(s); // stale
        case "backoff_elapsed":
        case "ready":
        case "condemn":
          return nop(s); // impossible: no process
      }

    case "starting":
      switch (ev.type) {
        case "start":
          return nop(s); // already
        case "restart":
          return to({ name: "stopping", pid: st.pid ?? null, then: "start" }, ev.reason, [{ type: "kill" }]);
        case "stop":
          return to({ name: "stopping", pid: st.pid ?? null, then: ev.then }, ev.reason, [{ type: "kill" }]);
        case "spawned":
          if (spec.ready !== null) return update({ name: "starting", pid: ev.pid, startedAt: now.mono });
          return to({ name: "running", pid: ev.pid, startedAt: now.mono }, "spawned");
        case "spawn_failed":
          return fatal(`cannot spawn: ${ev.message}`, { cause: "spawn_failed" });
        case "exited":
          // Never ready, however long it ran: a quick crash.
          return afterCrash(spec, s, ev.exit, 0, now, random, st.condemned);
        case "backoff_elapsed":
          return nop(s); // impossible
        case "ready":
          // Before the spawn: impossible; once condemned, the kill stands.
          if (st.pid === undefined || st.startedAt === undefined || st.condemned) return nop(s);
          return to({ name: "running", pid: st.pid, startedAt: st.startedAt }, ev.reason);
        case "condemn":
          if (st.pid === undefined || st.condemned) return nop(s); // impossible, already
          return update({ ...st, condemned: ev.verdict }, [{ type: "sigkill", reason: ev.verdict.reason }]);
      }

    case "running":
      switch (ev.type) {
        case "start":
          return nop(s); // already
        case "restart":
          return to({ name: "stopping", pid: st.pid, then: "start" }, ev.reason, [{ type: "kill" }]);
        case "stop":
          return to({ name: "stopping", pid: st.pid, then: ev.then }, ev.reason, [{ type: "kill" }]);
        case "spawned":
        case "spawn_failed":
          return nop(s); // impossible
        case "exited":
          // A condemned process counts as a quick crash: it hung, however long it had worked.
          return afterCrash(spec, s, ev.exit, st.condemned ? 0 : now.mono - st.startedAt, now, random, st.condemned);
        case "backoff_elapsed":
          return nop(s); // impossible
        case "ready":
          return nop(s); // already
        case "condemn":
          if (st.condemned) return nop(s); // already
          return update({ ...st, condemned: ev.verdict }, [{ type: "sigkill", reason: ev.verdict.reason }]);
      }

    case "backoff":
      switch (ev.type) {
        case "start":
        case "restart":
          return start(ev.reason, [{ type: "cancel_restart" }], { streak: 0 });
        case "stop":
          return to({ name: ev.then }, ev.reason, [{ type: "cancel_restart" }]);
        case "spawned":
        case "spawn_failed":
        case "exited":
          return nop(s); // impossible: the process that crashed has said all it will
        case "backoff_elapsed":
          return start("backoff elapsed", [], { restarts: s.restarts + 1 });
        case "ready":
        case "condemn":
          return nop(s); // impossible: no process
      }

    case "stopping":
      switch (ev.type) {
        case "start":
        case "restart":
          return update({ ...st, then: "start" });
        case "stop":
          return update({ ...st, then: ev.then });
        case "spawned":
          // The spawn confirmation raced the stop; keep the pid for the snapshot.
          return update({ ...st, pid: ev.pid });
        case "spawn_failed":
          if (st.then === "start") return fatal(`cannot spawn: ${ev.message}`, { cause: "spawn_failed" });
          return to({ name: st.then }, `stopped (cannot spawn: ${ev.message})`, [], { cause: "spawn_failed" });
        case "exited": {
          const how = ev.denied
            ? "processes of another user left running"
            : ev.escalated
              ? "killed after stop_timeout"
              : describeExit(ev.exit);
          // Whatever ended it, the daemon was stopping it: a SIGKILL here is
          // the stop's own escalation, or came too late to matter.
          const last = { exit: ev.exit, cause: "stop" } as const;
          if (st.then === "start") return start(`restarted (${how})`, [], { ...last, streak: 0 });
          return to({ name: st.then }, `stopped (${how})`, [], last);
        }
        case "backoff_elapsed":
          return nop(s); // impossible
        case "ready":
        case "condemn":
          return nop(s); // stale: the stop goes on, and escalates on its own
      }

    case "stopped":
    case "exited":
    case "fatal":
      switch (ev.type) {
        case "start":
        case "restart":
          return start(ev.reason, [], { streak: 0 });
        case "stop":
          return ev.then === "waiting" ? to({ name: "waiting" }, ev.reason) : nop(s); // already down
        case "spawned":
        case "spawn_failed":
          return nop(s); // impossible
        case "exited":
          return nop(s); // stale
        case "backoff_elapsed":
          return nop(s); // impossible
        case "ready":
        case "condemn":
          return nop(s); // impossible: no process
      }
  }
}

/** `condemned`: a health check's kill, whose cause and reason the exit bears. */
function afterCrash(
  spec: RestartSpec,
  s: ServiceStatus,
  exit: Exit,
  uptimeMs: number,
  now: Instant,
  random: () => number,
  condemned?: Condemned,
): Step {
  const how = condemned?.reason ?? describeExit(exit);
  // A health check's kill is the daemon's own SIGKILL: a failure of the service, not the OS's `killed`.
  const decision = afterExit(spec, exit, uptimeMs, s.streak, random, condemned?.cause);
  const base = { ...s, exit, cause: condemned?.cause ?? exitCause(spec, exit), since: now.wall };
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
