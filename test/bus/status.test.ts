/** The status publisher on a real PUB socket. */
import { pino } from "pino";
import * as zmq from "zeromq";
import { describe, expect, it } from "vitest";
import { StatusPublisher } from "../../src/bus/status.js";
import { uniqueEndpoints } from "../helpers/daemon.js";

describe("StatusPublisher", () => {
  it("keeps sending past zeromq.js's 512 synchronous sends, two messages a turn, seq rising by one per send", async () => {
    const { status } = uniqueEndpoints();
    // The publisher logs every send that failed; a PUB socket past its high-water mark drops without failing.
    const failures: string[] = [];
    const log = pino({ level: "debug" }, { write: (line: string) => failures.push(line) });
    const pub = new StatusPublisher(() => ({}), log);
    await pub.bind([status]);
    const sub = new zmq.Subscriber({ linger: 0 });
    sub.connect(status);
    sub.subscribe();
    // Wait until the subscription has reached the publisher.
    for (;;) {
      pub.publish("event", {});
      sub.receiveTimeout = 50;
      try {
        await sub.receive();
        break;
      } catch {
        /* not connected yet */
      }
    }
    sub.receiveTimeout = -1;
    const first = pub.seq + 1;
    const total = 1200;
    // A slow subscriber may miss messages past the high-water mark (CONTRACT.md section 3: it sees the
    // gap); what the publisher promises is that no send fails or stalls, and that seq rises by one per
    // message, so what does arrive is in order and the gaps are visible.
    for (let turn = 0; turn < total / 2; turn++) {
      // Like an event and its snapshot, or the tick's status and device messages.
      pub.publish("event", { turn });
      pub.publish("status", { turn });
      await new Promise((r) => setImmediate(r));
    }
    expect(pub.seq).toBe(first + total - 1);
    expect(failures).toEqual([]);
    // Once the burst has drained, a message gets through again: sending never stopped.
    const seqs: number[] = [];
    const done = { value: false };
    const receiving = (async () => {
      for (;;) {
        const [topic, body] = await sub.receive();
        const { seq } = JSON.parse(body!.toString()) as { seq: number };
        if (seq >= first) seqs.push(seq);
        if (topic!.toString() === "device") return;
      }
    })().finally(() => (done.value = true));
    for (let i = 0; !done.value && i < 10_000; i++) {
      pub.publish("device", {});
      await new Promise((r) => setTimeout(r, 5));
    }
    await receiving;
    expect(seqs.length).toBeGreaterThan(0);
    seqs.forEach((s, i) => i > 0 && expect(s).toBeGreaterThan(seqs[i - 1]!));
    expect(seqs.at(-1)!).toBeGreaterThan(first + total - 1);
    sub.close();
    pub.close();
  });
});
