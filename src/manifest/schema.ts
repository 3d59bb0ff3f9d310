/**
 * The services.yaml format as zod schemas: the one source for the raw types,
 * the validation messages, the defaults and (via `z.toJSONSchema(ManifestSchema,
 * { io: "input" })`) the JSON Schema editors use. Hence only representable
 * pieces; the refinements (interval > 0, restart_delay <= restart_delay_max,
 * restart_jitter <= 100%) are simply absent from the JSON Schema. Units and paths are normalize.ts's.
 *
 * Every message is phrased `expected ...`: the loader prefixes the key path
 * and appends the offending value.
 */
import os from "node:os";
import * as z from "zod";
import {
  DURATION_PATTERN,
  MAX_DURATION_MS,
  MAX_SIZE_BYTES,
  PERCENT_PATTERN,
  SIZE_PATTERN,
  parseDuration,
  parsePercent,
  parseSize,
} from "./duration.js";
import { CONDITIONS, FLAG_GATE, NOTIFY, PLATFORMS, RESTART_POLICIES } from "./spec.js";

/**
 * Defaults of the optional keys, written as they would be in YAML so the JSON
 * Schema shows them. `cwd` is absent: it defaults to the manifest's folder.
 */
const DEFAULTS = {
  service: {
    nowait: false,
    nomonitor: false,
    enabled: true,
    restart: "on-failure",
    stop_signal: "SIGTERM",
    stop_timeout: "5s",
    restart_delay: "100ms",
    restart_delay_max: "30s",
    max_restarts: 5,
    stable_after: "10s",
    success_exit_codes: [0],
    restart_jitter: "0%",
    oneshot: false,
    ready_timeout: "60s",
    critical: false,
  },
  /** Of a `ready: {exec}` probe. */
  probe: {
    period: "1s",
    timeout: "2s",
  },
  settings: {
    interval: "500ms",
    insecure_tcp: false,
    log_max_size: "10MiB",
    log_keep: 3,
  },
} as const;

/** How a service is stopped when nothing says otherwise, also for what a dead daemon left of a service no longer in the manifest. */
export const DEFAULT_STOP: { signal: NodeJS.Signals; timeoutMs: number } = {
  signal: DEFAULTS.service.stop_signal,
  timeoutMs: parseDuration(DEFAULTS.service.stop_timeout)!,
};

const expected = (what: string) => ({ error: `expected ${what}` });

/** A mapping that rejects unknown keys, listing the known ones. */
function mapping<Shape extends z.ZodRawShape>(shape: Shape, what: string) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? `expected one of ${known}` : `expected ${what}`,
  });
}

// A schema with refinements takes the message once per check, so that a
// failing check reads the same as a wrong type.
const NON_EMPTY = expected("a non-empty string");
const nonEmptyString = z.string(NON_EMPTY).min(1, NON_EMPTY);

const bool = z.boolean(expected("true or false"));

const COUNT = expected("an integer >= 0");
const count = z.int(COUNT).min(0, COUNT);

// zod reports a union member's own issue when only that member got past the
// type check (a string not matching the pattern), so each member carries the
// whole message too. Past `max`, the parser returns null, so the schema
// refuses what normalize could not convert.
function quantity(pattern: RegExp, parse: (v: unknown) => number | null, max: number, what: string, most: string) {
  const e = expected(what);
  const tooLarge = expected(most);
  return z.union(
    [
      // A huge YAML integer arrives as an unsafe number, which the int check
      // rejects before max does: both say it is too large.
      z
        .int({ error: (issue) => (Number(issue.input) > max ? tooLarge.error : e.error) })
        .min(0, e)
        .max(max, tooLarge),
      z.string(e).regex(pattern, e).refine((v) => !pattern.test(v) || parse(v) !== null, tooLarge),
    ],
    e,
  );
}

const duration = quantity(
  DURATION_PATTERN,
  parseDuration,
  MAX_DURATION_MS,
  "a duration such as 500ms, 5s, 1.5s, 2m, 1h or a number of milliseconds",
  `a duration of at most ${MAX_DURATION_MS}ms (24.8 days)`,
);

const size = quantity(
  SIZE_PATTERN,
  parseSize,
  MAX_SIZE_BYTES,
  "a size such as 512KiB, 10MiB, 10MB, 1M or a number of bytes",
  `a size of at most ${MAX_SIZE_BYTES} bytes`,
);

