/**
 * The daemon: wiring only. It binds the sockets, turns OS signals into
 * operations, runs the status tick (which also decides the reading gates),
 * and carries out what the lifecycle
 * (supervisor/lifecycle.ts, the one place that decides how operations
 * overlap) tells it, one operation that changes services at a time.
 * Requests are answered in requests.ts; services are owned by the
 * Supervisor; message bodies are built in bus/snapshot.ts.
 */
import { mkdirSync } from "node:fs";
import type { Logger } from "pino";
import { systemClock, type Clock } from "./clock.js";
import { EXIT, formatDiagnostic, InvalidManifest, UserError } from "./errors.js";
import { createLogger } from "./log.js";
import { BIN_PATH, VERSION } from "./package.js";
import { loadManifest } from "./manifest/index.js";
import { DEFAULT_STOP } from "./manifest/schema.js";
import { FLAG_GATE, type Manifest, type Platform, type ServiceSpec, type Settings } from "./manifest/spec.js";
import { curveServerOptions, readAuthorizedKeys } from "./bus/auth.js";
import { ControlServer } from "./bus/control.js";
import { FlagPull } from "./bus/flag-pull.js";
import { StatusPublisher } from "./bus/status.js";
import type { DaemonInfo, ServiceEntry } from "./bus/protocol.js";
import { eventBody, gateEventBody, gatesBody, serviceEntry, snapshotBody } from "./bus/snapshot.js";
import { sendRaw } from "./client/client.js";
import { currentHost, runtimeDir, shellFor, type Host } from "./platform/platform.js";
import { isTcp } from "./platform/endpoints.js";
import { bootId } from "./platform/boot.js";
import { sameProcess, startTime } from "./platform/process.js";
import { recovery, stopLeftovers, StateFile, type DaemonFacts, type Recovery } from "./runner/recover.js";
import { openServiceLog, serviceLogPath, type ServiceLog } from "./runner/output.js";
import { DeviceSampler, type Probes } from "./stats/device.js";
import { ProcessSampler, type GroupVitals } from "./stats/proc.js";
import { Supervisor, type ChangeNotice, type GateNotice } from "./supervisor/supervisor.js";
import { ExternalApp } from "./supervisor/external.js";
import { decideGate, flipReason, probesFor, type GateView, type ReadingGate, type Readings } from "./supervisor/gates.js";
import { INITIAL_LIFE, isFlip, lifeStep, SHUTTING_DOWN, type Input, type Life, type Op } from "./supervisor/lifecycle.js";
import { WakeLock } from "./platform/wake-lock.js";
import { handleRequest, type Outcome } from "./requests.js";
import { DriverView } from "./driver-view.js";
import { historyPath } from "./stats/history.js";
import { shQuote } from "./platform/service-files.js";
import { resolveOptions, setUpCurve, type Curve, type DaemonOptions, type Endpoints, type Resolved } from "./daemon-options.js";

/** Runs the daemon until shutdown; resolves with the exit code. `started` is called once it has started its `nowait` services. */
export async function runDaemon(opts: DaemonOptions, started?: () => void): Promise<number> {
  const daemon = await Daemon.start(opts);
  // The start's spawns run on the next turn (Supervisor.begin); queued after them, `started` comes once they are done.
  if (started) setImmediate(started);
  return daemon.done;
}

/** An operation waiting for its turn, and who waits for its outcome. */
interface Pending {
  op: Op;
  settle: (outcome: Outcome) => void;
}

const OK: Outcome = { ok: true };
/** An operation the lifecycle would not carry out. */
const refused = (why: string): Outcome => ({ ok: false, code: "bad_request", message: why });
const REFUSED_SHUTTING_DOWN = refused(SHUTTING_DOWN);

