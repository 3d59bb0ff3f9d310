/**
 * The driver's view (CONTRACT.md section 9) as pure functions of read-only
 * service views: whether the stack is whole (`health`), and which changes
 * are failures that a person should hear of (hooks, alerts). Which services
 * should run now is the supervisor's to say and is passed in.
 */
import type { Health } from "../bus/protocol.js";
import type { Change } from "./machine.js";
import type { Cause } from "./policy.js";
import { endsRun } from "./states.js";
import type { ServiceView } from "./supervisor.js";

/** A service and whether it should run now: its gate open, and the daemon not shutting down. */
export interface Gated {
  view: ServiceView;
  shouldRun: boolean;
}

/**
 * Up: `running`, or a oneshot that completed (exited with a success code),
 * which has done what it was for.
 */
export function isUp({ spec, status }: ServiceView): boolean {
  return status.state.name === "running" || (spec.oneshot && status.state.name === "exited" && status.cause === "exit");
}

/**
 * The health rule: down are the critical services that should run now and
 * are not up, whatever the reason (one stopped by request too: the stack is
 * not whole). A service whose gate is closed is not missed.
 */
export function healthOf(services: Iterable<Gated>): Health {
  const down: string[] = [];
  for (const { view, shouldRun } of services) {
    if (view.spec.critical && shouldRun && !isUp(view)) down.push(view.spec.name);
  }
  return { ok: down.length === 0, down };
}

/**
 * Why the health is what it is, for the `health` message: `modeld backoff
 * (killed), plannerd waiting`, each with the cause of its last exit.
 */
export function healthReason(health: Health, views: Iterable<ServiceView>): string {
  if (health.ok) return "every critical service that should run is up";
  const byName = new Map([...views].map((v) => [v.spec.name, v]));
  const parts = health.down.map((name) => {
    const status = byName.get(name)?.status;
    if (status === undefined) return name;
    // While it stops, its cause is still that of the run before.
    const cause = status.cause === null || status.state.name === "stopping" ? "" : ` (${status.cause})`;
    return `${name} ${status.state.name}${cause}`;
  });
  return parts.join(", ");
}

/** The causes of an ended run that are a failure of the service, or of what runs it. */
const FAILED: ReadonlySet<Cause> = new Set(["crash", "killed", "watchdog", "not_ready"]);

/**
 * Whether a change is a failure: a run that ended by a crash, a kill the
 * daemon did not send, a missed watchdog or a failed readiness, or any way
 * into `fatal`. A clean exit and a stop are not; neither is a run that has
 * not come up yet.
 */
export function isFailure(change: Change, cause: Cause | null): boolean {
  if (change.to === "fatal") return true;
  return endsRun(change.from, change.to) && cause !== null && FAILED.has(cause);
}
