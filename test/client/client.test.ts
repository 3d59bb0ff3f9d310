/** The package's client API against a live daemon: flag with a pid, control commands, a repaired subscription. */
import { randomBytes } from "node:crypto";
import { execa } from "execa";
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { Client, EXIT, RequestError, subscribe, UserError, type StatusMessage, type SubscribeOptions } from "../../src/index.js";
import { BIN, daemonPerTest, state, uniqueEndpoints, type RunningDaemon } from "../helpers/daemon.js";

const daemons = daemonPerTest();
/** What a test opened beside its daemon: closed before the daemon stops. */
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

const MANIFEST = `settings: { interval: 100ms }
services:
  early: { command: exec sleep 1000, nowait: true }
  gated: { command: exec sleep 1000 }
`;

describe("Client", () => {
  it("sends the flag with the app's pid, reads status and runs commands", async () => {
    const d = await daemons.start(MANIFEST);
    const client = new Client({ control: d.control });
    await client.ping();
    expect((await client.status()).daemon.flag).toBe(false);

    const app = execa("sleep", ["1000"], { reject: false });
    cleanup.push(() => app.kill("SIGKILL"));
    await client.flag("green", { pid: app.pid! });
    const snap = await d.rec.snapshot((s) => state(s, "gated")?.state === "running", "gated running");
    expect(snap.daemon.flag).toBe(true);
    expect(state(await client.status(), "app")).toMatchObject({ pid: app.pid, external: true, state: "running" });

    expect((await client.stop("gated")).state).toBe("stopped");
    expect((await client.start("gated")).state).toMatch(/starting|running/);
    const err = await client.restart("nope").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).code).toBe("unknown_service");
  });

  it("is what a service finds in its environment: FLOWINIT_CONTROL names its own daemon", async () => {
    const d = await daemons.start(`services:
  starter: { command: exec node ${BIN} flag green, nowait: true, restart: never }
  gated: { command: exec sleep 1000 }
`);
    await d.rec.snapshot((s) => state(s, "gated")?.state === "running", "gated started by the starter's flag");
    await d.rec.snapshot((s) => state(s, "starter")?.exit_code === 0, "starter exited 0");
  });

  it("says no daemon answers, with the documented exit code", async () => {
    const client = new Client({ control: uniqueEndpoints().control, timeoutMs: 200 });
    const err = await client.status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(EXIT.unreachable);
  });
});

/**
 * A real relay between the daemon and the subscriber that can lose one
 * message on purpose: the only way to force a gap without slowing a test.
 */
function relay(from: string): { endpoint: string; dropNext: (topic: string) => void; close: () => void } {
  const endpoint = `ipc://@flowinit-test-${randomBytes(6).toString("hex")}/relay`;
  const sub = new zmq.Subscriber({ linger: 0 });
  const pub = new zmq.Publisher({ linger: 0 });
  let drop: string | null = null;
  sub.connect(from);
  sub.subscribe();
  const forward = async () => {
    await pub.bind(endpoint);
    for await (const [topic, body] of sub) {
      if (drop !== null && topic!.toString() === drop) {
        drop = null;
        continue;
      }
      await pub.send([topic!, body!]);
    }
  };
  // close() ends it: a send or receive on a closed socket throws, and that is the end of the relay.
  void forward().catch(() => undefined);
  return {
    endpoint,
    dropNext: (topic) => (drop = topic),
    close: () => {
      sub.close();
      pub.close();
    },
  };
}

async function next(it: AsyncIterator<StatusMessage>): Promise<StatusMessage> {
  const r = await it.next();
  if (r.done) throw new Error("subscription ended");
  return r.value;
}

/** A daemon, and a subscription to its status topic through a relay. */
async function throughRelay(opts: (d: RunningDaemon) => SubscribeOptions) {
  const d = await daemons.start(MANIFEST);
  const r = relay(d.status);
  cleanup.push(r.close);
  const ac = new AbortController();
  cleanup.push(() => ac.abort());
  return { d, r, ac, it: subscribe(r.endpoint, { ...opts(d), signal: ac.signal }) };
}

describe("subscribe with control", () => {
  it("opens with a snapshot, notices a lost message, yields a fresh snapshot, then drops what it covers", async () => {
    const { d, r, it, ac } = await throughRelay((d) => ({ control: new Client({ control: d.control }), topics: ["event", "status"] }));
    // It opens with a snapshot fetched once the subscription is live.
    const opening = await next(it);
    expect(opening).toMatchObject({ topic: "status", missed: 0 });

    r.dropNext("event");
    await d.flag();
    const seen: StatusMessage[] = [];
    let resync: Extract<StatusMessage, { topic: "status" }> | undefined;
    while (resync === undefined) {
      const m = await next(it);
      seen.push(m);
      if (m.topic === "status" && m.missed !== undefined) resync = m;
    }
    expect(resync.missed).toBe(1);
    expect(resync.data.daemon.flag).toBe(true);
    expect(seen.filter((m) => m.topic === "device")).toEqual([]);

    // Everything after the fresh snapshot is newer than it.
    const after = await next(it);
    expect(after.data.seq).toBeGreaterThan(resync.data.seq);
    ac.abort();
    expect((await it.next()).done).toBe(true);
  });

  it("without control, passes gaps through untouched", async () => {
    const { r, it } = await throughRelay(() => ({}));
    let last = await next(it);
    r.dropNext("device");
    for (;;) {
      const m = await next(it);
      if (m.data.seq > last.data.seq + 1) break;
      expect(m.topic === "status" && m.missed !== undefined).toBe(false);
      last = m;
    }
  });
});