class Daemon {
  private life: Life = INITIAL_LIFE;
  /** Operations held behind the busy one, oldest first. */
  private queue: Pending[] = [];
  /** Set by a shutdown: the busy operation starts nothing more. */
  private aborted = false;
  private readonly startedAt: number;
  private tick: NodeJS.Timeout | null = null;
  private exitWith!: (code: number) => void;
  /** Resolves with the exit code once the daemon has shut down. */
  readonly done = new Promise<number>((r) => (this.exitWith = r));
  private readonly supervisor: Supervisor;
  private readonly status: StatusPublisher;
  private readonly control: ControlServer;
  private readonly flagPull: FlagPull;
  private readonly procs = new ProcessSampler();
  private readonly device: DeviceSampler;
  /** The manifest's gates that the device's readings decide, and what the sampler reads for them. */
  private readingGates: ReadingGate[] = [];
  private probes: Probes = probesFor([]);
  /**
   * Whether each reading gate was open at its last decision: what the next
   * tick's hysteresis starts from. It may run ahead of the supervisor's
   * state while the flip waits behind a reload.
   */
  private observed = new Map<string, boolean>();
  private readonly wakeLock: WakeLock | null;
  /** Process vitals of the last tick, by process group; change-driven snapshots reuse them. */
  private vitals = new Map<number, GroupVitals>();
  /** The Android app named by the last green flag with a pid. */
  private app: ExternalApp | null = null;
  /** The pid of the daemon that died uncleanly before this one, when this one took over from it. */
  private recoveredFrom: number | null = null;
  /** The facts last written to the state file, as JSON. */
  private savedFacts = "";
  private manifest: Manifest;
  private readonly endpoints: Endpoints;
  private readonly platform: Platform;
  private readonly logDir: string;
  /** The services' process groups and what the daemon was told, for the next daemon should this one be killed. */
  private readonly state: StateFile;
  /** Health, the history of exits, hooks and the phone's notification. */
  private readonly driver: DriverView;

  private constructor(
    r: Resolved,
    host: Host,
    private readonly log: Logger,
    private readonly curve: Curve | null,
    private readonly clock: Clock,
  ) {
    this.startedAt = clock.wall();
    ({ manifest: this.manifest, endpoints: this.endpoints, platform: this.platform, logDir: this.logDir } = r);
    this.state = new StateFile(runtimeDir(host), this.endpoints.control[0]!);
    // Services that run `flowinit` or the client API reach their own daemon, whatever endpoints it was given.
    // Copied once: reading process.env is a native call per variable, and every spawn would pay it.
    const env = { ...host.env, FLOWINIT_CONTROL: this.endpoints.control.join(","), FLOWINIT_STATUS: this.endpoints.status.join(",") };
    this.supervisor = new Supervisor(this.here(this.manifest), { shell: shellFor(host), env, output: (s) => this.openLog(s), log, clock, watchdogDir: this.state.watchdogDir });
    this.status = new StatusPublisher(() => this.statusMessage(), log, curve && curveServerOptions(curve.keys, "status"));
    this.driver = new DriverView({
      supervisor: this.supervisor,
      settings: () => this.manifest.settings,
      phase: () => this.life.phase,
      logDir: this.logDir,
      log,
      clock,
      shell: shellFor(host),
      env,
      historyFile: historyPath(this.state.path),
      stopAction: stopAction(this.endpoints.control),
      publish: (topic, body) => this.status.publish(topic, body),
    });
    this.control = new ControlServer((req, style) => handleRequest(req, style, this), log, curve && curveServerOptions(curve.keys, "control"));
    // The words go the control socket's way, in plain style; their ACK has no one to go to.
    this.flagPull = new FlagPull((word) => void handleRequest(word, "plain", this), log, curve && curveServerOptions(curve.keys, "flag_pull"));
    this.device = new DeviceSampler({ root: r.deviceRoot });
    this.wakeLock = this.manifest.settings.wakeLock === "while_flag" ? new WakeLock(host.env, log) : null;
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const host = opts.host ?? currentHost();
    const loaded = await loadManifest(opts.config);
    if (!loaded.ok) throw new InvalidManifest(loaded.error);
    const r = resolveOptions(opts, loaded.value, host);
    const log = opts.logger ?? createLogger({ verbose: opts.verbose });
    const curve = await setUpCurve(r.manifest, r.endpoints, log);
    mkdirSync(r.logDir, { recursive: true });
    const d = new Daemon(r, host, log, curve, opts.clock ?? systemClock);
    try {
      await d.bind(r.allowUids);
    } catch (e) {
      await curve?.zap.close();
      throw e;
    }
    // Only the owner of the control endpoint may touch what a previous owner left.
    const previous = d.state.read();
    const boot = bootId();
    await stopLeftovers(previous, boot, (name) => d.stopOf(name), log);
    d.begin(r.allowUids, opts.noWait === true, recovery(previous, { bootId: boot, isAlive: sameProcess }));
    return d;
  }