// Names become log file names: no slashes or spaces, not `.` or `..`.
const serviceName = z
  .string()
  .regex(
    /^(?!\.+$)[A-Za-z0-9._-]+$/,
    expected("a service name of letters, digits, '.', '_' and '-', not only dots"),
  );

// Both spellings of every signal this platform knows: `SIGTERM` and `TERM`.
const SIGNAL_NAMES = Object.keys(os.constants.signals);
const signal = z.enum(
  [...SIGNAL_NAMES, ...SIGNAL_NAMES.map((name) => name.replace(/^SIG/, ""))],
  expected("a signal name such as SIGTERM, SIGINT, SIGHUP or TERM"),
);

const ENDPOINT = expected("an endpoint starting with ipc:// or tcp://");
const endpoint = z.string(ENDPOINT).regex(/^(ipc|tcp):\/\/./, ENDPOINT);

const ENDPOINTS = expected("an endpoint starting with ipc:// or tcp://, or a non-empty list of them");
const endpoints = z.union([endpoint, z.array(endpoint, ENDPOINTS).min(1, ENDPOINTS)], ENDPOINTS);

const args = z
  .array(z.union([z.string(), z.number()], expected("a string or a number")), expected("a list of arguments"))
  .optional();

const platforms = z
  .array(z.enum(PLATFORMS, expected("android or desktop")), expected("a list of platforms (android, desktop)"))
  .optional();

const EXIT_CODE = expected("an exit code, an integer from 0 to 255");
const EXIT_CODES = expected("a non-empty list of exit codes");
const exitCodes = z.array(z.int(EXIT_CODE).min(0, EXIT_CODE).max(255, EXIT_CODE), EXIT_CODES).min(1, EXIT_CODES);

const PERCENT = expected("a percentage from 0% to 100%, such as 10%");
const percent = z
  .string(PERCENT)
  .regex(PERCENT_PATTERN, PERCENT)
  .refine((v) => !PERCENT_PATTERN.test(v) || parsePercent(v)! <= 1, PERCENT);

const restart = z.union(
  [z.enum(RESTART_POLICIES), z.boolean()],
  expected("always, on-failure, never, true or false"),
);

const env = z
  .record(
    z.string().regex(/^[^=\0]+$/, expected("a variable name without '='")),
    z.union([z.string(), z.number(), z.boolean()], expected("a string, a number or a boolean")),
    expected("a mapping of environment variables"),
  )
  .optional();

const DEPENDS_ON = expected("a list of service names, or a mapping of service names to started, ready or completed");
const dependsOn = z
  .union(
    [
      z.array(z.string(expected("a service name")), DEPENDS_ON),
      z.record(z.string(), z.enum(CONDITIONS, expected("started, ready or completed")), DEPENDS_ON),
    ],
    DEPENDS_ON,
  )
  .optional();

// A gate's name is also a word of `when`, where `!` says "while closed".
const GATE_NAME_PATTERN = /^(?!\.+$)[A-Za-z0-9._-]+$/;
/** An entry of `when`: a gate's name, `!` first for "while it is closed". */
export const WHEN_PATTERN = /^!?(?!\.+$)[A-Za-z0-9._-]+$/;
const WHEN_ENTRY = expected("a gate name, or !NAME for while that gate is closed");
const when = z
  .array(z.string(WHEN_ENTRY).regex(WHEN_PATTERN, WHEN_ENTRY), expected("a list of gate names"))
  .optional();
// null: not a duration at all, which the pattern reports.
const positive = duration.refine((v) => (parseDuration(v) ?? 1) > 0, expected("a duration greater than 0"));

// Past 255 a service would need a descriptor table Node builds entry by entry.
const FD = expected("a descriptor number from 3 to 255 (0, 1 and 2 are stdin, stdout and stderr)");
const fd = z.int(FD).min(3, FD).max(255, FD);

const REGEX = expected("a regular expression");
const regex = nonEmptyString.refine((v) => {
  try {
    new RegExp(v);
    return true;
  } catch {
    return false;
  }
}, REGEX);

