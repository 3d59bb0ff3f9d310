/**
 * The typed client of the control socket, shared by the CLI and library
 * users (the same client serves both, as in process-compose).
 */
import * as zmq from "zeromq";
import { UserError, EXIT } from "../errors.js";
import type { Request, ServiceEntry, Snapshot } from "../bus/protocol.js";
import type { ManifestDiff } from "../manifest/diff.js";

export interface ClientOptions {
  /** Control endpoint. Default: `FLOWINIT_CONTROL`, else the platform default. */
  control: string;
  /** How long to wait for a daemon to answer. Default 3000 ms. */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 3000;

/** A JSON reply that says `ok: false`. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The whole error object of the reply, for fields beyond code and message (`diagnostics`). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "RequestError";
  }
}

/**
 * Sends one request and returns the reply text. `timeoutMs: null` waits as
 * long as the daemon takes (a stop may wait out a stop_timeout) once a ping
 * has shown that a daemon answers.
 */
export async function sendRaw(endpoint: string, body: string, timeoutMs: number | null = DEFAULT_TIMEOUT_MS): Promise<string> {
  if (timeoutMs === null) {
    await sendRaw(endpoint, "ping");
  }
  const sock = new zmq.Request({ linger: 0, receiveTimeout: timeoutMs ?? -1, sendTimeout: timeoutMs ?? -1 });
  try {
    sock.connect(endpoint);
    await sock.send(body);
    const [reply] = await sock.receive();
    return reply?.toString("utf8") ?? "";
  } catch (e) {
    if ((e as { code?: string }).code === "EAGAIN") {
      throw new UserError(`no daemon answers at ${endpoint}`, EXIT.unreachable);
    }
    throw e;
  } finally {
    sock.close();
  }
}

/** Sends a JSON request; resolves with the reply's fields, throws RequestError on `ok: false`. */
export async function request<T = Record<string, unknown>>(
  endpoint: string,
  req: Request,
  timeoutMs: number | null = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  const text = await sendRaw(endpoint, JSON.stringify(req), timeoutMs);
  const reply = JSON.parse(text) as { ok: boolean; error?: { code: string; message: string } } & T;
  if (!reply.ok) throw new RequestError(reply.error?.code ?? "unknown", reply.error?.message ?? text, reply.error);
  return reply;
}

export class Client {
  readonly control: string;
  readonly timeoutMs: number;

  constructor(opts: ClientOptions) {
    this.control = opts.control;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async ping(): Promise<void> {
    await sendRaw(this.control, "ping", this.timeoutMs);
  }

  async status(): Promise<Snapshot> {
    return (await request<{ status: Snapshot }>(this.control, { cmd: "status" }, this.timeoutMs)).status;
  }

  /** Green (start) or stop flag; `pid` names the Android app's process (CONTRACT.md section 5). */
  async flag(which: "green" | "stop", opts: { pid?: number; name?: string } = {}): Promise<void> {
    const cmd = which === "green" ? "green_flag" : "stop_flag";
    await request(this.control, { cmd, ...opts }, which === "stop" ? null : this.timeoutMs);
  }

  async start(service: string): Promise<ServiceEntry> {
    return (await request<{ service: ServiceEntry }>(this.control, { cmd: "start", service }, this.timeoutMs)).service;
  }

  /** Waits until the service's process tree is gone, however long its stop_timeout. */
  async stop(service: string): Promise<ServiceEntry> {
    return (await request<{ service: ServiceEntry }>(this.control, { cmd: "stop", service }, null)).service;
  }

  async restart(service: string): Promise<ServiceEntry> {
    return (await request<{ service: ServiceEntry }>(this.control, { cmd: "restart", service }, null)).service;
  }

  /** Where the daemon writes the service's output. */
  async logPath(service: string): Promise<string> {
    return (await request<{ path: string }>(this.control, { cmd: "logs", service }, this.timeoutMs)).path;
  }

  /** Waits until the difference is applied: removed and changed services may take their stop_timeout. */
  async reload(): Promise<ManifestDiff> {
    return request<ManifestDiff>(this.control, { cmd: "reload" }, null);
  }

  async shutdown(): Promise<void> {
    await request(this.control, { cmd: "shutdown" }, this.timeoutMs);
  }
}
