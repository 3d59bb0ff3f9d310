/** Hostile input on the control socket: the daemon answers what it can, drops the rest, and lives on. */
import { randomBytes, randomInt } from "node:crypto";
import * as zmq from "zeromq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { startDaemon, state, type RunningDaemon } from "../helpers/daemon.js";

let d: RunningDaemon;
beforeAll(async () => {
  d = await startDaemon(`services:\n  a: { command: exec sleep 1000, nowait: true }\n`);
});
afterAll(() => d.stop());

/** A request body of kind `kind` (0-8), each wrong in its own way: garbage, broken or odd JSON, nesting, near the size cap. */
function hostile(kind: number): Buffer {
  switch (kind) {
    case 0:
      return randomBytes(randomInt(1, 200));
    case 1:
      return Buffer.from([0xc3, 0x28, 0xff, 0xfe]);
    case 2:
      return Buffer.from("{".repeat(randomInt(1, 5000)));
    case 3:
      return Buffer.from(`{"cmd":"nope","x":${"[".repeat(10000)}${"]".repeat(10000)}}`);
    case 4:
      return Buffer.from(JSON.stringify({ cmd: ["start", "stop", "green_flag"][randomInt(3)], service: randomInt(5), pid: "x" }));
    case 5:
      return Buffer.from(JSON.stringify({ cmd: randomBytes(8).toString("hex") }));
    case 6:
      return Buffer.from(JSON.stringify([1, 2, 3]));
    case 7:
      return Buffer.from(JSON.stringify({ cmd: "start", service: "nope".repeat(1000) }));
    default:
      return Buffer.from("x".repeat(60 * 1024));
  }
}

describe("hostile input", () => {
  it("answers every well-formed single-frame request with an error, drops multipart ones, and still answers ping", async () => {
    const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
    dealer.connect(d.control);
    let sent = 0;
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 9) {
        // Multipart: no reply is owed, and none may come.
        await dealer.send([Buffer.alloc(0), hostile(i % 9), hostile((i + 1) % 9)]);
        continue;
      }
      await dealer.send([Buffer.alloc(0), hostile(i % 9)]);
      sent++;
    }
    const replies: string[] = [];
    while (replies.length < sent) replies.push((await dealer.receive())[1]!.toString());
    dealer.close();
    // Every kind got an error, in the request's own style.
    for (const text of replies) {
      if (text.startsWith("ERR ")) continue;
      expect(JSON.parse(text), text).toMatchObject({ ok: false, error: { code: expect.stringMatching(/^(bad_request|unknown_service)$/) } });
    }

    expect(await sendRaw(d.control, "ping")).toBe("PONG");
    const snap = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "status" }))).status;
    expect(state(snap, "a")?.state).toBe("running");
  });

  it("drops a peer that sends more than the size cap, and serves others", async () => {
    const big = new zmq.Dealer({ linger: 0, receiveTimeout: 500 });
    big.connect(d.control);
    await big.send([Buffer.alloc(0), Buffer.alloc(1024 * 1024, 0x61)]);
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
    // The connection was cut before the message was read: no reply, not even an error.
    await expect(big.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    big.close();
  });

  it("survives a flood of requests from many clients", async () => {
    const clients = Array.from({ length: 20 }, () => {
      const s = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
      s.connect(d.control);
      return s;
    });
    await Promise.all(clients.map(async (s) => {
      for (let i = 0; i < 50; i++) await s.send([Buffer.alloc(0), "ping"]);
      for (let i = 0; i < 50; i++) expect((await s.receive())[1]!.toString()).toBe("PONG");
      s.close();
    }));
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
  });
});
