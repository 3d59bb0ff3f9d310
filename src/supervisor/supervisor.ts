/**
 * Owns every service of the manifest: feeds events to the pure machine,
 * carries out the effects it returns, and tells listeners about each change.
 * The gates' states (the green flag's among them) and what each service's
 * `when` makes of them, dependencies, stop order and reload's diff live
 * here, above the machine. `nomonitor` services are a kind of service here
 * too: spawned once what they depend on runs, each time their gate opens,
 * logged, and never watched again (nor listed in snapshots).
 */
import { EventEmitter } from "node:events";
import { join } from "node:path";
import type { Logger } from "pino";
import { rmSync } from "node:fs";
import { diffServices, type ManifestDiff } from "../manifest/diff.js";
import { systemClock, type Clock } from "../clock.js";
import { FLAG_GATE, type ServiceSpec } from "../manifest/spec.js";
import type { ServiceLog, StderrView } from "../runner/output.js";
import { spawnService, type ServiceChild } from "../runner/spawn.js";
import { markedProcesses, signalGroup, stopGroup, stopProcesses, type MarkedProcess } from "../runner/stop.js";
import { startProbe } from "../runner/probe.js";
import { WatchdogFolder } from "../runner/watchdog-files.js";
import { beat, parseNotifyLine, UNARMED, verdict, type Watch } from "./checks.js";
import { initialStatus, transition, type Change, type MachineEvent, type ServiceStatus } from "./machine.js";
import type { Exit } from "../runner/exit.js";
import type { Cause } from "./policy.js";
import { ACTIVE, DOWN } from "./states.js";
import { whenHolds, type Decision, type GateView } from "./gates.js";

export interface SupervisorOptions {
  /** Shell for string commands. */
  shell: string;
  /** The environment under each service's own `env`. */
  env: NodeJS.ProcessEnv;
  /** Opens the log of a service; called once per service, when added (or at its first start, if disabled or nomonitor). */
  output(spec: ServiceSpec): ServiceLog;
  log: Logger;
  /** Wall time for `since`, monotonic time for uptime and backoff; injectable so tests can make the wall clock leap. Default the system clock. */
  clock?: Clock;
  /** Uniform in [0, 1), for the restart jitter; injectable so tests can draw exact delays. Default Math.random. */
  random?: () => number;
  /** A private folder under which each service with a `watchdog` gets its FLOWINIT_WATCHDOG_DIR. */
  watchdogDir: string;
}

export interface Service {
  readonly spec: ServiceSpec;
  status: ServiceStatus;
  /** Should be up: set when its `when` comes to hold, or by a start request; cleared when it stops holding, or by a stop. */
  wanted: boolean;
  child: ServiceChild | null;
  timer: NodeJS.Timeout | null;
  output: ServiceLog | null;
  log: Logger;
  /** This run's watchdog. */
  watch: Watch;
  /** The last `STATUS=` line of this run; null: none yet. */
  statusText: string | null;
  /** Stops this run's `ready: {exec}` probe; null: none running. */
  stopProbe: (() => void) | null;
  /** Its heartbeat files' folder, for a service with a `watchdog`. */
  wd: WatchdogFolder | null;
}

/** What the rest of the daemon may read of a service. */
export type ServiceView = Readonly<Pick<Service, "spec" | "status" | "statusText">>;

export interface ChangeNotice {
  name: string;
  change: Change;
  /** The process the change is about: the new one once running, the one that ended otherwise. */
  pid: number | null;
  exit: Exit | null;
  cause: Cause | null;
}

/** A fire-and-forget service: its spec, its log once it has run, whether its gate wants a run. */
interface FireAndForget {
  spec: ServiceSpec;
  output: ServiceLog | null;
  due: boolean;
}

/** The log line of a change of state: `from -> to`, with its reason. */
function logChange(svc: Service, change: Change | null): void {
  if (change !== null) svc.log.info({ from: change.from, to: change.to, reason: change.reason }, `${change.from} -> ${change.to}`);
}

/** What the log says of group members the daemon may not signal. */
const DENIED = "its process group holds processes of another user (a setuid su?) that the daemon may not signal: left running";

