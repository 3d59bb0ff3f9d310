/**
 * The health rules (CONTRACT.md section 8) as pure functions of the spec,
 * what a service has said and the monotonic clock's reading passed in: when
 * a start has waited too long for its `ready` check, and when a watchdog is
 * missed. The supervisor asks them on every status tick and on every
 * heartbeat, so no service needs a timer of its own.
 */
import type { ServiceSpec } from "../manifest/spec.js";
import type { Condemned, State } from "./states.js";
import { durationText } from "../manifest/duration.js";

/** One line a service wrote on its notify descriptor, in sd_notify's words. */
export type NotifyMessage = { type: "ready" } | { type: "watchdog" } | { type: "status"; text: string };

/**
 * `READY=1`, `WATCHDOG=1`, `STATUS=<text>`; an empty line is READY=1, as s6's
 * notification-fd takes it. Anything else sd_notify knows (MAINPID=,
 * STOPPING=1, ...) or does not is ignored: null.
 */
export function parseNotifyLine(line: string): NotifyMessage | null {
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  if (text === "" || text === "READY=1") return { type: "ready" };
  if (text === "WATCHDOG=1") return { type: "watchdog" };
  if (text.startsWith("STATUS=")) return { type: "status", text: text.slice("STATUS=".length) };
  return null;
}

/** A run's watchdog: unarmed until the first heartbeat (openpilot's `watchdog_seen`), then the reading of the last. */
export type Watch = { armed: false } | { armed: true; lastBeat: number };

export const UNARMED: Watch = { armed: false };

/** A heartbeat at `now`: arms the watchdog, or pushes its deadline. */
export const beat = (now: number): Watch => ({ armed: true, lastBeat: now });

/**
 * What a health check holds against the process now, or null: no `ready`
 * within `ready_timeout` of the spawn, or, once armed, no heartbeat for
 * longer than `watchdog`. A process already condemned is not judged again.
 */
export function verdict(spec: Pick<ServiceSpec, "ready" | "readyTimeoutMs" | "watchdogMs">, state: State, watch: Watch, now: number): Condemned | null {
  if ((state.name !== "starting" && state.name !== "running") || state.condemned) return null;
  if (state.name === "starting" && spec.ready !== null && state.startedAt !== undefined && now - state.startedAt >= spec.readyTimeoutMs) {
    return { cause: "not_ready", reason: `not ready after ${durationText(spec.readyTimeoutMs)}` };
  }
  if (spec.watchdogMs !== null && watch.armed && now - watch.lastBeat > spec.watchdogMs) {
    return { cause: "watchdog", reason: `watchdog: no heartbeat for ${((now - watch.lastBeat) / 1000).toFixed(1)}s` };
  }
  return null;
}
