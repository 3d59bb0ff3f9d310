/**
 * The daemon: wires the manifest, the supervisor and the two sockets, and
 * turns OS signals into a clean shutdown.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { err, EXIT, formatDiagnostic, InvalidManifest, ok, UserError, type Diagnostic, type Result } from "./errors.js";
import { createLogger } from "./log.js";
import { VERSION } from "./package.js";
import { diffServices, loadManifest, type ManifestDiff } from "./manifest/index.js";
import type { Manifest, Platform, ServiceSpec, Settings } from "./manifest/spec.js";
import { curveServerOptions, readAuthorizedKeys, readKeyPair, startZapHandler, type KeyPair, type ZapHandler } from "./bus/auth.js";
import { ControlServer } from "./bus/control.js";
import { StatusPublisher } from "./bus/status.js";
import { errorReply, okReply, plainReply, type Phase, type Request, type ServiceEntry, type Style } from "./bus/protocol.js";
import { sendRaw } from "./client/client.js";
import { currentHost, detectPlatform, isTermux, runtimeDir, shellFor, type Host } from "./platform/platform.js";
import { startTime } from "./platform/process.js";
import { stopLeftovers, StateFile, type GroupRecord } from "./runner/recover.js";
import { openServiceLog, type ServiceLog } from "./runner/output.js";
import { DeviceSampler } from "./stats/device.js";
import { ProcessSampler, type GroupVitals } from "./stats/proc.js";
import { resolveEndpoints } from "./platform/endpoints.js";
import { spawnService } from "./runner/spawn.js";
import { Supervisor, type ChangeNotice, type Service } from "./supervisor/supervisor.js";
import { ACTIVE } from "./supervisor/states.js";
import { ExternalApp } from "./supervisor/external.js";
import type { Change } from "./supervisor/machine.js";
import type { Exit } from "./supervisor/policy.js";


/** Options of `flowinit run`; unset fields fall back to env, manifest settings, defaults. */
export interface DaemonOptions {
  /** Manifest path. */
  config: string;
  /** Control endpoints from the command line (highest precedence). */
  control?: string[];
  /** Status endpoints from the command line. */
  status?: string[];
  /** Overrides the detected platform. */
  platform?: Platform;
  /** Behave as if the green flag had arrived at start. */
  noWait?: boolean;
  logDir?: string;
  allowUids?: number[];
  /** Debug logs. */
  verbose?: boolean;
  /** A logger to use instead of the default one on stdout. */
  logger?: Logger;
  /** Facts about the host; default the real one. */
  host?: Host;
}

