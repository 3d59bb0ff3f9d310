/**
 * Owns every supervised service: feeds events to the pure machine, carries
 * out the effects it returns, and tells listeners about each change. The
 * green flag, dependencies and stop order live here, above the machine.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { systemClock, type Clock } from "../clock.js";
import type { ServiceSpec } from "../manifest/spec.js";
import type { ServiceLog } from "../runner/output.js";
import { spawnService, type ServiceChild } from "../runner/spawn.js";
import { signalGroup, stopGroup } from "../runner/stop.js";
import { initialStatus, transition, type Change, type MachineEvent, type ServiceStatus } from "./machine.js";
import { ACTIVE, DOWN } from "./states.js";

export interface SupervisorOptions {
  /** Shell for string commands. */
  shell: string;
  /** The environment under each service's own `env`. */
  env: NodeJS.ProcessEnv;
  /** Opens the log of a service; called once per service, when added (or at its first start, if disabled). */
  output(spec: ServiceSpec): ServiceLog;
  log: Logger;
  /** Wall time for `since`, monotonic time for uptime and backoff; injectable so tests can make the wall clock leap. Default the system clock. */
  clock?: Clock;
}

export interface Service {
  readonly spec: ServiceSpec;
  status: ServiceStatus;
  /** Should be up: started by nowait, the flag or a command; cleared by a stop. */
  wanted: boolean;
  child: ServiceChild | null;
  timer: NodeJS.Timeout | null;
  output: ServiceLog | null;
  log: Logger;
}

export interface ChangeNotice {
  service: Service;
  change: Change;
}

type Waiter = { name: string; test: (s: Service) => boolean; resolve: () => void };

export class Supervisor extends EventEmitter<{ change: [ChangeNotice] }> {
  readonly services = new Map<string, Service>();
  private waiters: Waiter[] = [];
  /** The clock every reading of the services' times comes from; the daemon's uptimes too. */
  readonly clock: Clock;

  constructor(
    specs: ServiceSpec[],
    private readonly opts: SupervisorOptions,
  ) {
    super();
    this.clock = opts.clock ?? systemClock;
    for (const spec of specs) this.add(spec);
  }

  /** A new service, in `waiting` (`stopped` when disabled), not yet wanted. */
  add(spec: ServiceSpec): Service {
    const svc: Service = {
      spec,
      status: initialStatus(this.clock.wall()),
      wanted: false,
      child: null,
      timer: null,
      // Opened now rather than at the first start: a green flag then only spawns.
      output: spec.enabled ? this.opts.output(spec) : null,
      log: this.opts.log.child({ service: spec.name }),
    };
    this.services.set(spec.name, svc);
    if (!spec.enabled) this.dispatch(svc, { type: "stop", reason: "disabled", then: "stopped" });
    return svc;
  }

  /** Forgets a service that is down (stop it first); resolves once its log is closed. */
  async remove(name: string): Promise<void> {
    const svc = this.must(name);
    if (svc.timer) clearTimeout(svc.timer);
    this.services.delete(name);
    await svc.output?.close();
  }