  private async bind(allowUids: number[] | null): Promise<void> {
    const closeAll = () => {
      this.control.close();
      this.status.close();
      this.flagPull.close();
    };
    if (allowUids !== null) {
      this.control.allowUids(allowUids);
      this.flagPull.allowUids(allowUids);
    }
    for (const ep of this.endpoints.control) {
      try {
        await this.control.bind([ep]);
      } catch (e) {
        closeAll();
        if ((e as { code?: string }).code !== "EADDRINUSE") throw new UserError(`cannot bind ${ep}: ${(e as Error).message}`);
        const pid = await ownerPid(ep);
        throw new UserError(`another daemon${pid ? ` (pid ${pid})` : ""} already owns ${ep}`);
      }
    }
    try {
      await this.status.bind(this.endpoints.status);
    } catch (e) {
      closeAll();
      throw new UserError(`cannot bind status endpoint: ${(e as Error).message}`);
    }
    for (const ep of this.endpoints.flagPull) {
      try {
        await this.flagPull.bind([ep]);
      } catch (e) {
        closeAll();
        // The original FlowInit, still running, holds FlowPilot's address.
        throw new UserError(`cannot bind flag_pull ${ep}: ${(e as Error).message}${(e as { code?: string }).code === "EADDRINUSE" ? " (another program, the original FlowInit perhaps, holds it)" : ""}`);
      }
    }
  }

  /** `recovered`: what a daemon that died in this boot had been told, to carry on with. */
  private begin(allowUids: number[] | null, noWait: boolean, recovered: Recovery | null): void {
    const { log } = this;
    log.info(
      { control: this.endpoints.control, status: this.endpoints.status, flagPull: this.endpoints.flagPull, platform: this.platform, logDir: this.logDir },
      `flowinit ${VERSION} on ${this.platform}`,
    );
    if (allowUids === null) log.warn("no allow_uids: every local peer may use the control socket");
    else log.info({ uids: allowUids }, "control socket restricted to these UIDs");
    if (this.curve) log.info({ publicKey: this.curve.keys.publicKey }, "tcp endpoints use CURVE; clients need this server key");
    for (const ep of [...this.endpoints.control, ...this.endpoints.status, ...this.endpoints.flagPull]) {
      if (isTcp(ep) && !this.curve) log.warn(`${ep} is plain TCP (insecure_tcp): anyone who can reach it may use it`);
    }
    // Before the first spawn: a signal with no listener ends node at once, and one that came while the
    // services were being spawned left those already started behind.
    const shutdown = (signal: string) => void this.submit({ type: "shutdown", reason: signal });
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
    process.on("SIGHUP", () => void this.submit({ type: "reload" }));

    this.supervisor.on("change", (n) => this.onChange(n));
    this.supervisor.on("gate", (n) => this.onGate(n));
    this.supervisor.on("spawned", (g) => this.state.spawned({ ...g, startTime: startTime(g.pid) }));
    void this.control.serve();
    void this.flagPull.serve();
    this.defineGates();
    this.startTick();

    // The flag first: what waits for it to be down must not start, only to be stopped.
    if (recovered) this.takeOver(recovered);
    if (noWait) void this.submit({ type: "green_flag", reason: "--no-wait" });
    this.saveFacts();
    this.supervisor.begin();
    this.status.queueSnapshot();
  }

