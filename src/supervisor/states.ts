/**
 * The closed set of service states (CONTRACT.md section 3). This module
 * imports nothing so that every other module can lean on it.
 */

export const STATE_NAMES = [
  "waiting",
  "starting",
  "running",
  "backoff",
  "stopping",
  "stopped",
  "exited",
  "fatal",
] as const;

export type StateName = (typeof STATE_NAMES)[number];

/** What a stop leads to once the process tree is gone. */
export type AfterStop = "stopped" | "waiting" | "start";

/** A live process a health check condemned: SIGKILL sent, its exit will bear this cause and reason. */
export interface Condemned {
  cause: "watchdog" | "not_ready";
  reason: string;
}

/** Each state carries only its own data. */
export type State =
  /** Gated: on the green flag, or on dependencies not yet running. */
  | { name: "waiting" }
  /**
   * Spawn requested; `pid` and `startedAt` once the process exists and waits
   * for its `ready` check (without one, the spawn makes it `running`).
   */
  | { name: "starting"; pid?: number; startedAt?: number; condemned?: Condemned }
  /** `startedAt`: the monotonic clock's reading at the spawn (clock.ts), for uptime. */
  | { name: "running"; pid: number; startedAt: number; condemned?: Condemned }
  /** Crashed; a restart is scheduled at `until`, a reading of the monotonic clock. */
  | { name: "backoff"; until: number }
  /** Stop signal sent to the group; `then` says where to go once it is gone. */
  | { name: "stopping"; pid: number | null; then: AfterStop }
  | { name: "stopped" }
  /** Ended and the restart policy says no restart. */
  | { name: "exited" }
  /** Gave up: restart limit reached, or the command cannot be spawned. */
  | { name: "fatal"; reason: string };

/** A process of the service may exist in these states. */
export const ACTIVE: ReadonlySet<StateName> = new Set(["starting", "running", "stopping"]);

/** The service is down and nothing will bring it up but a request. */
export const DOWN: ReadonlySet<StateName> = new Set(["stopped", "exited", "fatal"]);

/**
 * Whether a change from `from` to `to` ends a run: a process (or its spawn)
 * was under way and is no more. A crash restarted at once from `starting`
 * stays `starting`, and still ends one.
 */
export function endsRun(from: StateName, to: StateName): boolean {
  return ACTIVE.has(from) && to !== "running" && to !== "stopping";
}