  /** Closes every service's log: at shutdown, once all are down. */
  async closeLogs(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.output?.close()));
  }

  /** Puts the services in this order (the manifest's), which snapshots follow. */
  reorder(names: string[]): void {
    const entries = names.map((n) => [n, this.must(n)] as const);
    this.services.clear();
    for (const [n, svc] of entries) this.services.set(n, svc);
  }

  get(name: string): Service | undefined {
    return this.services.get(name);
  }

  /** Marks services wanted and starts those whose dependencies run. */
  want(names: Iterable<string>, reason: string): void {
    for (const name of names) {
      const svc = this.services.get(name);
      if (svc) svc.wanted = true;
    }
    this.reconcile(reason);
  }

  /** A start request: starts now, whatever the dependencies, as an operator asked. */
  start(name: string, reason: string): Promise<void> {
    const svc = this.must(name);
    svc.wanted = true;
    this.dispatch(svc, { type: "start", reason });
    return this.until(name, (s) => s.status.state.name !== "starting");
  }

  restart(name: string, reason: string): Promise<void> {
    const svc = this.must(name);
    svc.wanted = true;
    this.dispatch(svc, { type: "restart", reason });
    return this.until(name, (s) => s.status.state.name !== "starting" && s.status.state.name !== "stopping");
  }

  /** Resolves once the service's process tree is gone. */
  stop(name: string, reason: string): Promise<void> {
    const svc = this.must(name);
    svc.wanted = false;
    this.dispatch(svc, { type: "stop", reason, then: "stopped" });
    return this.until(name, (s) => !ACTIVE.has(s.status.state.name));
  }

  /**
   * Stops services dependents first: a service is stopped only once every
   * service that depends on it (among `names`) is down.
   */
  async stopInOrder(names: string[], reason: string): Promise<void> {
    const set = new Set(names);
    for (const name of names) this.must(name).wanted = false;
    const stopping = new Map<string, Promise<void>>();
    const stopOne = (name: string): Promise<void> => {
      let p = stopping.get(name);
      if (p === undefined) {
        const dependents = [...set].filter((d) => this.must(d).spec.dependsOn.includes(name));
        p = Promise.all(dependents.map(stopOne)).then(() => this.stop(name, reason));
        stopping.set(name, p);
      }
      return p;
    };
    await Promise.all(names.map(stopOne));
  }

  /**
   * Puts the services that are down (stopped, exited, fatal) back in
   * `waiting`, and starts those a flag wants meanwhile. One started by a
   * request in the meantime is left running.
   */
  rearm(names: string[], reason: string): void {
    for (const name of names) {
      const svc = this.must(name);
      if (DOWN.has(svc.status.state.name)) this.dispatch(svc, { type: "stop", reason, then: "waiting" });
    }
    this.reconcile(reason);
  }

  /** Starts every wanted, waiting service whose dependencies are running. */
  private reconcile(reason: string): void {
    for (const svc of this.services.values()) {
      if (svc.wanted && svc.status.state.name === "waiting" && this.dependenciesRunning(svc.spec)) {
        this.dispatch(svc, { type: "start", reason });
      }
    }
  }

  /** Whether every dependency of `spec` runs; one this platform does not supervise blocks nothing. */
  dependenciesRunning(spec: ServiceSpec): boolean {
    return spec.dependsOn.every((d) => (this.services.get(d)?.status.state.name ?? "running") === "running");
  }

  private must(name: string): Service {
    const svc = this.services.get(name);
    // Callers check names against the map first; an unknown one here is a bug.
    if (svc === undefined) throw new Error(`no service ${name}`);
    return svc;
  }

  private until(name: string, test: (s: Service) => boolean): Promise<void> {
    const svc = this.must(name);
    if (test(svc)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ name, test, resolve }));
  }

  private dispatch(svc: Service, ev: MachineEvent): void {
    const step = transition(svc.spec, svc.status, ev, { wall: this.clock.wall(), mono: this.clock.mono() });
    svc.status = step.status;
    // Listeners hear of a change before its effects run, so an event about an
    // exit still sees the process that exited, not its replacement.
    if (step.change !== null) {
      const { from, to, reason } = step.change;
      // Subscribers first: the event need not wait for the log line's formatting.
      this.emit("change", { service: svc, change: step.change });
      svc.log.info({ from, to, reason }, `${from} -> ${to}`);
    }
    for (const effect of step.effects) {
      switch (effect.type) {
        case "spawn":
          this.spawn(svc);
          break;
        case "kill":
          this.kill(svc);
          break;
        case "schedule_restart":
          svc.timer = setTimeout(() => {
            svc.timer = null;
            this.dispatch(svc, { type: "backoff_elapsed" });
          }, effect.delayMs);
          break;
        case "cancel_restart":
          if (svc.timer) clearTimeout(svc.timer);
          svc.timer = null;
          break;
      }
    }
    if (step.change === null) return;
    const { from, to } = step.change;
    if (this.waiters.length > 0) {
      this.waiters = this.waiters.filter((w) => {
        if (w.name !== svc.spec.name || !w.test(svc)) return true;
        w.resolve();
        return false;
      });
    }
    if (to === "running" || from === "running") this.reconcile(`${svc.spec.name} is ${to}`);
  }

  private spawn(svc: Service): void {
    svc.output ??= this.opts.output(svc.spec);
    const child: ServiceChild = spawnService(
      svc.spec,
      { shell: this.opts.shell, env: this.opts.env, output: svc.output },
      {
        onSpawn: (pid) => {
          if (svc.child === child) this.dispatch(svc, { type: "spawned", pid });
        },
        onError: (message) => {
          if (svc.child === child) this.dispatch(svc, { type: "spawn_failed", message });
        },
        onExit: (exit) => {
          // A stop in progress reports the exit itself, once the whole group is gone.
          if (svc.child !== child || svc.status.state.name === "stopping") return;
          // Whatever the leader left behind in its group goes with it, before any restart.
          if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
          this.dispatch(svc, { type: "exited", exit });
        },
      },
    );
    svc.child = child;
  }

  private kill(svc: Service): void {
    const child = svc.child;
    if (child === null) return;
    stopGroup(child, svc.spec.stopSignal, svc.spec.stopTimeoutMs).then(
      ({ exit, escalated }) => {
        if (svc.child !== child) return;
        if (escalated) svc.log.warn(`did not stop within ${svc.spec.stopTimeoutMs}ms; killed its process group`);
        this.dispatch(svc, { type: "exited", exit, escalated });
      },
      (e: unknown) => svc.log.error({ err: e }, "stop failed"),
    );
  }
}
