/**
 * The typed client of the control socket, shared by the CLI and library
 * users (the same client serves both, as in process-compose).
 */
import * as zmq from "zeromq";
import { UserError, EXIT } from "../errors.js";
import type { HistoryEntry, ReloadReply, Request, ServiceEntry, Snapshot } from "../bus/protocol.js";
import type { GateView } from "../supervisor/gates.js";
import { defaultEndpoint } from "../platform/endpoints.js";
import type { CurveClientOptions } from "./curve.js";

export interface ClientOptions {
  /** Control endpoint. Default: the first of `FLOWINIT_CONTROL`, else the platform default. */
  control?: string;
  /** How long to wait for a daemon to answer. Default 3000 ms. */
  timeoutMs?: number;
  /** CURVE socket options for a tcp:// endpoint (see curveClientOptions). Default: none. */
  curve?: CurveClientOptions;
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
 * How a client waits for a request that takes as long as the daemon needs (a
 * stop waits out the service's stop_timeout; a reload may stop many services
 * in turn): with no time limit of its own, but only while the daemon is there.
 * libzmq sends a ZMTP PING every second and drops the connection when nothing
 * comes back for 3 s (a daemon frozen by SIGSTOP, a peer gone from the
 * network); a daemon that dies closes it at once. Either way the connection
 * drops, and the client gives up: the request died with the connection.
 * `immediate` keeps the request from waiting in a queue for a daemon that is
 * not connected, so the send itself times out.
 */
const WHILE_ALIVE = { heartbeatInterval: 1000, heartbeatTimeout: DEFAULT_TIMEOUT_MS, immediate: true };

/**
 * Sends one request and returns the reply text. `timeoutMs: null` waits as
 * long as the daemon takes, once a ping has shown that a daemon answers, and
 * no longer than the connection to it lives.
 */
export async function sendRaw(
  endpoint: string,
  body: string,
  timeoutMs: number | null = DEFAULT_TIMEOUT_MS,
  curve: CurveClientOptions = {},
): Promise<string> {
  if (timeoutMs === null) {
    await sendRaw(endpoint, "ping", DEFAULT_TIMEOUT_MS, curve);
  }
  const sock = new zmq.Request({
    linger: 0,
    sendTimeout: timeoutMs ?? DEFAULT_TIMEOUT_MS,
    receiveTimeout: timeoutMs ?? -1,
    ...(timeoutMs === null ? WHILE_ALIVE : {}),
    ...curve,
  });
  const unreachable = () => new UserError(`no daemon answers at ${endpoint}`, EXIT.unreachable);
  const exchange = async () => {
    sock.connect(endpoint);
    await sock.send(body);
    const [reply] = await sock.receive();
    return reply?.toString("utf8") ?? "";
  };
  try {
    if (timeoutMs !== null) return await exchange();
    return await new Promise<string>((resolve, reject) => {
      // Listening before the connection exists: no drop goes unseen.
      sock.events.on("disconnect", () => reject(unreachable()));
      exchange().then(resolve, reject);
    });
  } catch (e) {
    if ((e as { code?: string }).code === "EAGAIN") throw unreachable();
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
  curve: CurveClientOptions = {},
): Promise<T> {
  const text = await sendRaw(endpoint, JSON.stringify(req), timeoutMs, curve);
  const reply = JSON.parse(text) as { ok: boolean; error?: { code: string; message: string } } & T;
  if (!reply.ok) throw new RequestError(reply.error?.code ?? "unknown", reply.error?.message ?? text, reply.error);
  return reply;
}

export class Client {
  readonly control: string;
  readonly timeoutMs: number;
  private readonly curve: CurveClientOptions;

  constructor(opts: ClientOptions = {}) {
    this.control = opts.control ?? defaultEndpoint("control");
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.curve = opts.curve ?? {};
  }

  private call<T>(req: Request, timeoutMs: number | null = this.timeoutMs): Promise<T> {
    return request<T>(this.control, req, timeoutMs, this.curve);
  }

  async ping(): Promise<void> {
    await sendRaw(this.control, "ping", this.timeoutMs, this.curve);
  }

  async status(): Promise<Snapshot> {
    return (await this.call<{ status: Snapshot }>({ cmd: "status" })).status;
  }

  /** Green (start) or stop flag; `pid` names the Android app's process (CONTRACT.md section 5). */
  async flag(which: "green" | "stop", opts: { pid?: number; name?: string } = {}): Promise<void> {
    const cmd = which === "green" ? "green_flag" : "stop_flag";
    await this.call({ cmd, ...opts }, which === "stop" ? null : this.timeoutMs);
  }

  /**
   * Opens or closes an external gate (CONTRACT.md section 10); `reason` is
   * shown in its event and the snapshot. Waits until what the gate no longer
   * lets run is stopped, however long that takes.
   */
  async gate(name: string, open: boolean, reason?: string): Promise<GateView> {
    return (await this.call<{ gate: GateView }>({ cmd: "gate", name, open, ...(reason === undefined ? {} : { reason }) }, null)).gate;
  }

  async start(service: string): Promise<ServiceEntry> {
    return (await this.call<{ service: ServiceEntry }>({ cmd: "start", service })).service;
  }

  /** Waits until the service's process tree is gone, however long its stop_timeout. */
  async stop(service: string): Promise<ServiceEntry> {
    return (await this.call<{ service: ServiceEntry }>({ cmd: "stop", service }, null)).service;
  }

  async restart(service: string): Promise<ServiceEntry> {
    return (await this.call<{ service: ServiceEntry }>({ cmd: "restart", service }, null)).service;
  }

  /** Where the daemon writes the service's output. */
  async logPath(service: string): Promise<string> {
    return (await this.call<{ path: string }>({ cmd: "logs", service })).path;
  }

  /** The service's last exits (up to 10), newest first, each with the stderr lines it left. */
  async history(service: string): Promise<HistoryEntry[]> {
    return (await this.call<{ history: HistoryEntry[] }>({ cmd: "history", service })).history;
  }

  /** Waits until the difference is applied: removed and changed services may take their stop_timeout. */
  async reload(): Promise<ReloadReply> {
    return this.call<ReloadReply>({ cmd: "reload" }, null);
  }

  async shutdown(): Promise<void> {
    await this.call({ cmd: "shutdown" });
  }
}
