/**
 * Validated raw manifest -> plain, fully defaulted `Manifest`: units
 * converted, paths made absolute, services in start order. Runs only on input
 * the schema and the graph check accepted, so it cannot fail on bad input.
 */
import path from "node:path";
import { parseDuration, parsePercent, parseSize } from "./duration.js";
import { dependencyOrder } from "./graph.js";
import { PROBE_DEFAULTS, type RawManifest, type RawService, type RawSettings } from "./schema.js";
import { FLAG_GATE, type Dependency, type GateCondition, type GateSpec, type Manifest, type ReadyCheck, type RestartPolicy, type ServiceSpec, type Settings } from "./spec.js";

/**
 * `file` may be relative; relative paths inside are resolved against its
 * folder. `fileOrder` lists the service names as they appear in the file,
 * which object key order does not keep for integer-like names such as `2`.
 */
export function normalize(raw: RawManifest, file: string, fileOrder: readonly string[]): Manifest {
  const absolute = path.resolve(file);
  const dir = path.dirname(absolute);
  const rank = new Map(fileOrder.map((name, i) => [name, i]));
  const services = Object.entries(raw.services ?? {})
    .sort(([a], [b]) => (rank.get(a) ?? rank.size) - (rank.get(b) ?? rank.size))
    .map(([name, s]) => toSpec(name, s, dir));
  return {
    file: absolute,
    settings: toSettings(raw.settings, dir),
    services: dependencyOrder(services),
  };
}

function toSettings(s: RawSettings, dir: string): Settings {
  return {
    control: asList(s.control),
    status: asList(s.status),
    logDir: s.log_dir === undefined ? null : path.resolve(dir, s.log_dir),
    intervalMs: ms(s.interval),
    allowUids: s.allow_uids ?? null,
    curve:
      s.curve === undefined
        ? null
        : {
            secretKeyFile: path.resolve(dir, s.curve.secret_key_file),
            authorizedKeysFile: path.resolve(dir, s.curve.authorized_keys_file),
          },
    insecureTcp: s.insecure_tcp,
    logMaxSizeBytes: bytes(s.log_max_size),
    logKeep: s.log_keep,
    gates: Object.entries(s.gates ?? {}).map(([name, g]) => toGate(name, g, dir)),
    flagPull: asList(s.flag_pull),
    wakeLock: s.wake_lock ?? null,
    onFailure: s.on_failure ?? null,
    notify: s.notify ?? null,
  };
}

type RawGate = NonNullable<RawSettings["gates"]>[string];

// The schema let through exactly one kind, with its own keys only.
function toGate(name: string, g: RawGate, dir: string): GateSpec {
  if (g.temperature_max_c !== undefined) {
    const file = g.file === undefined ? null : path.resolve(dir, g.file);
    return { name, kind: "temperature", maxC: g.temperature_max_c, clearBelowC: g.clear_below_c!, file };
  }
  if (g.battery_min_percent !== undefined) return { name, kind: "battery", minPercent: g.battery_min_percent, orCharging: g.or_charging ?? false };
  if (g.disk_free_min_percent !== undefined) {
    return { name, kind: "disk", minFreePercent: g.disk_free_min_percent, path: g.path === undefined ? null : path.resolve(dir, g.path) };
  }
  if (g.file_exists !== undefined) return { name, kind: "file_exists", path: path.resolve(dir, g.file_exists) };
  return { name, kind: "external" };
}

function toSpec(name: string, s: RawService, dir: string): ServiceSpec {
  return {
    name,
    command: s.command,
    args: s.args?.map(String) ?? null,
    nowait: s.nowait,
    when: whenOf(s),
    nomonitor: s.nomonitor,
    enabled: s.enabled,
    platforms: s.platforms ?? null,
    restart: restartPolicy(s.restart),
    env: Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, String(v)])),
    cwd: path.resolve(dir, s.cwd ?? "."),
    dependsOn: dependencies(s.depends_on),
    stopSignal: toSignal(s.stop_signal),
    stopTimeoutMs: ms(s.stop_timeout),
    restartDelayMs: ms(s.restart_delay),
    restartDelayMaxMs: ms(s.restart_delay_max),
    maxRestarts: s.max_restarts,
    stableAfterMs: ms(s.stable_after),
    successExitCodes: [...new Set(s.success_exit_codes)],
    // The schema let only percentages through.
    restartJitter: parsePercent(s.restart_jitter)!,
    oneshot: s.oneshot,
    ready: readyCheck(s.ready),
    readyTimeoutMs: ms(s.ready_timeout),
    notifyFd: s.ready?.fd ?? s.notify_fd ?? null,
    watchdogMs: s.watchdog === undefined ? null : ms(s.watchdog),
    critical: s.critical,
    onFailure: s.on_failure ?? null,
  };
}

/** The schema let exactly one of fd, log_line and exec through. */
function readyCheck(r: RawService["ready"]): ReadyCheck | null {
  if (r === undefined) return null;
  if (r.fd !== undefined) return { kind: "fd" };
  if (r.log_line !== undefined) return { kind: "log_line", pattern: r.log_line };
  return { kind: "exec", command: r.exec!, periodMs: ms(r.period ?? PROBE_DEFAULTS.period), timeoutMs: ms(r.timeout ?? PROBE_DEFAULTS.timeout) };
}

/** Both forms of depends_on as one list; the list form waits for `ready`, and names itself once. */
function dependencies(v: RawService["depends_on"]): Dependency[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return [...new Set(v)].map((name) => ({ name, condition: "ready" }));
  return Object.entries(v).map(([name, condition]) => ({ name, condition }));
}

/** `when` as conditions, each gate once; without it, nowait means none and anything else the green flag. */
export function whenOf(s: { when?: readonly string[] | undefined; nowait: boolean }): GateCondition[] {
  if (s.when === undefined) return s.nowait ? [] : [{ gate: FLAG_GATE, open: true }];
  const seen = new Set<string>();
  return s.when.filter((w) => !seen.has(w) && seen.add(w)).map((w) => (w.startsWith("!") ? { gate: w.slice(1), open: false } : { gate: w, open: true }));
}

const asList = (v: string | string[] | undefined): string[] | null =>
  v === undefined ? null : typeof v === "string" ? [v] : v;

// The original FlowInit only knew `restart: true/false`.
function restartPolicy(v: RestartPolicy | boolean): RestartPolicy {
  if (v === true) return "always";
  if (v === false) return "never";
  return v;
}

// The schema accepted only names from os.constants.signals, with or without SIG.
const toSignal = (name: string): NodeJS.Signals =>
  (name.startsWith("SIG") ? name : `SIG${name}`) as NodeJS.Signals;

function ms(v: string | number): number {
  const value = parseDuration(v);
  if (value === null) throw new Error(`bug: the schema accepted the duration ${String(v)}`);
  return value;
}

function bytes(v: string | number): number {
  const value = parseSize(v);
  if (value === null) throw new Error(`bug: the schema accepted the size ${String(v)}`);
  return value;
}
