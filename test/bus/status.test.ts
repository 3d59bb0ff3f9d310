/** The status publisher on a real PUB socket. */
import { pino } from "pino";
import * as zmq from "zeromq";
import { describe, expect, it } from "vitest";
import { StatusPublisher } from "../../src/bus/status.js";
import { uniqueEndpoints } from "../helpers/daemon.js";

describe("StatusPublisher", () => {
  it("keeps sending past zeromq.js's 512 synchronous sends, two messages a turn, with one gapless seq", async () => {
    const { status } = uniqueEndpoints();
    const pub = new StatusPublisher(() => ({}), pino({ level: "silent" }));
    await pub.bind([status]);
    const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 5000 });
    sub.connect(status);
    sub.subscribe();
    // Wait until the subscription has reached the publisher.
    for (;;) {
      pub.publish("event", {});
      try {
        sub.receiveTimeout = 50;
        await sub.receive();
        break;
      } catch {
        /* not connected yet */
      }
    }
    sub.receiveTimeout = 5000;
    const first = pub.seq + 1;
    const total = 1200;
    const seqs: number[] = [];
    const receiving = (async () => {
      while (seqs.length < total) {
        const [, body] = await sub.receive();
        const { seq } = JSON.parse(body!.toString()) as { seq: number };
        if (seq >= first) seqs.push(seq);
      }
    })();
    for (let turn = 0; turn < total / 2; turn++) {
      // Like an event and its snapshot, or the tick's status and device messages.
      pub.publish("event", { turn });
      pub.publish("status", { turn });
      await new Promise((r) => setImmediate(r));
    }
    await receiving;
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => first + i));
    sub.close();
    pub.close();
  });
});