/** Runs the daemon until shutdown; resolves with the exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const daemon = await Daemon.start(opts);
  return daemon.done;
}

export class Daemon {
  private flag = false;
  /** How many times a stop_flag lowered the flag: a green flag's deferred start checks it. */
  private flagLowered = 0;
  private phase: Phase = "waiting";
  private readonly startedAt = Date.now();
  private tick: NodeJS.Timeout | null = null;
  private exitWith!: (code: number) => void;
  /** Resolves with the exit code once the daemon has shut down. */
  readonly done = new Promise<number>((r) => (this.exitWith = r));
  readonly supervisor: Supervisor;
  private readonly status: StatusPublisher;
  private readonly control: ControlServer;
  private gated: string[] = [];
  private unmonitored: ServiceSpec[] = [];
  private readonly unmonitoredLogs = new Map<string, ServiceLog>();
  /** Fire-and-forget services due to be spawned, waiting for their dependencies. */
  private readonly unmonitoredDue = new Set<ServiceSpec>();
  private readonly procs = new ProcessSampler();
  private readonly device = new DeviceSampler();
  /** Process vitals of the last tick, by process group; change-driven snapshots reuse them. */
  private vitals = new Map<number, GroupVitals>();
  /** The Android app named by the last green flag with a pid. */
  private app: ExternalApp | null = null;
  /** UIDs allowed on the ipc control socket; null: every local peer. */
  private allowed: number[] | null = null;
  /** The reload under way; reloads run one after another. */
  private reloading: Promise<unknown> = Promise.resolve();

  private readonly serviceEnv: NodeJS.ProcessEnv;

  /** The services' process groups, for the next daemon should this one be killed. */
  readonly state: StateFile;

  private constructor(
    public manifest: Manifest,
    readonly endpoints: { control: string[]; status: string[] },
    private readonly platform: Platform,
    private readonly host: Host,
    private readonly logDir: string,
    private readonly log: Logger,
    private readonly curve: Curve | null,
  ) {
    this.state = new StateFile(runtimeDir(host), endpoints.control[0]!);
    // Services that run `flowinit` or the client API reach their own daemon, whatever endpoints it was given.
    // Copied once: reading process.env is a native call per variable, and every spawn would pay it.
    this.serviceEnv = { ...host.env, FLOWINIT_CONTROL: endpoints.control.join(","), FLOWINIT_STATUS: endpoints.status.join(",") };
    this.supervisor = new Supervisor(this.adopt(manifest), {
      shell: shellFor(host),
      env: this.serviceEnv,
      output: (s) => this.openLog(s),
      log,
    });
    this.status = new StatusPublisher(() => this.snapshotBody(), log, curve && curveServerOptions(curve.keys, "status"));
    this.control = new ControlServer((req, style) => this.handle(req, style), log, curve && curveServerOptions(curve.keys, "control"));
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const host = opts.host ?? currentHost();
    const loaded = await loadManifest(opts.config);
    if (!loaded.ok) throw new InvalidManifest(loaded.error);
    const manifest = loaded.value;
    const settings = manifest.settings;
    const endpoints = {
      control: resolveEndpoints("control", { flags: opts.control, manifest: settings.control }, host),
      status: resolveEndpoints("status", { flags: opts.status, manifest: settings.status }, host),
    };
    const allowUids = opts.allowUids?.length ? opts.allowUids : settings.allowUids;
    const log = opts.logger ?? (await createLogger({ verbose: opts.verbose }));
    const curve = await setUpCurve(manifest, endpoints, log);
    const logDir = opts.logDir ?? settings.logDir ?? defaultLogDir(manifest, host);
    mkdirSync(logDir, { recursive: true });
    const platform = opts.platform ?? detectPlatform(host);
    const d = new Daemon(manifest, endpoints, platform, host, logDir, log, curve);
    try {
      await d.bind(allowUids);
    } catch (e) {
      await curve?.zap.close();
      throw e;
    }
    // Only the owner of the control endpoint may touch what a previous owner left.
    await stopLeftovers(d.state.read(), (name) => d.stopOf(name), log);
    d.begin(opts.noWait === true);
    return d;
  }

  private async bind(allowUids: number[] | null): Promise<void> {
    if (allowUids !== null) {
      this.allowed = [...new Set([process.getuid?.() ?? 0, ...allowUids])];
      this.control.allowUids(this.allowed);
    }
    for (const ep of this.endpoints.control) {
      try {
        await this.control.bind([ep]);
      } catch (e) {
        this.control.close();
        this.status.close();
        if ((e as { code?: string }).code !== "EADDRINUSE") throw new UserError(`cannot bind ${ep}: ${(e as Error).message}`);
        const pid = await ownerPid(ep);
        throw new UserError(`another daemon${pid ? ` (pid ${pid})` : ""} already owns ${ep}`);
      }
    }
    try {
      await this.status.bind(this.endpoints.status);
    } catch (e) {
      this.control.close();
      this.status.close();
      throw new UserError(`cannot bind status endpoint: ${(e as Error).message}`);
    }
  }

  private begin(noWait: boolean): void {
    const { log } = this;
    log.info(
      { control: this.endpoints.control, status: this.endpoints.status, platform: this.platform, logDir: this.logDir },
      `flowinit ${VERSION} on ${this.platform}`,
    );
    if (this.allowed === null) log.warn("no allow_uids: every local peer may use the control socket");
    else log.info({ uids: this.allowed }, "control socket restricted to these UIDs");
    if (this.curve) log.info({ publicKey: this.curve.keys.publicKey }, "tcp endpoints use CURVE; clients need this server key");
    for (const ep of [...this.endpoints.control, ...this.endpoints.status]) {
      if (ep.startsWith("tcp://") && !this.curve) log.warn(`${ep} is plain TCP (insecure_tcp): anyone who can reach it may use it`);
    }
    this.supervisor.on("change", (n) => this.onChange(n));
    void this.control.serve();
    this.startTick();

    this.spawnUnmonitored(true);
    this.supervisor.want(
      [...this.supervisor.services.values()].filter((s) => this.due(s.spec)).map((s) => s.spec.name),
      "nowait",
    );
    if (noWait) this.greenFlag("--no-wait", false);
    this.status.queueSnapshot();

    const shutdown = (signal: string) => void this.shutdown(signal);
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
    process.on("SIGHUP", () => void this.reload());
  }

  /** Takes the manifest's services for this platform; returns those to supervise. */
  private adopt(manifest: Manifest): ServiceSpec[] {
    const here = manifest.services.filter((s) => s.platforms === null || s.platforms.includes(this.platform));
    this.manifest = manifest;
    this.unmonitored = here.filter((s) => s.nomonitor);
    // A reload keeps what was still due, under its new spec.
    const due = new Set([...this.unmonitoredDue].map((s) => s.name));
    this.unmonitoredDue.clear();
    for (const s of this.unmonitored) if (due.has(s.name)) this.unmonitoredDue.add(s);
    const monitored = here.filter((s) => !s.nomonitor);
    this.gated = monitored.filter((s) => !s.nowait).map((s) => s.name);
    return monitored;
  }

  /** Whether a service should be up now: nowait, or gated and the flag is up. */
  private due(spec: ServiceSpec): boolean {
    return spec.enabled && (spec.nowait || this.flag);
  }

  /**
   * Loads the manifest again and applies the difference: removed services
   * stop, changed ones restart with their new spec, added ones start when
   * due, unchanged ones and their processes are left alone. An invalid
   * manifest changes nothing.
   */
  reload(): Promise<Result<ManifestDiff, Diagnostic[]>> {
    const next = this.reloading.then(() => this.applyReload());
    this.reloading = next;
    return next;
  }

  private async applyReload(): Promise<Result<ManifestDiff, Diagnostic[]>> {
    const loaded = await this.loadForReload();
    if (!loaded.ok) {
      this.log.error(`reload refused: ${loaded.error.map(formatDiagnostic).join("; ")}`);
      return loaded;
    }
    if (this.phase === "stopping") return err([{ file: this.manifest.file, line: 0, col: 0, message: "the daemon is shutting down" }]);
    const before = [...this.supervisor.services.values()].map((s) => s.spec);
    const oldSettings = this.manifest.settings;
    const specs = this.adopt(loaded.value);
    const diff = diffServices(before, specs);
    const byName = new Map(specs.map((s) => [s.name, s]));
    await this.supervisor.stopInOrder([...diff.removed, ...diff.changed], "reload");
    await Promise.all([...diff.removed, ...diff.changed].map((name) => this.supervisor.remove(name)));
    for (const name of [...diff.added, ...diff.changed]) this.supervisor.add(byName.get(name)!);
    this.supervisor.reorder(specs.map((s) => s.name));
    this.supervisor.want(
      [...diff.added, ...diff.changed].filter((n) => this.due(byName.get(n)!)),
      "reload",
    );
    await this.reloadAuthorizedKeys();
    this.applySettings(oldSettings);
    this.log.info(diff, "reloaded");
    this.status.queueSnapshot();
    return ok(diff);
  }

  /** A reload re-reads the authorized client keys; a bad file keeps the old ones. */
  private async reloadAuthorizedKeys(): Promise<void> {
    const file = this.manifest.settings.curve?.authorizedKeysFile;
    if (!this.curve || file === undefined || !this.endpoints.control.some((ep) => ep.startsWith("tcp://"))) return;
    try {
      this.curve.zap.authorized = await readAuthorizedKeys(file);
    } catch (e) {
      this.log.error(`authorized keys not reloaded, the old ones stay: ${(e as Error).message}`);
    }
  }

  /** The status tick follows `interval`; sockets, log dir and security need a restart. */
  private applySettings(old: Settings): void {
    const now = this.manifest.settings;
    if (now.intervalMs !== old.intervalMs) this.startTick();
    for (const key of ["control", "status", "logDir", "allowUids", "curve", "insecureTcp"] as const) {
      if (JSON.stringify(now[key]) !== JSON.stringify(old[key])) this.log.warn(`settings: ${key} changed; it takes effect when the daemon restarts`);
    }
  }

  /**
   * The manifest again, valid only if it leaves the app's name to the app
   * while the app lives: two entries of one name in a snapshot would be
   * ambiguous. An app that has ended gives its name up.
   */
  private async loadForReload(): Promise<Result<Manifest, Diagnostic[]>> {
    const loaded = await loadManifest(this.manifest.file);
    const app = this.app;
    if (!loaded.ok || app === null || !loaded.value.services.some((s) => s.name === app.name)) return loaded;
    if (app.state === "exited") {
      this.app = null;
      return loaded;
    }
    const message = `services.${app.name}: the name is the Android app's (pid ${app.pid}, listed by a green flag); rename the service, or raise the flag with another --name`;
    return err([{ file: this.manifest.file, line: 0, col: 0, message }]);
  }

  private startTick(): void {
    if (this.tick) clearInterval(this.tick);
    this.tick = setInterval(() => this.onTick(), this.manifest.settings.intervalMs);
  }

  /** Lists the app that raised the flag; replaces any app named before. */
  private trackApp(pid: number, name: string): void {
    const old = this.app;
    if (old?.pid === pid && old.name === name && old.state === "running") return; // the same flag again
    const app = new ExternalApp(name, pid, this.supervisor.clock.wall());
    this.app = app;
    // The app it replaces leaves the snapshot: say so, once, if it was still listed as running.
    if (old?.state === "running" && old.pid !== pid) {
      this.publishEvent(old.name, { from: "running", to: "exited", reason: `replaced by pid ${pid}` }, old.pid, null);
    }
    this.publishEvent(name, { from: "waiting", to: app.state, reason: `green flag from pid ${pid}` }, pid, null);
    this.status.queueSnapshot();
  }

  /**
   * Raises the flag at once; with `later`, the gated services start on the
   * next turn, so that the app hears ACK before a hundred spawns. A stop_flag
   * handled in between cancels that start: flags take effect in the order
   * they arrive.
   */
  private greenFlag(reason: string, later: boolean): void {
    if (this.phase === "stopping") return;
    const rising = !this.flag;
    this.flag = true;
    this.phase = "running";
    this.status.queueSnapshot();
    const lowered = this.flagLowered;
    const start = () => {
      if (this.flagLowered !== lowered || this.phase === "stopping") return;
      if (rising) this.spawnUnmonitored(false);
      this.supervisor.want(
        this.gated.filter((n) => this.due(this.supervisor.get(n)!.spec)),
        reason,
      );
    };
    if (later) setImmediate(start);
    else start();
  }

  /**
   * Stops the gated services (`stopped`, as CONTRACT.md section 3 says of a
   * stop_flag), then, once a snapshot has shown that, gates them on the flag
   * again (`waiting`); a flag raised meanwhile starts them at once.
   */
  private async stopFlag(reason: string): Promise<void> {
    if (this.phase === "stopping") return;
    this.flag = false;
    this.flagLowered++;
    this.phase = "waiting";
    for (const spec of this.unmonitoredDue) if (!spec.nowait) this.unmonitoredDue.delete(spec);
    this.status.queueSnapshot();
    await this.supervisor.stopInOrder(this.gated, reason);
    await new Promise((r) => setImmediate(r));
    if ((this.phase as Phase) !== "stopping") this.supervisor.rearm(this.gated, "waiting for the green flag");
  }

  /** One log per fire-and-forget service, shared by its runs, so two never rotate one file. */
  private unmonitoredLog(spec: ServiceSpec): ServiceLog {
    let log = this.unmonitoredLogs.get(spec.name);
    if (log === undefined) this.unmonitoredLogs.set(spec.name, (log = this.openLog(spec)));
    return log;
  }

  /** Fire-and-forget services: spawned once what they depend on runs, logged, never watched again. */
  private spawnUnmonitored(nowait: boolean): void {
    for (const spec of this.unmonitored) if (spec.nowait === nowait && spec.enabled) this.unmonitoredDue.add(spec);
    this.spawnDueUnmonitored();
  }

  private spawnDueUnmonitored(): void {
    for (const spec of this.unmonitoredDue) {
      if (!this.supervisor.dependenciesRunning(spec)) continue;
      this.unmonitoredDue.delete(spec);
      const log = this.log.child({ service: spec.name });
      spawnService(
        spec,
        { shell: shellFor(this.host), env: this.serviceEnv, output: this.unmonitoredLog(spec) },
        {
          onSpawn: (pid) => log.info({ pid }, "started (nomonitor)"),
          onError: (message) => log.error(`cannot spawn: ${message}`),
          onExit: (exit) => log.info(exit, "ended (nomonitor)"),
        },
      );
    }
  }

  async shutdown(reason: string): Promise<void> {
    if (this.phase === "stopping") return;
    this.phase = "stopping";
    this.log.info(`shutting down (${reason})`);
    this.status.queueSnapshot();
    await this.supervisor.stopInOrder([...this.supervisor.services.keys()], `shutdown (${reason})`);
    if (this.tick) clearInterval(this.tick);
    this.procs.close();
    await Promise.all([this.supervisor.closeLogs(), ...[...this.unmonitoredLogs.values()].map((l) => l.close())]);
    this.status.publish("status", this.snapshotBody());
    // Let the reply to a `shutdown` request and the last snapshot leave before the sockets close.
    await new Promise((r) => setImmediate(r));
    this.control.close();
    this.status.close();
    await this.curve?.zap.close();
    await this.state.clear();
    this.log.info("stopped");
    this.exitWith(EXIT.ok);
  }

  private onChange({ service, change }: ChangeNotice): void {
    const pid = change.to === "running" ? this.pidOf(service) : ACTIVE.has(change.from) ? (service.child?.pid ?? null) : null;
    this.publishEvent(service.spec.name, change, pid, service.status.exit);
    this.status.queueSnapshot();
    if (change.to === "running" && this.unmonitoredDue.size > 0) this.spawnDueUnmonitored();
    this.state.save(() => this.groups());
  }

  /** Every process group a service may have alive now. */
  private groups(): GroupRecord[] {
    const groups: GroupRecord[] = [];
    for (const svc of this.supervisor.services.values()) {
      const pid = svc.child?.pid;
      if (pid !== undefined && svc.child!.exit === null) groups.push({ service: svc.spec.name, pid, startTime: startTime(pid) });
    }
    return groups;
  }

  /** How to stop what a previous daemon left of a service: its spec's way, or the defaults. */
  stopOf(name: string): { signal: NodeJS.Signals; timeoutMs: number } {
    const spec = this.manifest.services.find((s) => s.name === name);
    return { signal: spec?.stopSignal ?? "SIGTERM", timeoutMs: spec?.stopTimeoutMs ?? 5000 };
  }

  private publishEvent(service: string, change: Change, pid: number | null, exit: Exit | null): void {
    this.status.publish("event", {
      service,
      from: change.from,
      to: change.to,
      pid,
      exit_code: exit?.code ?? null,
      signal: exit?.signal ?? null,
      reason: change.reason,
    });
  }

  /**
   * The status tick: vitals read in one pass of /proc for every service, the
   * snapshot, the device topic, and whether the app still lives.
   */
  private onTick(): void {
    const clock = this.supervisor.clock;
    const ended = this.app?.check(clock.wall());
    if (ended) this.publishEvent(this.app!.name, ended, this.app!.pid, null);
    const groups: number[] = [];
    for (const svc of this.supervisor.services.values()) {
      const pid = this.pidOf(svc);
      if (pid !== null) groups.push(pid);
    }
    this.vitals = this.procs.sample(groups, clock.mono());
    this.status.publish("status", this.snapshotBody());
    this.status.publish("device", this.device.sample(this.logDir));
  }

  private pidOf(svc: Service): number | null {
    const st = svc.status.state;
    if (st.name === "running") return st.pid;
    if (st.name === "starting" || st.name === "stopping") return svc.child?.pid ?? null;
    return null;
  }

  entry(svc: Service): ServiceEntry {
    const s = svc.status;
    const pid = this.pidOf(svc);
    const vitals = pid === null ? undefined : this.vitals.get(pid);
    return {
      name: svc.spec.name,
      state: s.state.name,
      pid,
      restarts: s.restarts,
      exit_code: s.exit?.code ?? null,
      signal: s.exit?.signal ?? null,
      since: s.since,
      nowait: svc.spec.nowait,
      cpu_percent: vitals?.cpuPercent ?? null,
      rss_bytes: vitals?.rssBytes ?? null,
      uptime_ms: s.state.name === "running" ? this.supervisor.clock.mono() - s.state.startedAt : null,
      reason: s.state.name === "fatal" ? s.state.reason : null,
    };
  }

  private snapshotBody() {
    return {
      daemon: { pid: process.pid, version: VERSION, phase: this.phase, flag: this.flag, started_at: this.startedAt },
      services: [
        ...[...this.supervisor.services.values()].map((s) => this.entry(s)),
        ...(this.app ? [this.app.entry()] : []),
      ],
    };
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


  private async handle(req: Request, style: Style): Promise<string> {
    const reply = (fields: Record<string, unknown> = {}) => (style === "plain" ? plainReply(req) : okReply(fields));
    switch (req.cmd) {
      case "ping":
        return reply();
      case "status":
        return reply({ status: { seq: this.status.seq, time: Date.now(), ...this.snapshotBody() } });
      case "green_flag":
        if (req.pid !== undefined) {
          const name = req.name ?? "app";
          if (this.supervisor.get(name)) return errorReply("bad_request", `green_flag: name: ${name} is a service of the manifest`);
          this.trackApp(req.pid, name);
        }
        this.greenFlag("green flag", true);
        return reply();
      case "stop_flag": {
        const done = this.stopFlag("stop flag");
        // The Android side expects a quick ACK; JSON clients wait for the stop to finish.
        if (style === "json") await done;
        return reply();
      }
      case "reload": {
        const r = await this.reload();
        if (!r.ok) return errorReply("invalid_manifest", r.error.map(formatDiagnostic).join("\n"), { diagnostics: r.error });
        return reply({ ...r.value });
      }
      case "shutdown":
        setImmediate(() => void this.shutdown("shutdown request"));
        return reply();
      case "logs": {
        // Every service of the manifest has a log file once it has run, nomonitor ones included.
        if (!this.manifest.services.some((s) => s.name === req.service)) return errorReply("unknown_service", this.unknownService(req.service));
        return reply({ service: req.service, path: join(this.logDir, `${req.service}.log`) });
      }
      case "start":
      case "stop":
      case "restart": {
        const svc = this.supervisor.get(req.service);
        if (svc === undefined) return errorReply("unknown_service", this.unknownService(req.service));
        if (this.phase === "stopping") return errorReply("bad_request", "the daemon is shutting down");
        const why = `${req.cmd} request`;
        await (req.cmd === "start"
          ? this.supervisor.start(req.service, why)
          : req.cmd === "stop"
            ? this.supervisor.stop(req.service, why)
            : this.supervisor.restart(req.service, why));
        return reply({ service: this.entry(svc) });
      }
    }
  }

  private unknownService(name: string): string {
    const spec = this.manifest.services.find((s) => s.name === name);
    if (spec?.nomonitor) return `${name} is nomonitor: started once, not supervised`;
    if (spec) return `${name} does not run on ${this.platform}`;
    return `no service named ${name}`;
  }
}

