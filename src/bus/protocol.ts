/**
 * The wire format of CONTRACT.md sections 2 and 3: pure parsing of control
 * requests and the shapes of replies and status messages.
 */
import type { ErrorCode } from "../errors.js";
import type { ManifestDiff } from "../manifest/diff.js";
import type { GateView } from "../supervisor/gates.js";
import type { Cause } from "../supervisor/policy.js";
import type { StateName } from "../supervisor/states.js";

export type Phase = "waiting" | "running" | "stopping";

export interface ServiceEntry {
  name: string;
  state: StateName;
  pid: number | null;
  restarts: number;
  exit_code: number | null;
  signal: string | null;
  /** Why the last process ended (CONTRACT.md section 8); null before the first. */
  cause: Cause | null;
  /** ms since the epoch of the last state change. */
  since: number;
  nowait: boolean;
  cpu_percent: number | null;
  rss_bytes: number | null;
  /** ms since the current process started; null when not running. */
  uptime_ms?: number | null;
  /** Why a `fatal` service gave up (the reason of its event); null in every other state. */
  reason?: string | null;
  /** The last `STATUS=` line of the current run on its notify descriptor (CONTRACT.md section 8); null: none. */
  status_text?: string | null;
  /** The Android app named by a green flag's pid: watched, never signalled. */
  external?: true;
}

/** Whether the stack is whole (CONTRACT.md section 9). */
export interface Health {
  /** No critical service that should run now is down. */
  ok: boolean;
  /** The critical services that should run now (their gate open) and are not up, in the manifest's order. */
  down: string[];
}

export interface DaemonInfo {
  pid: number;
  version: string;
  phase: Phase;
  flag: boolean;
  started_at: number;
  /** The pid of the daemon that died uncleanly before this one, whose flag and stops this one took over; null otherwise. */
  recovered_from?: number | null;
  /** Every gate by name (CONTRACT.md section 10): the green flag's `flag`, then those of settings.gates. */
  gates?: Record<string, GateView>;
  health: Health;
}

export interface Stamp {
  seq: number;
  time: number;
}

export interface Snapshot extends Stamp {
  daemon: DaemonInfo;
  services: ServiceEntry[];
}

export interface EventMessage extends Stamp {
  service: string;
  from: StateName;
  to: StateName;
  pid: number | null;
  exit_code: number | null;
  signal: string | null;
  /** As the entry's. */
  cause: Cause | null;
  reason: string;
}

/** A gate that opened or closed (CONTRACT.md section 10): an event of no service. */
export interface GateEventMessage extends Stamp {
  service: null;
  gate: string;
  open: boolean;
  from: GateState;
  to: GateState;
  pid: null;
  exit_code: null;
  signal: null;
  cause: null;
  reason: string;
}

export type GateState = "open" | "closed";

/** What the `event` topic carries: a service's change, or a gate's flip. */
export type AnyEvent = EventMessage | GateEventMessage;

/** The `health` topic: published each time `daemon.health.ok` flips. */
export interface HealthMessage extends Stamp, Health {
  /** Which services are down and how (`modeld backoff (killed)`), or that all are up again. */
  reason: string;
}

/** One exit of a service, as `{"cmd": "history"}` answers it. */
export interface HistoryEntry {
  /** When it ended, ms since the epoch. */
  time: number;
  cause: Cause | null;
  /** How long the process had run, on the monotonic clock; null when it was never spawned. */
  uptime_ms: number | null;
  exit_code: number | null;
  signal: string | null;
  /** The last complete stderr lines before it ended, oldest first. */
  stderr_tail: string[];
  /** The state it went to, and the reason of that event (`killed by SIGKILL; restarting in 100ms`). */
  state: StateName;
  reason: string;
}

export type Topic = "status" | "event" | "device" | "health";

/** A reload's reply: the services in each group, and what it could not apply. */
export interface ReloadReply extends ManifestDiff {
  /** One line for each part that did not take (an authorized_keys file refused, so the old keys stay); usually empty. */
  warnings: string[];
}

export type Request =
  | { cmd: "ping" }
  | { cmd: "status" }
  | { cmd: "start" | "stop" | "restart" | "logs" | "history"; service: string }
  | { cmd: "green_flag" | "stop_flag"; pid?: number; name?: string }
  | { cmd: "gate"; name: string; open: boolean; reason?: string }
  | { cmd: "reload" }
  | { cmd: "shutdown" };

/** How a parsed request must be answered: in plain words or in JSON. */
export type Style = "plain" | "json";

export type Parsed =
  | { ok: true; style: Style; request: Request }
  | { ok: false; reply: string };