type Waiter = { name: string; test: (s: Service) => boolean; resolve: () => void };

/** A process group just spawned, told before anything else happens (see `liveGroups`). */
export interface SpawnedGroup {
  service: string;
  pid: number;
}

/** A gate that opened or closed, told before any service it stops or starts. */
export interface GateNotice {
  name: string;
  view: Readonly<GateView>;
}

export class Supervisor extends EventEmitter<{ change: [ChangeNotice]; spawned: [SpawnedGroup]; gate: [GateNotice] }> {
  /** The supervised services, in the manifest's order (which snapshots follow). */
  private readonly services = new Map<string, Service>();
  private fireAndForget = new Map<string, FireAndForget>();
  /** Fire-and-forget children still running. */
  private readonly fired = new Set<ServiceChild>();
  /** Every gate, the green flag's (`flag`) first: services run while their `when` holds of these. */
  private readonly gates = new Map<string, GateView>();
  /** Services stopped by request, which a flag does not start again. */
  private readonly held = new Set<string>();
  private waiters: Waiter[] = [];
  /** The clock every reading of the services' times comes from; the daemon's uptimes too. */
  readonly clock: Clock;

  /** Takes the manifest's services for this platform; none runs until `begin` or a flag. */
  constructor(
    specs: ServiceSpec[],
    private readonly opts: SupervisorOptions,
  ) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.gates.set(FLAG_GATE, { open: false, reason: "no green flag yet", since: this.clock.wall() });
    for (const spec of specs) {
      if (spec.nomonitor) this.fireAndForget.set(spec.name, { spec, output: null, due: false });
      else this.add(spec);
    }
  }

  /**
   * Starts what the gates let run now (nowait services, those that wait for
   * a gate closed, ...), fire-and-forget ones included, on the next turn of
   * the loop: a flag raised at start (`--no-wait`, a recovery) is set by then,
   * and what it keeps from running never starts.
   */
  begin(): void {
    for (const svc of this.services.values()) if (svc.spec.enabled && this.holds(svc.spec)) svc.wanted = true;
    for (const f of this.fireAndForget.values()) if (f.spec.enabled && this.holds(f.spec)) f.due = true;
    setImmediate(() => this.reconcile("at start"));
  }

  /**
   * The manifest's gates, at start and after a reload: a gate already known
   * keeps its state, a new one starts as `initial` decides, one no longer in
   * the manifest goes (no service waits for it: the manifest was valid).
   * The green flag's gate is always there.
   */
  defineGates(names: readonly string[], initial: (name: string) => Decision): void {
    const keep = new Set([FLAG_GATE, ...names]);
    for (const name of this.gates.keys()) if (!keep.has(name)) this.gates.delete(name);
    for (const name of names) {
      if (!this.gates.has(name)) this.gates.set(name, { ...initial(name), since: this.clock.wall() });
    }
  }

  /** Every gate, the green flag's first, then the manifest's in its order. */
  gateViews(): ReadonlyMap<string, Readonly<GateView>> {
    return this.gates;
  }

  /**
   * Opens or closes a gate. The services whose `when` asks the other way
   * are no longer wanted, and those not `waiting` are returned for the
   * caller to stop (`stopServices`, then `rearm`). Those asking this way
   * whose `when` now holds are wanted, each fire-and-forget one is due once
   * more, and those whose dependencies hold start, now or (`later`) on the
   * next turn of the loop, so that whoever raised the flag hears back before
   * a hundred spawns; a gate flipped back in between leaves nothing to
   * start. Listeners hear of the flip (`gate`) before any of that. The same state again only starts what it wants (an idempotent
   * green flag). `reason`: what decided it, as the gate's own reason; the
   * services started hear it as `startReason`. An unknown gate (a reload
   * removed it meanwhile) changes nothing.
   */
  setGate(name: string, open: boolean, reason: string, startReason: string, later = false): { flipped: boolean; down: string[] } {
    const gate = this.gates.get(name);
    if (gate === undefined) return { flipped: false, down: [] };
    const flipped = gate.open !== open;
    if (flipped) {
      const view = { open, reason, since: this.clock.wall() };
      this.gates.set(name, view);
      this.emit("gate", { name, view });
    }
    const down: string[] = [];
    for (const svc of this.services.values()) {
      const c = svc.spec.when.find((w) => w.gate === name);
      if (c === undefined) continue;
      if (c.open !== open) {
        if (!flipped) continue;
        svc.wanted = false;
        if (svc.status.state.name !== "waiting") down.push(svc.spec.name);
      } else if (this.holds(svc.spec)) {
        svc.wanted = svc.spec.enabled;
      }
    }
    for (const f of this.fireAndForget.values()) {
      const c = f.spec.when.find((w) => w.gate === name);
      if (c === undefined) continue;
      if (c.open !== open) f.due = false;
      else if (flipped && f.spec.enabled && this.holds(f.spec)) f.due = true;
    }
    if (later) setImmediate(() => this.reconcile(startReason));
    else this.reconcile(startReason);
    return { flipped, down };
  }

  private holds(spec: ServiceSpec): boolean {
    return whenHolds(spec.when, (gate) => this.gates.get(gate)?.open === true);
  }

  /**
   * Services a previous daemon had stopped by request: they stay `stopped`,
   * whatever flag comes, until a request starts them. Names no longer in the
   * manifest are passed over.
   */
  hold(names: string[], reason: string): void {
    for (const name of names) {
      const svc = this.services.get(name);
      if (svc === undefined) continue;
      svc.wanted = false;
      this.held.add(name);
      this.dispatch(svc, { type: "stop", reason, then: "stopped" });
    }
  }

  /** The services stopped by request (or held so by `hold`), until a request or a stop_flag's re-arming frees them. */
  stoppedByRequest(): string[] {
    return [...this.held];
  }

  /** Stops these services, dependents first (those a gate no longer lets run); resolves once they are down. */
  stopServices(names: string[], reason: string): Promise<void> {
    return this.stopInOrder(names, reason);
  }

  /** Stops every service, dependents first (the shutdown). */
  stopAll(reason: string): Promise<void> {
    return this.stopInOrder([...this.services.keys()], reason);
  }

  /**
   * A reload: the new manifest's services against the current ones, by name.
   * Removed services stop and go, changed ones stop and come back under
   * their new spec, added ones come, unchanged ones and their processes are
   * left alone; what comes starts when its gate wants it. `aborted` is asked
   * after the stops: a shutdown decided meanwhile starts nothing new.
   */
  apply(specs: ServiceSpec[], reason: string, aborted: () => boolean): { diff: ManifestDiff; done: Promise<void> } {
    const monitored = specs.filter((s) => !s.nomonitor);
    const diff = diffServices([...this.services.values()].map((s) => s.spec), monitored);
    const byName = new Map(monitored.map((s) => [s.name, s]));
    const replaced = [...diff.removed, ...diff.changed];
    const done = (async () => {
      await this.stopInOrder(replaced, reason);
      if (aborted()) return;
      await Promise.all(replaced.map((name) => this.remove(name)));
      for (const name of [...diff.added, ...diff.changed]) {
        const svc = this.add(byName.get(name)!);
        svc.wanted = svc.spec.enabled && this.holds(svc.spec);
      }
      this.reorder(monitored.map((s) => s.name));
      // A fire-and-forget service keeps its log and whether it was still due, under its new spec.
      const before = this.fireAndForget;
      this.fireAndForget = new Map();
      for (const spec of specs.filter((s) => s.nomonitor)) {
        const was = before.get(spec.name);
        this.fireAndForget.set(spec.name, { spec, output: was?.output ?? null, due: was?.due ?? false });
      }
      for (const [name, f] of before) if (!this.fireAndForget.has(name)) void f.output?.close();
      this.reconcile(reason);
    })();
    return { diff, done };
  }

  /** A new service, in `waiting` (`stopped` when disabled), not yet wanted. */
  private add(spec: ServiceSpec): Service {
    const svc: Service = {
      spec,
      status: initialStatus(this.clock.wall()),
      wanted: false,
      child: null,
      timer: null,
      // Opened now rather than at the first start: a green flag then only spawns.
      output: spec.enabled ? this.opts.output(spec) : null,
      log: this.opts.log.child({ service: spec.name }),
      watch: UNARMED,
      statusText: null,
      stopProbe: null,
      wd: spec.watchdogMs === null ? null : new WatchdogFolder(join(this.opts.watchdogDir, spec.name)),
    };
    this.services.set(spec.name, svc);
    if (!spec.enabled) this.dispatch(svc, { type: "stop", reason: "disabled", then: "stopped" });
    return svc;
  }

  /** Forgets a service that is down (stop it first); resolves once its log is closed. */
  private async remove(name: string): Promise<void> {
    const svc = this.must(name);
    if (svc.timer) clearTimeout(svc.timer);
    if (svc.wd !== null) rmSync(svc.wd.dir, { recursive: true, force: true });
    this.services.delete(name);
    this.held.delete(name);
    await svc.output?.close();
  }

  /**
   * Stops the processes of these services found by their environment's
   * marker (and `also`): those that left their process group, which a stop
   * of the group does not reach. At shutdown, once every group is down, for
   * every supervised service; after a stop whose pipes stayed open, for that
   * one. Fire-and-forget services are left alone: they are meant to outlive.
   */
  async stopStrays(specs: ServiceSpec[] = [...this.services.values()].map((s) => s.spec), also: (p: MarkedProcess) => boolean = () => true): Promise<void> {
    // The daemon's endpoints tell its services' processes from those of another daemon's same-named ones.
    const control = this.opts.env.FLOWINIT_CONTROL;
    if (control === undefined || specs.length === 0) return;
    const marked = markedProcesses([`FLOWINIT_CONTROL=${control}`]);
    await Promise.all(
      specs.map(async (spec) => {
        const pids = marked.filter((p) => p.env.has(`FLOWINIT_SERVICE=${spec.name}`) && also(p)).map((p) => p.pid);
        if (pids.length === 0) return;
        this.opts.log.child({ service: spec.name }).warn({ pids }, `stopping ${pids.length} process${pids.length === 1 ? "" : "es"} that left its process group`);
        await stopProcesses(pids, spec.stopSignal, spec.stopTimeoutMs);
      }),
    );
  }

  /**
   * At shutdown, once all are down: lets go of every child's pipes (what
   * holds them now escaped every stop) and closes every service's log.
   */
  async closeLogs(): Promise<void> {
    for (const svc of this.services.values()) svc.child?.release();
    for (const child of this.fired) child.release();
    const logs = [...this.services.values(), ...this.fireAndForget.values()].map((s) => s.output);
    await Promise.all(logs.map((l) => l?.close()));
  }

  /** Puts the services in this order (the manifest's), which snapshots follow. */
  private reorder(names: string[]): void {
    const entries = names.map((n) => [n, this.must(n)] as const);
    this.services.clear();
    for (const [n, svc] of entries) this.services.set(n, svc);
  }

  /** A supervised service; undefined for a name the supervisor does not supervise. */
  get(name: string): ServiceView | undefined {
    return this.services.get(name);
  }

  /** Every supervised service, in the manifest's order. */
  views(): Iterable<ServiceView> {
    return this.services.values();
  }

  /**
   * Whether the service's gates let it run now: it is enabled, and its
   * `when` holds. A stop by request leaves them open: the service should run
   * and does not (health.ts counts it down).
   */
  gateOpen(svc: ServiceView): boolean {
    return svc.spec.enabled && this.holds(svc.spec);
  }

  /** The last complete stderr lines of a supervised service; undefined before its log is opened. */
  stderrOf(name: string): StderrView | undefined {
    return this.services.get(name)?.output?.stderr;
  }

  /**
   * The pid of the service's process, wherever it is asked for: the one that
   * runs, the one starting, or the one a stop is waiting on.
   */
  pidOf(svc: ServiceView): number | null {
    const st = svc.status.state;
    if (st.name === "running") return st.pid;
    if (st.name === "starting" || st.name === "stopping") return (svc as Service).child?.pid ?? null;
    return null;
  }

  /** Every process group a service may have alive now, for the state file. */
  liveGroups(): { service: string; pid: number }[] {
    const groups: { service: string; pid: number }[] = [];
    for (const svc of this.services.values()) {
      const pid = svc.child?.pid;
      if (pid !== undefined && svc.child!.exit === null) groups.push({ service: svc.spec.name, pid });
    }
    return groups;
  }

  /** A start request: starts now, whatever the dependencies, as an operator asked. */
  start(name: string, reason: string): Promise<void> {
    const svc = this.must(name);
    svc.wanted = true;
    this.held.delete(name);
    this.dispatch(svc, { type: "start", reason });
    return this.until(name, (s) => s.status.state.name !== "starting");
  }

  restart(name: string, reason: string): Promise<void> {
    const svc = this.must(name);
    svc.wanted = true;
    this.held.delete(name);
    this.dispatch(svc, { type: "restart", reason });
    return this.until(name, (s) => s.status.state.name !== "starting" && s.status.state.name !== "stopping");
  }

  /** Resolves once the process tree that ran is gone (see `halt`). */
  stop(name: string, reason: string): Promise<void> {
    const svc = this.must(name);
    svc.wanted = false;
    this.held.add(name);
    return this.halt(svc, reason);
  }

  /**
   * Stops one service; resolves when it leaves `stopping`, whether for
   * `stopped` or, if a start came meanwhile, for `starting` again.
   */
  private halt(svc: Service, reason: string): Promise<void> {
    this.dispatch(svc, { type: "stop", reason, then: "stopped" });
    return this.until(svc.spec.name, (s) => s.status.state.name !== "stopping");
  }

  /**
   * Stops services dependents first: a service is stopped only once every
   * service that depends on it (among `names`) is down. One wanted again
   * before its turn (a green flag during a stop_flag) is left to run.
   */
  private async stopInOrder(names: string[], reason: string): Promise<void> {
    const set = new Set(names);
    for (const name of names) this.must(name).wanted = false;
    const stopping = new Map<string, Promise<void>>();
    const stopOne = (name: string): Promise<void> => {
      let p = stopping.get(name);
      if (p === undefined) {
        const dependents = [...set].filter((d) => this.must(d).spec.dependsOn.some((dep) => dep.name === name));
        p = Promise.all(dependents.map(stopOne)).then(() => {
          const svc = this.services.get(name);
          return svc === undefined || svc.wanted ? undefined : this.halt(svc, reason);
        });
        stopping.set(name, p);
      }
      return p;
    };
    await Promise.all(names.map(stopOne));
  }

  /**
   * Puts these services, once down (stopped, exited, fatal), back in
   * `waiting` (after a stop_flag or a gate's close), and starts those the
   * gates want meanwhile. One started by a request in the meantime is left
   * running; a name a reload removed meanwhile is passed over.
   */
  rearm(names: string[], reason: string): void {
    for (const name of names) {
      const svc = this.services.get(name);
      if (svc === undefined || !DOWN.has(svc.status.state.name)) continue;
      this.held.delete(name);
      this.dispatch(svc, { type: "stop", reason, then: "waiting" });
    }
    this.reconcile(reason);
  }

  /** Starts every wanted, waiting service whose dependencies hold, and fires what is due. */
  private reconcile(reason: string): void {
    for (const svc of this.services.values()) {
      if (svc.wanted && svc.status.state.name === "waiting" && this.dependenciesHold(svc.spec)) {
        this.dispatch(svc, { type: "start", reason });
      }
    }
    for (const f of this.fireAndForget.values()) {
      if (f.due && this.dependenciesHold(f.spec)) {
        f.due = false;
        this.fire(f);
      }
    }
  }

  /**
   * Whether every condition of `spec` on its dependencies holds; one this
   * platform does not supervise blocks nothing. `started`: spawned, whether
   * or not ready yet (a service without a ready check is `running` at once);
   * a oneshot that completed was started too, and keeps it.
   */
  private dependenciesHold(spec: ServiceSpec): boolean {
    return spec.dependsOn.every(({ name, condition }) => {
      const status = this.services.get(name)?.status;
      if (status === undefined) return true;
      const completed = status.state.name === "exited" && status.cause === "exit";
      switch (condition) {
        case "started":
          return status.state.name === "running" || (status.state.name === "starting" && status.state.pid !== undefined) || completed;
        case "ready":
          return status.state.name === "running";
        case "completed":
          return completed;
      }
    });
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
    const step = transition(svc.spec, svc.status, ev, { wall: this.clock.wall(), mono: this.clock.mono() }, this.opts.random ?? Math.random);
    svc.status = step.status;
    // Listeners hear of a change before its effects run, so an event about an
    // exit still sees the process that exited, not its replacement.
    if (step.change !== null) {
      const { from, to } = step.change;
      const pid = to === "running" ? this.pidOf(svc) : ACTIVE.has(from) ? (svc.child?.pid ?? null) : null;
      // Subscribers first: the event need not wait for the log line's formatting.
      this.emit("change", { name: svc.spec.name, change: step.change, pid, exit: svc.status.exit, cause: svc.status.cause });
    }
    // Nor need a restart's spawn (50 us of the path from an exit to its restart): the line comes after it.
    const spawns = step.effects.some((e) => e.type === "spawn");
    if (!spawns) logChange(svc, step.change);
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
        case "sigkill":
          svc.log.warn(`${effect.reason}: killing its process group`);
          if (svc.child?.pid !== undefined && signalGroup(svc.child.pid, "SIGKILL") === "denied") svc.log.error(DENIED);
          break;
      }
    }
    if (spawns) logChange(svc, step.change);
    // A ready check lasts while its run is starting.
    if (svc.status.state.name !== "starting") this.endReadyCheck(svc);
    // A service spawned but not yet ready is `started` for its dependents.
    if (ev.type === "spawned" && svc.spec.ready !== null) this.reconcile(`${svc.spec.name} is started`);
    if (step.change === null) return;
    const { from, to } = step.change;
    if (this.waiters.length > 0) {
      this.waiters = this.waiters.filter((w) => {
        if (w.name !== svc.spec.name || !w.test(svc)) return true;
        w.resolve();
        return false;
      });
    }
    // Leaving `running` covers a oneshot's completion: node reports a spawn before any exit.
    if (to === "running" || from === "running") this.reconcile(`${svc.spec.name} is ${to}`);
  }

  private spawn(svc: Service): void {
    svc.output ??= this.opts.output(svc.spec);
    svc.watch = UNARMED;
    svc.statusText = null;
    svc.wd?.reset();
    const output = svc.output;
    const ready = svc.spec.ready;
    const child: ServiceChild = spawnService(
      svc.spec,
      { shell: this.opts.shell, env: this.opts.env, output, watchdogDir: svc.wd?.dir },
      {
        onSpawn: (pid) => {
          if (svc.child !== child) return;
          this.dispatch(svc, { type: "spawned", pid });
          if (ready?.kind === "exec" && svc.status.state.name === "starting") {
            const env = { ...this.opts.env, ...svc.spec.env, FLOWINIT_SERVICE: svc.spec.name };
            svc.stopProbe = startProbe(ready, { shell: this.opts.shell, cwd: svc.spec.cwd, env }, () => {
              svc.stopProbe = null;
              if (svc.child === child) this.dispatch(svc, { type: "ready", reason: `ready: probe \`${ready.command}\` succeeded` });
            });
          }
        },
        onNotify: (line) => {
          if (svc.child === child) this.notified(svc, line);
        },
        onError: (message) => {
          if (svc.child === child) this.dispatch(svc, { type: "spawn_failed", message });
        },
        onExit: (exit) => {
          // A stop in progress reports the exit itself, once the whole group is gone.
          if (svc.child !== child || svc.status.state.name === "stopping") return;
          // Whatever the leader left behind in its group goes with it, before any restart.
          if (child.pid !== undefined && signalGroup(child.pid, "SIGKILL") === "denied") {
            svc.log.error(DENIED);
          }
          this.dispatch(svc, { type: "exited", exit });
        },
      },
    );
    svc.child = child;
    if (ready?.kind === "log_line") {
      const pattern = new RegExp(ready.pattern);
      output.watchLines((line) => {
        if (svc.child === child && pattern.test(line)) this.dispatch(svc, { type: "ready", reason: `ready: log line matched /${ready.pattern}/` });
      });
    }
    // The pid is known once spawnService returns: the daemon records it before it could die with the group unknown.
    if (child.pid !== undefined) this.emit("spawned", { service: svc.spec.name, pid: child.pid });
  }

  /** A line on the service's notify descriptor: readiness, a heartbeat or its status text. */
  private notified(svc: Service, line: string): void {
    const msg = parseNotifyLine(line);
    if (msg === null) return;
    switch (msg.type) {
      case "ready":
        if (svc.spec.ready?.kind === "fd") this.dispatch(svc, { type: "ready", reason: "ready: READY=1" });
        break;
      case "watchdog":
        if (svc.spec.watchdogMs !== null) this.heartbeat(svc);
        break;
      case "status":
        svc.statusText = msg.text;
        break;
    }
  }

  /** A heartbeat: one that comes too late finds the watchdog already missed, as a tick would have. */
  private heartbeat(svc: Service): void {
    const now = this.clock.mono();
    const missed = verdict(svc.spec, svc.status.state, svc.watch, now);
    if (missed?.cause === "watchdog") this.dispatch(svc, { type: "condemn", verdict: missed });
    else svc.watch = beat(now);
  }

  /**
   * On every status tick: the heartbeat files of the services with a
   * watchdog, then every health rule. Services without `ready` or
   * `watchdog` cost a test of two fields.
   */
  checkHealth(): void {
    for (const svc of this.services.values()) {
      const { ready, watchdogMs } = svc.spec;
      if (ready === null && watchdogMs === null) continue;
      const st = svc.status.state.name;
      if (st !== "starting" && st !== "running") continue;
      if (svc.wd?.kicked()) this.heartbeat(svc);
      const missed = verdict(svc.spec, svc.status.state, svc.watch, this.clock.mono());
      if (missed !== null) this.dispatch(svc, { type: "condemn", verdict: missed });
    }
  }

  /** Lets go of a run's ready check: its probe, its reading of the log. */
  private endReadyCheck(svc: Service): void {
    if (svc.stopProbe !== null) {
      svc.stopProbe();
      svc.stopProbe = null;
    }
    if (svc.spec.ready?.kind === "log_line") svc.output?.watchLines(null);
  }

  /** Spawns a fire-and-forget service: its log is opened at its first run and shared by the runs after. */
  private fire(f: FireAndForget): void {
    f.output ??= this.opts.output(f.spec);
    const log = this.opts.log.child({ service: f.spec.name });
    const child = spawnService(
      f.spec,
      { shell: this.opts.shell, env: this.opts.env, output: f.output },
      {
        onSpawn: (pid) => log.info({ pid }, "started (nomonitor)"),
        onError: (message) => log.error(`cannot spawn: ${message}`),
        onExit: (exit) => log.info(exit, "ended (nomonitor)"),
      },
    );
    this.fired.add(child);
    void child.closed.then(() => this.fired.delete(child));
  }

  private kill(svc: Service): void {
    const child = svc.child;
    if (child === null) return;
    stopGroup(child, svc.spec.stopSignal, svc.spec.stopTimeoutMs).then(
      async ({ exit, escalated, denied, pipesHeld }) => {
        if (svc.child !== child) return;
        if (escalated) svc.log.warn(`did not stop within ${svc.spec.stopTimeoutMs}ms; killed its process group`);
        if (denied) svc.log.error(DENIED);
        // Its group is gone but someone holds its pipes: a process that left the group.
        if (pipesHeld) await this.stopStrays([svc.spec], (p) => p.pgid !== child.pid);
        if (svc.child !== child) return;
        this.dispatch(svc, { type: "exited", exit, escalated, denied });
      },
      (e: unknown) => {
        // A bug; the service must not stay `stopping` for it.
        svc.log.error({ err: e }, "stop failed");
        if (svc.child === child) this.dispatch(svc, { type: "exited", exit: child.exit ?? { code: null, signal: null } });
      },
    );
  }
}