function defaultLogDir(manifest: Manifest, host: Host): string {
  if (isTermux(host) && host.env.PREFIX) return join(host.env.PREFIX, "var/log/flowinit");
  return join(dirname(manifest.file), "logs");
}

/** The daemon's key pair and the ZAP handler that checks client keys. */
interface Curve {
  keys: KeyPair;
  zap: ZapHandler;
}

/**
 * CURVE for tcp endpoints (CONTRACT.md section 6). A tcp endpoint without
 * CURVE settings is refused unless `insecure_tcp` says otherwise: a security
 * setting is never silently dropped. The ZAP handler starts before any bind,
 * since a client refused for want of one does not try again.
 */
async function setUpCurve(m: Manifest, eps: { control: string[]; status: string[] }, log: Logger): Promise<Curve | null> {
  const tcp = [...eps.control, ...eps.status].find((ep) => ep.startsWith("tcp://"));
  if (tcp === undefined) return null;
  const curve = m.settings.curve;
  if (curve === null) {
    if (m.settings.insecureTcp) return null;
    throw new UserError(`${tcp}: a tcp endpoint needs settings.curve (see flowinit keys), or settings.insecure_tcp: true`, EXIT.usage);
  }
  const keys = await readKeyPair(curve.secretKeyFile);
  const controlOverTcp = eps.control.some((ep) => ep.startsWith("tcp://"));
  const authorized = controlOverTcp ? await readAuthorizedKeys(curve.authorizedKeysFile) : new Set<string>();
  return { keys, zap: await startZapHandler({ authorized, log }) };
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
