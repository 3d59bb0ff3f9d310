/** Subscribing to the status topic as an async iterator of typed messages. */
import * as zmq from "zeromq";
import type { EventMessage, Snapshot, Stamp, Topic } from "../bus/protocol.js";
import type { DeviceVitals } from "../stats/device.js";
import type { CurveClientOptions } from "./curve.js";

export type StatusMessage =
  | { topic: "status"; data: Snapshot }
  | { topic: "event"; data: EventMessage }
  | { topic: "device"; data: DeviceVitals & Stamp };

export interface SubscribeOptions {
  /** Topics to receive. Default: all. */
  topics?: Topic[];
  /** Ends the iteration when aborted. */
  signal?: AbortSignal;
  /** CURVE socket options for a tcp:// endpoint (see curveClientOptions). Default: none. */
  curve?: CurveClientOptions;
}

export async function* subscribe(endpoint: string, opts: SubscribeOptions = {}): AsyncGenerator<StatusMessage> {
  const sock = new zmq.Subscriber({ linger: 0, ...opts.curve });
  const stop = () => sock.close();
  opts.signal?.addEventListener("abort", stop, { once: true });
  try {
    sock.connect(endpoint);
    if (opts.topics === undefined) sock.subscribe();
    else for (const t of opts.topics) sock.subscribe(t);
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
      yield { topic: topic.toString(), data: JSON.parse(body.toString("utf8")) } as StatusMessage;
    }
  } finally {
    opts.signal?.removeEventListener("abort", stop);
    if (!sock.closed) sock.close();
  }
}