  /**
   * A daemon killed in this boot (Android's killers, kill -9) was told things
   * the app will not say again: its services stopped by request stay
   * stopped, its app is listed again if it lives, the external gates it had
   * open open again, and its flag is raised again, so that the gated stack
   * comes back by itself.
   */
  private takeOver(r: Recovery): void {
    this.recoveredFrom = r.from;
    // Only what this manifest still declares external: a gate gone, or now read from the device, is not restored.
    const external = this.externalGates();
    const open = Object.entries(r.gates).filter(([name, isOpen]) => isOpen && external.includes(name)).map(([name]) => name);
    this.log.warn(
      { from: r.from, flag: r.flag, stopped: r.stopped, app: r.app?.pid ?? null, gates: open },
      `recovered from an unclean exit of daemon pid ${r.from}`,
    );
    this.supervisor.hold(r.stopped, `stopped by request before daemon pid ${r.from} died`);
    if (r.app) this.trackApp(r.app.pid, r.app.name);
    // Set directly rather than as `gate` operations, whose flips start their services at once: nothing
    // runs yet, and every gate must be as it was before the first start is decided (on the next turn).
    const reason = `recovered: open when daemon pid ${r.from} died`;
    for (const name of open) this.supervisor.setGate(name, true, reason, flipReason(name, true, reason), true);
    if (r.flag) void this.submit({ type: "green_flag", reason: `recovered: the flag was up when daemon pid ${r.from} died` });
  }

  /**
   * What the next daemon needs should this one be killed; written only when
   * it changed. Once a shutdown is decided, nothing: a daemon killed while it
   * stops leaves what a clean stop would.
   */
  private saveFacts(): void {
    const app = this.app?.state === "running" ? { pid: this.app.pid, startTime: this.app.startTime, name: this.app.name } : null;
    const views = this.supervisor.gateViews();
    const gates = Object.fromEntries(this.externalGates().map((name) => [name, views.get(name)?.open === true]));
    const facts: DaemonFacts =
      this.life.phase === "stopping"
        ? { flag: false, app: null, stopped: [], gates: {} }
        : { flag: this.life.flag, app, stopped: this.supervisor.stoppedByRequest(), gates };
    const text = JSON.stringify(facts);
    if (text === this.savedFacts) return;
    this.savedFacts = text;
    this.state.saveFacts(facts);
  }

  /** The names of the manifest's external gates, which requests set. */
  private externalGates(): string[] {
    return this.manifest.settings.gates.filter((g) => g.kind === "external").map((g) => g.name);
  }

  /** The manifest's services for this platform. */
  private here(manifest: Manifest): ServiceSpec[] {
    return manifest.services.filter((s) => s.platforms === null || s.platforms.includes(this.platform));
  }

  // -- operations: the lifecycle decides, this carries out ------------------

  /** Hands an operation to the lifecycle; resolves with its outcome once carried out, queued first if need be. */
  submit(op: Op): Promise<Outcome> {
    return new Promise((settle) => this.feed(op, settle));
  }

  private feed(input: Input, settle: (o: Outcome) => void = () => undefined): void {
    const was = this.life;
    const step = lifeStep(this.life, input);
    this.life = step.life;
    if (was.phase !== this.life.phase || was.flag !== this.life.flag) {
      this.status.queueSnapshot();
      this.saveFacts();
    }
    if (was.flag !== this.life.flag) this.wakeLock?.set(this.life.flag);
    for (const effect of step.effects) {
      switch (effect.type) {
        case "run":
          this.run(effect.op, settle).catch((e: unknown) => {
            // A bug: say so, answer, and let what waits behind it run.
            this.log.error({ err: e, op: effect.op.type }, "operation failed");
            settle({ ok: false, code: "internal", message: `${effect.op.type} failed: ${(e as Error).message}` });
            if (effect.op.type === "reload" || isFlip(effect.op)) this.feed({ type: "done" });
          });
          break;
        case "queue":
          this.queue.push({ op: effect.op, settle });
          break;
        case "ignore":
          settle(OK);
          break;
        case "refuse":
          settle(refused(effect.why));
          break;
        case "abort":
          this.aborted = true;
          settle(OK);
          break;
        case "refuse_queued":
          for (const q of this.queue.splice(0)) q.settle(refused(effect.why));
          break;
        case "dequeue": {
          const next = this.queue.shift();
          if (next) this.feed(next.op, next.settle);
          break;
        }
      }
    }
  }