const READY_KINDS = ["fd", "log_line", "exec"] as const;
const p = DEFAULTS.probe;
const ready = mapping(
  {
    fd: fd.optional().describe("Ready on READY=1 (or an empty line) on this descriptor, a pipe named in FLOWINIT_NOTIFY_FD."),
    log_line: regex.optional().describe("Ready once a line of the service's output matches this regular expression."),
    exec: nonEmptyString.optional().describe("Ready once this probe command (run through the shell) exits 0."),
    period: positive.optional().describe(`Between probes (exec). Default ${p.period}.`),
    timeout: positive.optional().describe(`A probe running longer is killed and counts as failed (exec). Default ${p.timeout}.`),
  },
  "a mapping with one of fd, log_line or exec",
).superRefine((r, ctx) => {
  const given = READY_KINDS.filter((k) => r[k] !== undefined);
  // A probe's keys without its command: their own messages say what is missing.
  if (given.length === 0 && r.period === undefined && r.timeout === undefined) {
    ctx.addIssue({ code: "custom", path: [], input: r, message: "expected one of fd, log_line or exec" });
  }
  for (const k of given.slice(1)) {
    ctx.addIssue({ code: "custom", path: [k], input: r[k], message: `expected one check only, got ${given[0]} too` });
  }
  for (const k of ["period", "timeout"] as const) {
    if (r[k] !== undefined && r.exec === undefined) {
      ctx.addIssue({ code: "custom", path: [k], input: r[k], message: "expected exec beside it: period and timeout are a probe's" });
    }
  }
  // An unknown key or a bad value is message enough.
}, { when: (payload) => payload.issues.length === 0 });

const d = DEFAULTS.service;
const service = mapping(
  {
    command: nonEmptyString.describe("Shell command line; with args, the program to run without a shell."),
    args: args.describe("Arguments; then command runs without a shell."),
    nowait: bool.default(d.nowait).describe("Start at once, without waiting for the green flag."),
    nomonitor: bool.default(d.nomonitor).describe("Fire and forget: never restarted, not in status."),
    enabled: bool.default(d.enabled).describe("false: declared but never started."),
    platforms: platforms.describe("Only on these platforms; absent: on every platform."),
    restart: restart.default(d.restart).describe("Restart policy; true = always, false = never."),
    env: env.describe("Merged over the daemon's environment."),
    cwd: nonEmptyString.optional().describe("Working directory, relative to the manifest's folder."),
    depends_on: dependsOn.describe(
      "Services to wait for: a list (each running), or a mapping of names to started, ready or completed (a oneshot that exited with a success code).",
    ),
    stop_signal: signal.default(d.stop_signal).describe("Sent to the process group to stop it."),
    stop_timeout: duration.default(d.stop_timeout).describe("Then SIGKILL to the process group."),
    restart_delay: duration.default(d.restart_delay).describe("First delay after a quick crash, doubling."),
    restart_delay_max: duration.default(d.restart_delay_max).describe("Cap of the doubling delay."),
    max_restarts: count.default(d.max_restarts).describe("Quick crashes in a row before giving up."),
    stable_after: duration.default(d.stable_after).describe("Uptime after which the crash streak resets."),
    success_exit_codes: exitCodes
      .default([...d.success_exit_codes])
      .describe("Exit codes that count as success: not restarted on-failure, cause `exit`."),
    restart_jitter: percent.default(d.restart_jitter).describe("Each restart delay drawn from delay * (1 +- this)."),
    oneshot: bool.default(d.oneshot).describe("A task run to completion: a success code ends it, `completed` for its dependents."),
    when: when.describe("Gates it runs while: NAME while open, !NAME while closed; flag is the green flag's. Default [flag]; nowait is []."),
    ready: ready.optional().describe("What makes the service running after its spawn: {fd: N}, {log_line: REGEX} or {exec: COMMAND, period, timeout}."),
    ready_timeout: positive.default(d.ready_timeout).describe("Not ready this long after the spawn: the start failed (cause not_ready)."),
    notify_fd: fd.optional().describe("A notify pipe as this descriptor without readiness, for WATCHDOG=1 and STATUS= lines."),
    watchdog: positive.optional().describe("Armed by the first heartbeat; then no heartbeat for this long: SIGKILL, restart per policy."),
    critical: bool
      .default(d.critical)
      .describe("The stack is not whole without it: daemon.health is not ok while it should run and is not running."),
    on_failure: nonEmptyString
      .optional()
      .describe("Shell command run (not waited on, at most once per 30s, killed after 10s) when it crashes, is killed, misses its watchdog or goes fatal."),
  },
  "a mapping with at least a command",
).superRefine((s, ctx) => {
  if (s.nowait && s.when !== undefined) {
    ctx.addIssue({ code: "custom", path: ["when"], input: s.when, message: "expected no when on a nowait service (nowait: true is when: [])" });
  }
  if (s.notify_fd !== undefined && s.ready?.fd !== undefined && s.ready.fd !== s.notify_fd) {
    ctx.addIssue({ code: "custom", path: ["notify_fd"], input: s.notify_fd, message: `expected the descriptor of ready.fd (${s.ready.fd}): a service has one notify pipe` });
  }
  if (s.nomonitor) {
    for (const k of ["ready", "watchdog", "notify_fd"] as const) {
      if (s[k] !== undefined) ctx.addIssue({ code: "custom", path: [k], input: s[k], message: "expected no health check on a nomonitor service: nothing watches it after its spawn" });
    }
  }
  // A nomonitor service is not watched: it has no state to be down in, nor a failure to report.
  if (s.nomonitor && s.critical) {
    ctx.addIssue({ code: "custom", path: ["critical"], input: s.critical, message: "expected false on a nomonitor service (it is not supervised)" });
  }
  if (s.nomonitor && s.on_failure !== undefined) {
    ctx.addIssue({ code: "custom", path: ["on_failure"], input: s.on_failure, message: "expected no on_failure on a nomonitor service (it is not supervised)" });
  }
  // Also called when a sibling key is bad; a bad duration is reported by its pattern.
  const delay = parseDuration(s.restart_delay);
  const max = parseDuration(s.restart_delay_max);
  if (delay === null || max === null || max >= delay) return;
  // Blame the key the user wrote: with the default cap, that is restart_delay.
  if (s.restart_delay_max === d.restart_delay_max) {
    ctx.addIssue({
      code: "custom",
      path: ["restart_delay"],
      input: s.restart_delay,
      message: `expected at most restart_delay_max (${s.restart_delay_max})`,
    });
  } else {
    ctx.addIssue({
      code: "custom",
      path: ["restart_delay_max"],
      input: s.restart_delay_max,
      message: `expected at least restart_delay (${s.restart_delay})`,
    });
  }
});

