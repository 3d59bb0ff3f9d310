/**
 * Subscribing to the status topic as an async iterator of typed messages,
 * optionally repairing losses: a jump in `seq` fetches a fresh snapshot
 * from the control socket.
 */
import * as zmq from "zeromq";
import type { AnyEvent, HealthMessage, Snapshot, Stamp, Topic } from "../bus/protocol.js";
import type { DeviceVitals } from "../stats/device.js";
import type { Client } from "./client.js";
import type { CurveClientOptions } from "./curve.js";

export type StatusMessage =
  | {
      topic: "status";
      data: Snapshot;
      /**
       * Set only on a snapshot the iterator fetched from the control socket
       * (see SubscribeOptions.control): 0 on the one that opens the
       * iteration, else how many messages were lost before it.
       */
      missed?: number;
    }
  | { topic: "event"; data: AnyEvent }
  | { topic: "device"; data: DeviceVitals & Stamp }
  /** Each flip of `daemon.health.ok`: a critical service went down, or all are up again. */
  | { topic: "health"; data: HealthMessage };

export interface SubscribeOptions {
  /** Topics to receive. Default: all. */
  topics?: Topic[];
  /** Ends the iteration when aborted. */
  signal?: AbortSignal;
  /** CURVE socket options for a tcp:// endpoint (see curveClientOptions). Default: none. */
  curve?: CurveClientOptions;
  /**
   * The daemon's control socket. With it the iteration opens with a snapshot
   * fetched once the subscription is live (nothing published after it is
   * missed, as in ZeroMQ's Clone pattern), and it watches `seq` across every
   * topic (it receives them all and yields only `topics`): after a loss it
   * yields the message that showed it, then a fresh snapshot. Messages a
   * fetched snapshot already covers are dropped. A failed fetch is skipped:
   * the next periodic snapshot is at most one interval away.
   * Default: none, and no repair.
   */
  control?: Client;
}

export async function* subscribe(endpoint: string, opts: SubscribeOptions = {}): AsyncGenerator<StatusMessage> {
  const sock = new zmq.Subscriber({ linger: 0, ...opts.curve });
  const stop = () => sock.close();
  opts.signal?.addEventListener("abort", stop, { once: true });
  const wanted = opts.topics === undefined ? null : new Set<string>(opts.topics);
  const seq = new SeqTracker();
  try {
    sock.connect(endpoint);
    if (wanted === null || opts.control !== undefined) sock.subscribe();
    else for (const t of wanted) sock.subscribe(t);
    while (!sock.closed) {
      let frames: Buffer[];
      try {
        frames = await sock.receive();
      } catch (e) {
        if (sock.closed || opts.signal?.aborted) return;
        throw e;
      }
      const [topic, body] = frames;
      if (topic === undefined || body === undefined) continue;
      const msg = { topic: topic.toString(), data: JSON.parse(body.toString("utf8")) } as StatusMessage;
      if (opts.control === undefined) {
        yield msg;
        continue;
      }
      const seen = seq.see(msg.data.seq);
      if (seen === "covered") continue;
      const show = wanted === null || wanted.has(msg.topic);
      // The opening snapshot stands for the first message; a loss is shown by the message that revealed it.
      if (show && seen !== "first") yield msg;
      if (seen === "in order") continue;
      const snapshot = await opts.control.status().catch(() => null);
      if (snapshot === null || sock.closed) {
        if (show && seen === "first") yield msg;
        continue;
      }
      seq.covered(snapshot.seq);
      yield { topic: "status", data: snapshot, missed: seen === "first" ? 0 : seen.missed };
    }
  } finally {
    opts.signal?.removeEventListener("abort", stop);
    if (!sock.closed) sock.close();
  }
}

/**
 * Follows one daemon's `seq` (one counter for every topic, from 1 at each
 * daemon start). Pure, so the rules are tested without sockets.
 */
export class SeqTracker {
  /** The last seq seen; 0 before the first message. */
  private last = 0;
  /** Just after a fetched snapshot: messages in (staleFrom, staleTo] were published before it. */
  private staleFrom = 0;
  private staleTo = 0;

  see(seq: number): "first" | "in order" | "covered" | { missed: number } {
    if (seq > this.staleFrom && seq <= this.staleTo) return "covered";
    this.staleFrom = this.staleTo = 0;
    const last = this.last;
    this.last = seq;
    // The first message after connecting has nothing to compare with: what came before it was never ours.
    if (last === 0) return "first";
    // A lower seq is a new daemon counting from 1 again.
    const missed = seq <= last ? seq - 1 : seq - last - 1;
    return missed === 0 ? "in order" : { missed };
  }

  /** A snapshot taken at `seq` now stands for every message up to it. */
  covered(seq: number): void {
    if (seq <= this.last) return;
    this.staleFrom = this.last;
    this.staleTo = seq;
    this.last = seq;
  }
}
