/**
 * Restart policy as pure functions of the spec, the exit and the clock
 * reading passed in (OTP's restart intensity, s6's permafailon): nothing here
 * reads the time itself.
 */
import type { ServiceSpec } from "../manifest/spec.js";
import type { Exit } from "../runner/exit.js";
import { MAX_DURATION_MS } from "../manifest/duration.js";

export type RestartSpec = Pick<
  ServiceSpec,
  "restart" | "restartDelayMs" | "restartDelayMaxMs" | "maxRestarts" | "stableAfterMs" | "successExitCodes" | "restartJitter" | "oneshot"
>;

/**
 * Why the last process ended (CONTRACT.md section 8), as the status topic
 * names it: `stop` and `spawn_failed` are decided where the machine knows
 * them, `watchdog` and `not_ready` by the health checks that ended it
 * (checks.ts), the rest by `exitCause` from the exit itself.
 */
export const CAUSES = ["exit", "crash", "killed", "watchdog", "not_ready", "stop", "spawn_failed"] as const;
export type Cause = (typeof CAUSES)[number];

/** Whether an exit counts as success: a code of `success_exit_codes`, never a signal. */
function succeeded(spec: RestartSpec, exit: Exit): boolean {
  return exit.signal === null && exit.code !== null && spec.successExitCodes.includes(exit.code);
}

/**
 * The cause of an exit the daemon did not ask for. A SIGKILL nobody here sent
 * is told apart: on Android it is most likely the phantom-process or
 * low-memory killer, not a bug in the service.
 */
export function exitCause(spec: RestartSpec, exit: Exit): Cause {
  if (succeeded(spec, exit)) return "exit";
  return exit.signal === "SIGKILL" ? "killed" : "crash";
}

/** Whether the policy wants this exit restarted at all; a oneshot's success is its end, whatever the policy. */
export function wantsRestart(spec: RestartSpec, exit: Exit): boolean {
  if (spec.oneshot && succeeded(spec, exit)) return false;
  switch (spec.restart) {
    case "always":
      return true;
    case "never":
      return false;
    case "on-failure":
      return !succeeded(spec, exit);
  }
}

/** Delay before restart number `streak` of an unbroken run of quick crashes (1-based). */
export function backoffDelay(spec: RestartSpec, streak: number): number {
  if (streak <= 0) return 0;
  // 2 ** 52 would be exact but absurd; capping the exponent keeps the product finite.
  const factor = 2 ** Math.min(streak - 1, 40);
  return Math.min(spec.restartDelayMs * factor, spec.restartDelayMaxMs);
}

/**
 * A delay drawn from delay * (1 +- restart_jitter), so that services that
 * crashed together (the phone's killer takes several at once) do not all
 * restart in the same instant. `random` is a source like Math.random:
 * uniform in [0, 1). At least 1 ms, since a delay of 0 means a stable run's
 * restart at once; at most what a timer can wait (duration.ts).
 */
export function jittered(spec: RestartSpec, delayMs: number, random: () => number): number {
  if (spec.restartJitter === 0) return delayMs;
  const drawn = Math.round(delayMs * (1 + spec.restartJitter * (2 * random() - 1)));
  return Math.min(Math.max(drawn, 1), MAX_DURATION_MS);
}

export type Decision =
  | { action: "exit" }
  | { action: "restart"; delayMs: number; streak: number }
  | { action: "fatal"; streak: number };

/**
 * What to do after a process ended on its own. A run that lasted
 * `stableAfterMs` clears the crash streak and restarts at once; otherwise the
 * streak grows, each restart waits twice as long, and more than `maxRestarts`
 * quick crashes in a row give up; each wait drawn with `jittered`. `uptimeMs` must come from the monotonic
 * clock (clock.ts): on the wall clock, a boot-time clock set would make
 * every quick crash look stable.
 *
 * A quick `killed` exit grows the streak, so a flood of kills backs off to
 * one restart per `restartDelayMaxMs` as a crash loop does, but it never
 * gives up by itself: on a phone the killer is the OS (phantom processes,
 * low memory), not the service, and the pressure passes. `cause` is the
 * exit's, by default as `exitCause` reads it; where the daemon itself sent
 * the SIGKILL (a missed watchdog) it says so, and that counts as a crash.
 */
export function afterExit(
  spec: RestartSpec,
  exit: Exit,
  uptimeMs: number,
  streak: number,
  random: () => number,
  cause: Cause = exitCause(spec, exit),
): Decision {
  if (!wantsRestart(spec, exit)) return { action: "exit" };
  if (uptimeMs >= spec.stableAfterMs) return { action: "restart", delayMs: 0, streak: 0 };
  const next = streak + 1;
  if (next > spec.maxRestarts && cause !== "killed") return { action: "fatal", streak: next };
  return { action: "restart", delayMs: jittered(spec, backoffDelay(spec, next), random), streak: next };
}

/** How an exit reads in events: `code 1`, `signal SIGKILL`. */
export function describeExit(exit: Exit): string {
  return exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}