const curve = mapping(
  {
    secret_key_file: nonEmptyString.describe("The daemon's secret key file."),
    authorized_keys_file: nonEmptyString.describe("Public keys of the clients allowed to connect."),
  },
  "a mapping with secret_key_file and authorized_keys_file",
);

/** Below absolute zero no reading ever comes: such a gate could never open. */
const CELSIUS = expected("degrees Celsius above absolute zero (-273.15)");
const celsius = z.number(CELSIUS).gt(-273.15, CELSIUS);
const MIN_PERCENT = expected("a number from 0 to 100");
const minPercent = z.number(MIN_PERCENT).min(0, MIN_PERCENT).max(100, MIN_PERCENT);
// 100% free never happens on a file system that holds anything: a gate at 100 could never open.
const MIN_FREE = expected("a number from 0 to less than 100");
const minFree = z.number(MIN_FREE).min(0, MIN_FREE).lt(100, MIN_FREE);

/** Each kind of gate: its key, and the keys that only it takes. */
export const GATE_KINDS = {
  temperature_max_c: ["clear_below_c", "file"],
  battery_min_percent: ["or_charging"],
  disk_free_min_percent: ["path"],
  file_exists: [],
  external: [],
} as const;
const KIND_KEYS = Object.keys(GATE_KINDS) as (keyof typeof GATE_KINDS)[];

