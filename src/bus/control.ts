/**
 * The control socket. A ROUTER serves REQ clients exactly as a REP would,
 * but lets a slow request (a stop waiting out its timeout) be answered later
 * while other clients are served meanwhile. Every request gets one reply.
 */
import * as zmq from "zeromq";
import type { Logger } from "pino";
import type { CurveServerOptions } from "./auth.js";
import { errorReply, parseRequest, type Request, type Style } from "./protocol.js";
import { ReceivingPair } from "./sockets.js";

/** Answers one parsed request with the reply frame's text. */
export type Handler = (request: Request, style: Style) => Promise<string>;

/** Requests are a few hundred bytes; libzmq drops a peer that sends more than this in one message. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * sendTimeout 0: a reply goes at once or not at all (to a peer past its
 * high-water mark), and zeromq.js never defers a send, which would make a
 * second send in the same turn throw "Socket is busy writing".
 */
const OPTIONS = { linger: 0, sendTimeout: 0, maxMessageSize: MAX_REQUEST_BYTES };
/** How long replies still queued at close may take to leave. */
const CLOSE_LINGER_MS = 500;

/** Under CURVE, only authorized client keys get through the ZAP handler. */
export class ControlServer extends ReceivingPair<zmq.Router> {
  constructor(
    private readonly handle: Handler,
    log: Logger,
    curve: CurveServerOptions | null = null,
  ) {
    super((o) => new zmq.Router(o), OPTIONS, curve, log, "control");
  }

  /** Serves until the sockets close. */
  serve(): Promise<void> {
    return this.receive((socket, frames) => void this.answer(socket, frames));
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
  override close(): void {
    for (const socket of this.all) socket.linger = CLOSE_LINGER_MS;
    super.close();
  }
}