  /** Carries out one operation; a multi-step one tells the lifecycle when it is done. */
  private async run(op: Op, settle: (o: Outcome) => void): Promise<void> {
    switch (op.type) {
      case "green_flag":
        // Checked when the request came; a reload that ran since may have added a service of that name,
        // and two entries of one name in a snapshot would be ambiguous.
        if (op.app && this.supervisor.get(op.app.name)) this.log.warn(`green flag: ${op.app.name} is now a service; the app is not listed`);
        else if (op.app) this.trackApp(op.app.pid, op.app.name);
        return this.flip(FLAG_GATE, true, op.reason, settle);
      case "stop_flag":
        return this.flip(FLAG_GATE, false, "stop flag", settle);
      case "gate":
        return this.flip(op.name, op.open, op.reason, settle);
      case "reload":
        settle(await this.reload());
        return this.feed({ type: "done" });
      case "service":
        if (this.supervisor.get(op.name) === undefined) return settle({ ok: false, code: "unknown_service", message: this.unknownService(op.name) });
        await this.supervisor[op.cmd](op.name, `${op.cmd} request`);
        return settle(OK);
      case "shutdown":
        return this.shutdown(op.reason);
    }
  }

  /**
   * A flip (lifecycle.ts): opens or closes a gate, then stops, dependents
   * first, what it no longer lets run, and puts those to wait again once
   * down. A green flag is answered as soon as its gate is set (the Android
   * side wants its ACK at once, and a hundred spawns start on the next turn);
   * anything else once its stops are done. The flag's own services keep the
   * words they always had: `stop flag`, `waiting for the green flag`;
   * everything else hears the gate and its reading (`gate cool closed: 46.1 C > 45`).
   */
  private async flip(gate: string, open: boolean, reason: string, settle: (o: Outcome) => void): Promise<void> {
    const raise = gate === FLAG_GATE && open;
    const stopFlag = gate === FLAG_GATE && !open;
    const why = flipReason(gate, open, reason);
    const { down } = this.supervisor.setGate(gate, open, reason, raise ? reason : why, raise);
    if (raise) settle(OK);
    if (down.length > 0) {
      await this.supervisor.stopServices(down, stopFlag ? "stop flag" : why);
      // A snapshot shows them stopped (CONTRACT.md section 3) before they wait again.
      await new Promise((r) => setImmediate(r));
      if (!this.aborted) this.supervisor.rearm(down, stopFlag ? "waiting for the green flag" : why);
    }
    if (!raise) settle(OK);
    this.feed({ type: "done" });
  }

  /** A gate's flip on the status topic and in the log. */
  private onGate({ name, view }: GateNotice): void {
    this.log.info(`gate ${name} ${view.open ? "open" : "closed"}: ${view.reason}`);
    this.status.publish("event", gateEventBody(name, view));
    this.status.queueSnapshot();
    // Before the flip starts anything: a daemon killed once its services run must leave the gate that runs them.
    this.saveFacts();
  }

  /**
   * The manifest's gates into the supervisor, at start and after a reload,
   * decided on a fresh reading of the device; those already known keep
   * their state, and each new one is logged with what it reads.
   */
  private defineGates(): void {
    const gates = this.manifest.settings.gates;
    this.readingGates = gates.filter((g): g is ReadingGate => g.kind !== "external");
    this.probes = probesFor(gates);
    const readings = this.device.sample(this.logDir, this.probes);
    const known = this.supervisor.gateViews();
    const added = gates.filter((g) => !known.has(g.name));
    this.supervisor.defineGates(
      gates.map((g) => g.name),
      (name) => {
        const g = gates.find((x) => x.name === name)!;
        return g.kind === "external" ? { open: false, reason: "not opened yet" } : decideGate(g, readings, null);
      },
    );
    for (const g of added) {
      const view = known.get(g.name)!;
      this.log.info(`gate ${g.name} ${view.open ? "open" : "closed"} at start: ${view.reason}`);
    }
    // A flip still queued (behind this reload) has been decided already: what was observed stands.
    this.observed = new Map(this.readingGates.map((g) => [g.name, this.observed.get(g.name) ?? known.get(g.name)!.open]));
  }