const PLAIN: Record<string, Request> = {
  green_flag: { cmd: "green_flag" },
  start_flag: { cmd: "green_flag" },
  stop_flag: { cmd: "stop_flag" },
  ping: { cmd: "ping" },
};

/** A gate request's own reason, shown in the gate's event and the snapshot: a line, not a document. */
export const MAX_GATE_REASON = 200;

/** Requests are flat objects; this leaves room for nested fields while bounding the cost of a hostile frame. */
export const MAX_REQUEST_DEPTH = 8;

const SERVICE_CMDS = new Set(["start", "stop", "restart", "logs", "history"]);
const FLAG_CMDS = new Set(["green_flag", "stop_flag"]);
const decoder = new TextDecoder("utf-8", { fatal: true });

/** `extra` extends the error object, e.g. `diagnostics` of an invalid manifest. */
export function errorReply(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ok: false, error: { code, message, ...extra } });
}

export function okReply(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ ok: true, ...fields });
}

/** Plain-word replies for the requests the Android side sends. */
export function plainReply(request: Request): string {
  return request.cmd === "ping" ? "PONG" : "ACK";
}

export function parseRequest(frame: Uint8Array): Parsed {
  let text: string;
  try {
    text = decoder.decode(frame).trim();
  } catch {
    return { ok: false, reply: "ERR invalid UTF-8" };
  }
  const plain = PLAIN[text];
  if (plain !== undefined) return { ok: true, style: "plain", request: plain };

  const json = text.startsWith("{") || text.startsWith("[");
  if (json && nestedDeeperThan(text, MAX_REQUEST_DEPTH)) {
    return { ok: false, reply: errorReply("bad_request", `JSON nested deeper than ${MAX_REQUEST_DEPTH} levels`) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    if (json) return { ok: false, reply: errorReply("bad_request", "invalid JSON") };
    return { ok: false, reply: `ERR unknown request` };
  }
  const checked = checkJson(value);
  return typeof checked === "string"
    ? { ok: false, reply: errorReply("bad_request", checked) }
    : { ok: true, style: "json", request: checked };
}

/** A JSON string (its end optional: a frame may be cut), or a bracket outside one. */
const JSON_TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"?|[[\]{}]/g;

/**
 * Whether brackets outside strings open more than `max` levels, read up to
 * the first one too many. JSON.parse has no depth bound: a 60 KiB frame of
 * `[[[[...` costs it 2.5 ms of the daemon's time, this 1 µs; on a flat frame
 * of that size this scan costs a tenth of what JSON.parse does. Malformed
 * JSON is JSON.parse's to report.
 */
function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  JSON_TOKEN.lastIndex = 0;
  for (let match = JSON_TOKEN.exec(text); match !== null; match = JSON_TOKEN.exec(text)) {
    const token = match[0];
    if (token === "[" || token === "{") {
      if (++depth > max) return true;
    } else if (token === "]" || token === "}") {
      depth--;
    }
  }
  return false;
}

/** A JSON request, or the message saying what is wrong with it. */
function checkJson(v: unknown): Request | string {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "a request must be a JSON object";
  const o = v as Record<string, unknown>;
  const cmd = o.cmd;
  if (typeof cmd !== "string") return "cmd: expected a string";
  if (cmd === "ping" || cmd === "status" || cmd === "shutdown" || cmd === "reload") return { cmd };
  if (SERVICE_CMDS.has(cmd)) {
    if (typeof o.service !== "string" || o.service === "") return `${cmd}: service: expected a service name`;
    return { cmd: cmd as "start" | "stop" | "restart" | "logs" | "history", service: o.service };
  }
  if (FLAG_CMDS.has(cmd)) {
    const req: Request = { cmd: cmd as "green_flag" | "stop_flag" };
    if (o.pid !== undefined) {
      if (!Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return `${cmd}: pid: expected a positive integer`;
      req.pid = o.pid as number;
    }
    if (o.name !== undefined) {
      if (typeof o.name !== "string" || o.name === "") return `${cmd}: name: expected a non-empty string`;
      req.name = o.name;
    }
    return req;
  }
  if (cmd === "gate") {
    if (typeof o.name !== "string" || o.name === "") return "gate: name: expected a gate name";
    if (typeof o.open !== "boolean") return "gate: open: expected true or false";
    const req: Request = { cmd, name: o.name, open: o.open };
    if (o.reason !== undefined) {
      if (typeof o.reason !== "string" || o.reason === "" || o.reason.length > MAX_GATE_REASON) return `gate: reason: expected a string of 1 to ${MAX_GATE_REASON} characters`;
      req.reason = o.reason;
    }
    return req;
  }
  return `unknown cmd ${JSON.stringify(cmd).slice(0, 64)}`;
}
