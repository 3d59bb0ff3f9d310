/**
 * The control socket. A ROUTER serves REQ clients exactly as a REP would,
 * but lets a slow request (a stop waiting out its timeout) be answered later
 * while other clients are served meanwhile. Every request gets one reply.
 */
import * as zmq from "zeromq";
import type { Logger } from "pino";
import { restrictToUids, type CurveServerOptions } from "./auth.js";
import { errorReply, parseRequest, type Request, type Style } from "./protocol.js";
import { received } from "./receive.js";

/** Answers one parsed request with the reply frame's text. */
export type Handler = (request: Request, style: Style) => Promise<string>;

/** Requests are a few hundred bytes; libzmq drops a peer that sends more than this in one message. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** Which of the server's sockets an endpoint goes to: CURVE is set per socket, not per endpoint. */
export const isSecured = (endpoint: string, curve: object | null) => curve !== null && endpoint.startsWith("tcp://");

/**
 * sendTimeout 0: a reply goes at once or not at all (to a peer past its
 * high-water mark), and zeromq.js never defers a send, which would make a
 * second send in the same turn throw "Socket is busy writing".
 */
const OPTIONS = { linger: 0, sendTimeout: 0, maxMessageSize: MAX_REQUEST_BYTES };
/** How long replies still queued at close may take to leave. */
const CLOSE_LINGER_MS = 500;

export class ControlServer {
  /** ipc:// endpoints, and tcp:// ones when they run without CURVE (insecure_tcp). */
  readonly socket = new zmq.Router(OPTIONS);
  /** tcp:// endpoints under CURVE; only authorized client keys get through its ZAP handler. */
  private readonly secure: zmq.Router | null;

  constructor(
    private readonly handle: Handler,
    private readonly log: Logger,
    private readonly curve: CurveServerOptions | null = null,
  ) {
    this.secure = curve && new zmq.Router({ ...OPTIONS, ...curve });
  }

  /** Restricts ipc:// peers to these UIDs (see restrictToUids). Must come before bind. */
  allowUids(uids: number[]): void {
    restrictToUids(this.socket, uids, this.log);
  }

  async bind(endpoints: string[]): Promise<void> {
    for (const ep of endpoints) await (isSecured(ep, this.curve) ? this.secure! : this.socket).bind(ep);
  }

  /** Serves until the sockets close. */
  async serve(): Promise<void> {
    await Promise.all([this.socket, this.secure].map((s) => s && this.serveOn(s)));
  }

  private async serveOn(socket: zmq.Router): Promise<void> {
    for await (const frames of received(socket, this.log, "control")) void this.answer(socket, frames);
  }

  private async answer(socket: zmq.Router, frames: Buffer[]): Promise<void> {
    // [identity, (routing frames..., empty delimiter)?, body]; REQ clients always send the delimiter.
    const delimiter = frames.findIndex((f, i) => i > 0 && f.length === 0);
    const envelope = delimiter === -1 ? frames.slice(0, 1) : frames.slice(0, delimiter + 1);
    const body = frames.slice(envelope.length);
    if (body.length !== 1) {
      this.log.debug({ frames: body.length }, "dropped a request that is not one frame");
      return;
    }
    const parsed = parseRequest(body[0]!);
    let reply: string;
    if (!parsed.ok) {
      reply = parsed.reply;
    } else {
      try {
        reply = await this.handle(parsed.request, parsed.style);
      } catch (e) {
        this.log.error({ err: e }, "request failed");
        reply = parsed.style === "plain" ? "ERR internal error" : errorReply("internal", String(e));
      }
    }
    try {
      await socket.send([...envelope, reply]);
    } catch (e) {
      if (!socket.closed) this.log.warn({ err: e }, "control reply failed");
    }
  }

  /**
   * Closes both sockets. Replies already sent may still sit in libzmq's
   * queues (a refused reload answered just before the shutdown): they get a
   * moment to leave, instead of linger 0's drop.
   */
  close(): void {
    for (const socket of [this.socket, this.secure]) {
      if (socket === null) continue;
      socket.linger = CLOSE_LINGER_MS;
      socket.close();
    }
  }
}
