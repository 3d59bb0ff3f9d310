/**
 * The status topic: one `seq` counter for every message, events sent at
 * once, snapshots coalesced to one per burst of changes. A PUB socket drops
 * for a subscriber past its high-water mark, so nobody slow can block us.
 */
import * as zmq from "zeromq";
import type { Logger } from "pino";
import type { CurveServerOptions } from "./auth.js";
import { SocketPair } from "./sockets.js";
import type { Topic } from "./protocol.js";

/** Messages queued for one subscriber before PUB drops. */
const SEND_HWM = 1000;
/**
 * sendTimeout 0 keeps every send on zeromq.js's synchronous path. Otherwise
 * it defers every 513th send in a row to a later turn, and a second send in
 * the same turn (an event and its snapshot) throws "Socket is busy writing".
 */
const OPTIONS = { sendHighWaterMark: SEND_HWM, sendTimeout: 0, linger: 0 };

export class StatusPublisher {
  seq = 0;
  private snapshotQueued = false;
  /** Under CURVE, any client that knows the daemon's public key may subscribe. */
  private readonly sockets: SocketPair<zmq.Publisher>;

  constructor(
    private readonly snapshot: () => object,
    private readonly log: Logger,
    curve: CurveServerOptions | null = null,
  ) {
    this.sockets = new SocketPair((o) => new zmq.Publisher(o), OPTIONS, curve);
  }

  bind(endpoints: string[]): Promise<void> {
    return this.sockets.bind(endpoints);
  }

  /** Stamps one message and sends it on every socket, under one `seq`. */
  publish(topic: Topic, body: object): void {
    const msg = JSON.stringify({ seq: ++this.seq, time: Date.now(), ...body });
    for (const socket of this.sockets.all) {
      // A status message that cannot go now is dropped, never waited for: subscribers see the seq gap.
      try {
        socket.send([topic, msg]).catch((e: unknown) => this.log.debug({ err: e }, "status send failed"));
      } catch (e) {
        this.log.debug({ err: e }, "status send failed");
      }
    }
  }

  /** A snapshot after the current burst of events, so each event precedes the snapshot that includes it. */
  queueSnapshot(): void {
    if (this.snapshotQueued) return;
    this.snapshotQueued = true;
    queueMicrotask(() => {
      this.snapshotQueued = false;
      this.publish("status", this.snapshot());
    });
  }

  close(): void {
    this.sockets.close();
  }
}