const gate = mapping(
  {
    temperature_max_c: celsius.optional().describe("Closes above this temperature."),
    clear_below_c: celsius.optional().describe("With temperature_max_c: opens again only below this temperature."),
    file: nonEmptyString.optional().describe("With temperature_max_c: the file of millidegrees to read; absent: the hottest thermal zone."),
    battery_min_percent: minPercent.optional().describe("Closes below this battery charge."),
    or_charging: bool.optional().describe("With battery_min_percent: open whatever the charge while charging."),
    disk_free_min_percent: minFree.optional().describe("Closes below this much free space."),
    path: nonEmptyString.optional().describe("With disk_free_min_percent: a path on the file system to watch; absent: the log folder."),
    file_exists: nonEmptyString.optional().describe("Open while this path exists."),
    external: z.literal(true, expected("true")).optional().describe("Opened and closed by gate requests (flowinit gate NAME open|close)."),
  },
  `a gate: a mapping with one of ${KIND_KEYS.join(", ")}`,
).superRefine((g, ctx) => {
  const kinds = KIND_KEYS.filter((k) => g[k] !== undefined);
  const [kind, second] = kinds;
  if (kind === undefined) {
    ctx.addIssue({ code: "custom", path: [], input: g, message: `expected a gate: one of ${KIND_KEYS.join(", ")}` });
    return;
  }
  if (second !== undefined) {
    ctx.addIssue({ code: "custom", path: [second], input: g[second], message: `expected one kind of gate only, and this one is ${kind}` });
  }
  for (const other of KIND_KEYS) {
    for (const key of GATE_KINDS[other] as readonly (keyof typeof g)[]) {
      if (other !== kind && g[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], input: g[key], message: `expected only with ${other}` });
    }
  }
  if (kind !== "temperature_max_c") return;
  const max = g.temperature_max_c!;
  if (g.clear_below_c === undefined) {
    ctx.addIssue({ code: "custom", path: ["clear_below_c"], input: undefined, message: "expected clear_below_c beside temperature_max_c: the temperature below which the gate opens again" });
  } else if (g.clear_below_c >= max) {
    // At or above the limit, a reading between the two would close and open the gate on every tick.
    ctx.addIssue({ code: "custom", path: ["clear_below_c"], input: g.clear_below_c, message: `expected below temperature_max_c (${max})` });
  }
});

const GATE_NAME = expected("a gate name of letters, digits, '.', '_' and '-', not only dots");
const gateName = z
  .string()
  .regex(GATE_NAME_PATTERN, GATE_NAME)
  .refine((n) => n !== FLAG_GATE, expected(`another name: ${FLAG_GATE} is the green flag's own gate`));

const WAKE_LOCK = expected("while_flag");


const sd = DEFAULTS.settings;
const settings = mapping(
  {
    control: endpoints.optional().describe("Control (REP) endpoints."),
    status: endpoints.optional().describe("Status (PUB) endpoints."),
    log_dir: nonEmptyString.optional().describe("Log folder, relative to the manifest's folder."),
    interval: positive.default(sd.interval).describe("Status snapshot interval."),
    allow_uids: z
      .array(count, expected("a list of UIDs"))
      .optional()
      .describe("UIDs allowed on the control socket besides the daemon's."),
    curve: curve.optional().describe("CURVE security for tcp:// endpoints."),
    insecure_tcp: bool.default(sd.insecure_tcp).describe("Allow tcp:// endpoints without CURVE."),
    log_max_size: size.default(sd.log_max_size).describe("Rotate a service log at this size."),
    log_keep: count.default(sd.log_keep).describe("Rotated log files kept per service."),
    gates: z
      .record(gateName, gate, expected("a mapping of gate names to gates"))
      .optional()
      .describe("Conditions services run while (their when); flag, the green flag's, is built in."),
    flag_pull: endpoints.optional().describe("PULL endpoints for senders that PUSH green_flag, start_flag and stop_flag."),
    wake_lock: z.enum(["while_flag"], WAKE_LOCK).optional().describe("while_flag: hold a Termux wake lock while the flag is up."),
    on_failure: nonEmptyString.optional().describe("on_failure of every service that has none of its own."),
    notify: z
      .enum(NOTIFY, expected("termux"))
      .optional()
      .describe("termux: an ongoing Android notification through Termux:API, and an alert when a critical service goes down."),
  },
  "a mapping of daemon settings",
);

/** A whole services.yaml file. */
export const ManifestSchema = mapping(
  {
    settings: settings.prefault({}).describe("Daemon-wide settings."),
    services: z
      .record(serviceName, service, expected("a mapping of service names to services"))
      .nullable()
      .describe("The services, by name; null: none."),
  },
  "a mapping with a services key",
);

/** A manifest as written, validated and with defaults filled in, units not yet converted. */
export type RawManifest = z.output<typeof ManifestSchema>;
export type RawService = z.output<typeof service>;
export type RawSettings = z.output<typeof settings>;

/** The probe's defaults, for normalize. */
export const PROBE_DEFAULTS = DEFAULTS.probe;
