/**
 * The manifest after validation: plain, fully defaulted data. Everything
 * downstream trusts these objects and never re-checks them.
 */

export const PLATFORMS = ["android", "desktop"] as const;
export type Platform = (typeof PLATFORMS)[number];

export const RESTART_POLICIES = ["always", "on-failure", "never"] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/** What a dependent waits for (CONTRACT.md section 8); the list form of depends_on means `ready`. */
export const CONDITIONS = ["started", "ready", "completed"] as const;
export type Condition = (typeof CONDITIONS)[number];

/** Where the daemon notifies a person (CONTRACT.md section 9). */
export const NOTIFY = ["termux"] as const;
export type Notify = (typeof NOTIFY)[number];

export interface Dependency {
  name: string;
  condition: Condition;
}

/** The built-in gate of the green flag (CONTRACT.md section 10). */
export const FLAG_GATE = "flag";

/** One entry of `when`: the service runs while gate `gate` is open (`open: true`) or while it is closed (`!NAME`). */
export interface GateCondition {
  gate: string;
  open: boolean;
}

/**
 * A gate of `settings.gates`: a condition of the device, read on the status
 * tick, or an external one set by requests. Paths are absolute.
 */
export type GateSpec =
  /** Closes above `maxC`, opens again below `clearBelowC`; `file` null: the hottest thermal zone. */
  | { name: string; kind: "temperature"; maxC: number; clearBelowC: number; file: string | null }
  /** Closes below `minPercent` (unless charging, with `orCharging`). */
  | { name: string; kind: "battery"; minPercent: number; orCharging: boolean }
  /** Closes below `minFreePercent` free on the file system of `path`; null: the log folder. */
  | { name: string; kind: "disk"; minFreePercent: number; path: string | null }
  /** Open while `path` exists. */
  | { name: string; kind: "file_exists"; path: string }
  /** Opened and closed by `gate` requests; closed at start. */
  | { name: string; kind: "external" };

export type GateKind = GateSpec["kind"];
/**
 * How a service tells it is ready (CONTRACT.md section 8): a line on its
 * notify descriptor (`notifyFd` of the spec), a line of its output matching
 * `pattern` (a regular expression's source), or a probe command that exits 0.
 */
export type ReadyCheck =
  | { kind: "fd" }
  | { kind: "log_line"; pattern: string }
  | { kind: "exec"; command: string; periodMs: number; timeoutMs: number };

export interface ServiceSpec {
  /** The key under `services:`; may contain dots (`ai.flow.app`). */
  name: string;
  /** Shell command line when `args` is null, else the program to run. */
  command: string;
  /** Arguments for `command` run without a shell; null: run `command` through the shell. */
  args: string[] | null;
  /** Start at once, without waiting for the green flag. Default false. */
  nowait: boolean;
  /** The gates it runs while, in file order, each named once. Default [flag]; [] when `nowait`. */
  when: GateCondition[];
  /** Fire and forget: started once, never restarted, not in status. Default false. */
  nomonitor: boolean;
  /** false: declared but never started. Default true. */
  enabled: boolean;
  /** Only on these platforms; null: on every platform. Default null. */
  platforms: Platform[] | null;
  /** Default "on-failure". `true`/`false` in YAML mean always/never. */
  restart: RestartPolicy;
  /** Merged over the daemon's environment. Default {}. */
  env: Record<string, string>;
  /** Absolute working directory; relative paths are resolved against the manifest's folder. Default: that folder. */
  cwd: string;
  /** What must hold of other services before this one starts, one entry a name, in file order. Default []. */
  dependsOn: Dependency[];
  /** Signal sent to the whole process group to stop it. Default "SIGTERM". */
  stopSignal: NodeJS.Signals;
  /** Then SIGKILL to the group. Default 5000 ms. */
  stopTimeoutMs: number;
  /** First delay after a quick crash, doubling each time. Default 100 ms. */
  restartDelayMs: number;
  /** Cap of the doubling delay. Default 30000 ms. */
  restartDelayMaxMs: number;
  /** Quick crashes in a row before the service goes fatal. Default 5. */
  maxRestarts: number;
  /** Uptime after which a run counts as stable and the crash streak resets. Default 10000 ms. */
  stableAfterMs: number;
  /** Exit codes that count as success, for `on-failure` and the `exit` cause; never empty. Default [0]. */
  successExitCodes: number[];
  /** Each backoff delay is drawn from delay * (1 +- this), a fraction from 0 to 1. Default 0. */
  restartJitter: number;
  /** A task run to completion: a success code ends it (`exited`, cause `exit`) whatever `restart` says. Default false. */
  oneshot: boolean;
  /** What makes the service `running` after its spawn; null: the spawn itself. Default null. */
  ready: ReadyCheck | null;
  /** Not ready this long after the spawn: the start failed (cause `not_ready`). Default 60000 ms. */
  readyTimeoutMs: number;
  /** The descriptor of the notify pipe (`ready: {fd}` or `notify_fd`), named in FLOWINIT_NOTIFY_FD; null: none. Default null. */
  notifyFd: number | null;
  /** Armed by the first heartbeat, then no heartbeat for this long: SIGKILL (cause `watchdog`); null: no watchdog. Default null. */
  watchdogMs: number | null;
  /** The stack is not whole without it: `daemon.health` counts it while it should run. Default false. */
  critical: boolean;
  /** Run through the shell when it fails (CONTRACT.md section 9); null: the settings' own, if any. Default null. */
  onFailure: string | null;
}

export interface CurveSettings {
  /** Absolute path of the daemon's secret key file. */
  secretKeyFile: string;
  /** Absolute path of the file listing authorized client public keys. */
  authorizedKeysFile: string;
}

export interface Settings {
  /** Control endpoints from the manifest; null: not set there. */
  control: string[] | null;
  /** Status endpoints from the manifest; null: not set there. */
  status: string[] | null;
  /** Absolute log directory; null: not set (the daemon picks its default). */
  logDir: string | null;
  /** Status tick. Default 500 ms. */
  intervalMs: number;
  /** Extra UIDs allowed on the control socket; null: not set. */
  allowUids: number[] | null;
  /** CURVE for tcp:// endpoints; null: not set. */
  curve: CurveSettings | null;
  /** Allow tcp:// endpoints without CURVE. Default false. */
  insecureTcp: boolean;
  /** Rotate a service log at this size. Default 10 MiB. */
  logMaxSizeBytes: number;
  /** Rotated files kept per service. Default 3. */
  logKeep: number;
  /** The manifest's gates (the green flag's `flag` is built in), in file order. Default []. */
  gates: GateSpec[];
  /** PULL endpoints taking the plain flag words from PUSH senders; null: none. */
  flagPull: string[] | null;
  /** `while_flag`: a Termux wake lock while the flag is up; null: none. */
  wakeLock: "while_flag" | null;
  /** The on_failure of every service without its own; null: none. Default null. */
  onFailure: string | null;
  /** Where to notify a person; null: nowhere. Default null. */
  notify: Notify | null;
}

export interface Manifest {
  /** Absolute path of the manifest file. */
  file: string;
  settings: Settings;
  /** In dependency order: every service comes after the ones it depends on. */
  services: ServiceSpec[];
}