  /** Each reading gate on this tick's readings: a flip becomes an operation, as a flag would. */
  private decideGates(readings: Readings): void {
    for (const g of this.readingGates) {
      const was = this.observed.get(g.name) ?? null;
      const d = decideGate(g, readings, was);
      if (d.open === was) continue;
      this.observed.set(g.name, d.open);
      void this.submit({ type: "gate", name: g.name, open: d.open, reason: d.reason });
    }
  }

  /**
   * Loads the manifest again and applies the difference (Supervisor.apply).
   * An invalid manifest changes nothing.
   */
  private async reload(): Promise<Outcome> {
    const loaded = await loadManifest(this.manifest.file);
    if (this.aborted) return REFUSED_SHUTTING_DOWN;
    if (!loaded.ok) {
      this.log.error(`reload refused: ${loaded.error.map(formatDiagnostic).join("; ")}`);
      return { ok: false, code: "invalid_manifest", message: loaded.error.map(formatDiagnostic).join("\n"), diagnostics: loaded.error };
    }
    const taken = this.appNameTaken(loaded.value);
    if (taken !== null) return { ok: false, code: "invalid_manifest", message: formatDiagnostic(taken), diagnostics: [taken] };
    const oldSettings = this.manifest.settings;
    this.manifest = loaded.value;
    // Before the services: those added or changed start if their gates are open.
    this.defineGates();
    this.saveFacts();
    const { diff, done } = this.supervisor.apply(this.here(loaded.value), "reload", () => this.aborted);
    await done;
    if (this.aborted) return REFUSED_SHUTTING_DOWN;
    const warnings = await this.reloadAuthorizedKeys();
    this.applySettings(oldSettings);
    this.log.info(diff, "reloaded");
    this.status.queueSnapshot();
    return { ok: true, diff: { ...diff, warnings } };
  }

  /**
   * A reload is valid only if it leaves the app's name to the app while the
   * app lives: two entries of one name in a snapshot would be ambiguous. An
   * app that has ended gives its name up.
   */
  private appNameTaken(next: Manifest) {
    const app = this.app;
    if (app === null || !next.services.some((s) => s.name === app.name)) return null;
    if (app.state === "exited") {
      this.app = null;
      return null;
    }
    const message = `services.${app.name}: the name is the Android app's (pid ${app.pid}, listed by a green flag); rename the service, or raise the flag with another --name`;
    return { file: this.manifest.file, line: 0, col: 0, message };
  }

  /**
   * A reload re-reads the authorized client keys; a bad file keeps the old
   * ones, and the reply says so: whoever added a key must learn it is not in.
   */
  private async reloadAuthorizedKeys(): Promise<string[]> {
    const file = this.manifest.settings.curve?.authorizedKeysFile;
    if (!this.curve || file === undefined || ![...this.endpoints.control, ...this.endpoints.flagPull].some(isTcp)) return [];
    try {
      this.curve.zap.authorized = await readAuthorizedKeys(file);
      return [];
    } catch (e) {
      const warning = `authorized keys not reloaded, the old ones stay: ${(e as Error).message}`;
      this.log.error(warning);
      return [warning];
    }
  }

  /** The status tick follows `interval`; sockets, log dir and security need a restart. */
  private applySettings(old: Settings): void {
    const now = this.manifest.settings;
    if (now.intervalMs !== old.intervalMs) this.startTick();
    for (const key of ["control", "status", "logDir", "allowUids", "curve", "insecureTcp", "flagPull", "wakeLock", "notify"] as const) {
      if (JSON.stringify(now[key]) !== JSON.stringify(old[key])) this.log.warn(`settings: ${key} changed; it takes effect when the daemon restarts`);
    }
  }

