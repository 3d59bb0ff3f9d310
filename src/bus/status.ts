/**
 * The status topic: one `seq` counter for every message, events sent at
 * once, snapshots coalesced to one per burst of changes. A PUB socket drops
 * for a subscriber past its high-water mark, so nobody slow can block us.
 */
import * as zmq from "zeromq";
import type { Logger } from "pino";
import type { Topic } from "./protocol.js";

/** Messages queued for one subscriber before PUB drops. */
const SEND_HWM = 1000;

export class StatusPublisher {
  seq = 0;
  private snapshotQueued = false;
  readonly socket = new zmq.Publisher({ sendHighWaterMark: SEND_HWM, linger: 0 });

  constructor(
    private readonly snapshot: () => object,
    private readonly log: Logger,
  ) {}

  async bind(endpoints: string[]): Promise<void> {
    for (const ep of endpoints) await this.socket.bind(ep);
  }

  /** Stamps and sends one message; returns what was sent. */
  publish(topic: Topic, body: object): void {
    const msg = JSON.stringify({ seq: ++this.seq, time: Date.now(), ...body });
    this.socket.send([topic, msg]).catch((e: unknown) => this.log.debug({ err: e }, "status send failed"));
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
    this.socket.close();
  }
}
