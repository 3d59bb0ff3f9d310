/**
 * The bodies of status-topic messages (CONTRACT.md section 3), built by pure
 * functions from read-only views of the services, their vitals and the
 * daemon's facts: nothing here reads a clock, a process or a socket.
 */
import type { Change } from "../supervisor/machine.js";
import type { Exit } from "../runner/exit.js";
import type { Cause } from "../supervisor/policy.js";
import type { ServiceView } from "../supervisor/supervisor.js";
import type { GroupVitals } from "../stats/proc.js";
import type { GateView } from "../supervisor/gates.js";
import type { DaemonInfo, ServiceEntry } from "./protocol.js";

/** One service as a snapshot lists it; `mono`: the monotonic clock's reading now (clock.ts), which uptimes are measured on. */
export function serviceEntry(svc: ServiceView, pid: number | null, vitals: GroupVitals | undefined, mono: number): ServiceEntry {
  const s = svc.status;
  return {
    name: svc.spec.name,
    state: s.state.name,
    pid,
    restarts: s.restarts,
    exit_code: s.exit?.code ?? null,
    signal: s.exit?.signal ?? null,
    cause: s.cause,
    since: s.since,
    nowait: svc.spec.nowait,
    cpu_percent: vitals?.cpuPercent ?? null,
    rss_bytes: vitals?.rssBytes ?? null,
    uptime_ms: s.state.name === "running" ? mono - s.state.startedAt : null,
    reason: s.state.name === "fatal" ? s.state.reason : null,
    status_text: svc.statusText,
  };
}

/** A service and the pid of its process, as the supervisor tells it. */
export interface ServiceFacts {
  view: ServiceView;
  pid: number | null;
}

/**
 * The `status` message's body: the daemon, then every service with the
 * vitals of its process group from the last tick, then the app a flag named.
 */
export function snapshotBody(
  daemon: DaemonInfo,
  services: Iterable<ServiceFacts>,
  vitals: ReadonlyMap<number, GroupVitals>,
  app: ServiceEntry | null,
  mono: number,
): { daemon: DaemonInfo; services: ServiceEntry[] } {
  const entries: ServiceEntry[] = [];
  for (const { view, pid } of services) entries.push(serviceEntry(view, pid, pid === null ? undefined : vitals.get(pid), mono));
  if (app !== null) entries.push(app);
  return { daemon, services: entries };
}

/** The `event` message's body: one change of one service; `exit` and `cause` of its last process. */
export function eventBody(service: string, change: Change, pid: number | null, exit: Exit | null, cause: Cause | null) {
  return {
    service,
    from: change.from,
    to: change.to,
    pid,
    exit_code: exit?.code ?? null,
    signal: exit?.signal ?? null,
    cause,
    reason: change.reason,
  };
}

/** The `event` message's body for a gate that opened or closed: no service, the gate's name and state. */
export function gateEventBody(gate: string, view: Readonly<GateView>) {
  return {
    service: null,
    gate,
    open: view.open,
    from: view.open ? "closed" : "open",
    to: view.open ? "open" : "closed",
    pid: null,
    exit_code: null,
    signal: null,
    cause: null,
    reason: view.reason,
  } as const;
}

/** `daemon.gates` of a snapshot. */
export function gatesBody(views: ReadonlyMap<string, Readonly<GateView>>): Record<string, GateView> {
  const out: Record<string, GateView> = {};
  for (const [name, v] of views) out[name] = { open: v.open, reason: v.reason, since: v.since };
  return out;
}