  private async shutdown(reason: string): Promise<void> {
    this.aborted = true;
    this.log.info(`shutting down (${reason})`);
    await this.supervisor.stopAll(`shutdown (${reason})`);
    // Hooks carry their service's marker: ended here, they are not taken for its strays.
    await this.driver.close();
    await this.supervisor.stopStrays();
    if (this.tick) clearInterval(this.tick);
    this.procs.close();
    await this.supervisor.closeLogs();
    await this.wakeLock?.release();
    this.status.publish("status", this.statusMessage());
    // Let the reply to a `shutdown` request and the last snapshot leave before the sockets close.
    await new Promise((r) => setImmediate(r));
    this.control.close();
    this.flagPull.close();
    this.status.close();
    await this.curve?.zap.close();
    await this.state.clear();
    this.log.info("stopped");
    this.exitWith(EXIT.ok);
  }

  // -- the app a flag named ----------------------------------------------------

  /** Lists the app that raised the flag; replaces any app named before. */
  private trackApp(pid: number, name: string): void {
    const old = this.app;
    if (old?.pid === pid && old.name === name && old.state === "running") return; // the same flag again
    const app = new ExternalApp(name, pid, this.clock.wall());
    this.app = app;
    // The app it replaces leaves the snapshot: say so, once, if it was still listed as running.
    if (old?.state === "running" && old.pid !== pid) {
      this.status.publish("event", eventBody(old.name, { from: "running", to: "exited", reason: `replaced by pid ${pid}` }, old.pid, null, null));
    }
    this.status.publish("event", eventBody(name, { from: "waiting", to: app.state, reason: `green flag from pid ${pid}` }, pid, null, null));
    this.status.queueSnapshot();
    this.saveFacts();
  }

  // -- what the status topic says ----------------------------------------------

  private onChange({ name, change, pid, exit, cause }: ChangeNotice): void {
    this.status.publish("event", eventBody(name, change, pid, exit, cause));
    this.status.queueSnapshot();
    this.state.save(() => this.supervisor.liveGroups().map((g) => ({ ...g, startTime: this.state.startTimeOf(g.pid) })));
    if (change.to === "stopped" || change.from === "stopped") this.saveFacts();
  }

  /**
   * The status tick: vitals read in one pass of /proc for every service, the
   * snapshot, the device topic, the reading gates (from the device's same
   * pass), and whether the app still lives.
   */
  private onTick(): void {
    const app = this.app;
    const ended = app?.check(this.clock.wall());
    if (app && ended) {
      this.status.publish("event", eventBody(app.name, ended, app.pid, null, null));
      this.saveFacts();
    }
    this.supervisor.checkHealth();
    const groups: number[] = [];
    for (const svc of this.supervisor.views()) {
      const pid = this.supervisor.pidOf(svc);
      if (pid !== null) groups.push(pid);
    }
    this.vitals = this.procs.sample(groups, this.clock.mono());
    this.status.publish("status", this.statusMessage());
    this.driver.persist();
    const readings = this.device.sample(this.logDir, this.probes);
    this.status.publish("device", readings.vitals);
    this.decideGates(readings);
  }

  private startTick(): void {
    if (this.tick) clearInterval(this.tick);
    this.tick = setInterval(() => this.onTick(), this.manifest.settings.intervalMs);
  }

  /** One supervised service's entry, for a reply. */
  entry(name: string): ServiceEntry | undefined {
    const svc = this.supervisor.get(name);
    if (svc === undefined) return undefined;
    const pid = this.supervisor.pidOf(svc);
    return serviceEntry(svc, pid, pid === null ? undefined : this.vitals.get(pid), this.clock.mono());
  }

