/**
 * Security is per socket in ZeroMQ, not per endpoint: a CURVE server socket
 * demands CURVE on its ipc endpoints too. Each of the daemon's serving
 * sockets (control, status, flag_pull) is therefore a pair: one for ipc://
 * endpoints (and tcp:// ones without CURVE, under insecure_tcp), and, with
 * CURVE, one of its own for the tcp:// endpoints.
 */
import type * as zmq from "zeromq";
import type { Logger } from "pino";
import { restrictToUids, type CurveServerOptions } from "./auth.js";
import { received } from "./receive.js";

/** Which of a pair an endpoint goes to. */
export const isSecured = (endpoint: string, curve: object | null) => curve !== null && endpoint.startsWith("tcp://");

export class SocketPair<S extends zmq.Socket> {
  /** ipc:// endpoints, and tcp:// ones when they run without CURVE (insecure_tcp). */
  readonly plain: S;
  /** tcp:// endpoints under CURVE; who gets through is the ZAP handler's to say, by domain. */
  readonly secure: S | null;
  /** Both, the secure one only when there is one. */
  readonly all: readonly S[];

  /** `make` builds one socket of the pair from its options. */
  constructor(
    make: (options: object) => S,
    options: object,
    private readonly curve: CurveServerOptions | null,
  ) {
    this.plain = make(options);
    this.secure = curve && make({ ...options, ...curve });
    this.all = this.secure === null ? [this.plain] : [this.plain, this.secure];
  }

  async bind(endpoints: string[]): Promise<void> {
    for (const ep of endpoints) await (isSecured(ep, this.curve) ? this.secure! : this.plain).bind(ep);
  }

  close(): void {
    for (const socket of this.all) socket.close();
  }
}

/**
 * A pair that takes messages from peers (control's requests, flag_pull's
 * words): ipc:// peers can be held to allow_uids, and every message of
 * either socket goes to `take`.
 */
export class ReceivingPair<S extends zmq.Router | zmq.Pull> extends SocketPair<S> {
  constructor(
    make: (options: object) => S,
    options: object,
    curve: CurveServerOptions | null,
    protected readonly log: Logger,
    /** For the log: `control receive failed`. */
    private readonly what: string,
  ) {
    super(make, options, curve);
  }

  /** Restricts ipc:// peers to these UIDs (see restrictToUids). Must come before bind. */
  allowUids(uids: number[]): void {
    restrictToUids(this.plain, uids, this.log);
  }

  /** Hands on every message until the sockets close. */
  async receive(take: (socket: S, frames: Buffer[]) => void): Promise<void> {
    await Promise.all(
      this.all.map(async (socket) => {
        for await (const frames of received(socket, this.log, this.what)) take(socket, frames);
      }),
    );
  }
}