  /** The body of a `status` message, for the topic and the `status` request alike. */
  snapshot() {
    const { phase, flag } = this.life;
    const daemon: DaemonInfo = {
      pid: process.pid,
      version: VERSION,
      phase,
      flag,
      started_at: this.startedAt,
      recovered_from: this.recoveredFrom,
      gates: gatesBody(this.supervisor.gateViews()),
      health: this.driver.health(),
    };
    const services = [...this.supervisor.views()].map((view) => ({ view, pid: this.supervisor.pidOf(view) }));
    return snapshotBody(daemon, services, this.vitals, this.app?.entry() ?? null, this.clock.mono());
  }

  /** A gate's state; undefined for a name the manifest does not have. */
  gate(name: string): GateView | undefined {
    return this.supervisor.gateViews().get(name);
  }

  /** Why a `gate` request cannot set `name`; null when it can (an external gate). */
  gateProblem(name: string): { code: "unknown_gate" | "bad_request"; message: string } | null {
    if (name === FLAG_GATE) return { code: "bad_request", message: "flag is the green flag's gate: send green_flag or stop_flag" };
    const spec = this.manifest.settings.gates.find((g) => g.name === name);
    if (spec === undefined) {
      const external = this.externalGates();
      return { code: "unknown_gate", message: `no gate named ${name}${external.length > 0 ? `; external gates: ${external.join(", ")}` : ""}` };
    }
    if (spec.kind !== "external") return { code: "bad_request", message: `${name} is not external: its readings open and close it` };
    return null;
  }

  /** The body of a `status` message on the topic: a flip of the health it shows goes out just before it. */
  private statusMessage() {
    const body = this.snapshot();
    this.driver.observe(body.daemon.health);
    return body;
  }

  /** A supervised service's last exits, newest first. */
  history(name: string) {
    return this.driver.exits(name);
  }

  /** The published `seq` so far, for a `status` reply. */
  seq(): number {
    return this.status.seq;
  }

  // -- services' files --------------------------------------------------------

  /** Where a service of the manifest logs, nomonitor ones included; null for a name it does not have. */
  logPath(name: string): string | null {
    return this.manifest.services.some((s) => s.name === name) ? serviceLogPath(this.logDir, name) : null;
  }

  /** Why `name` is not a service a request can act on. */
  unknownService(name: string): string {
    const spec = this.manifest.services.find((s) => s.name === name);
    if (spec?.nomonitor) return `${name} is nomonitor: started once, not supervised`;
    if (spec) return `${name} does not run on ${this.platform}`;
    return `no service named ${name}`;
  }

  /** How to stop what a previous daemon left of a service: its spec's way, or the defaults. */
  private stopOf(name: string): { signal: NodeJS.Signals; timeoutMs: number } {
    const spec = this.manifest.services.find((s) => s.name === name);
    return spec ? { signal: spec.stopSignal, timeoutMs: spec.stopTimeoutMs } : DEFAULT_STOP;
  }

  private openLog(spec: ServiceSpec): ServiceLog {
    const { logMaxSizeBytes, logKeep } = this.manifest.settings;
    return openServiceLog({
      dir: this.logDir,
      name: spec.name,
      maxSizeBytes: logMaxSizeBytes,
      keep: logKeep,
      onError: (err) => this.log.error({ service: spec.name, err }, "cannot write the service log; its output is dropped"),
    });
  }
}

/**
 * What the notification's Stop button runs: this very CLI, by absolute
 * paths (nothing depends on the PATH of whoever runs it), against this
 * daemon's first ipc endpoint, which needs no keys.
 */
function stopAction(control: string[]): string {
  const endpoint = control.find((ep) => !isTcp(ep)) ?? control[0]!;
  return [process.execPath, BIN_PATH, "flag", "stop", "--control", endpoint].map(shQuote).join(" ");
}

async function ownerPid(endpoint: string): Promise<number | null> {
  try {
    const reply = JSON.parse(await sendRaw(endpoint, JSON.stringify({ cmd: "status" }), 500)) as {
      status?: { daemon?: { pid?: number } };
    };
    return reply.status?.daemon?.pid ?? null;
  } catch {
    return null;
  }
}
