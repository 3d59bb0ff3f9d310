/** Hostile input on the control socket: the daemon answers what it can, drops the rest, and lives on. */
import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import * as zmq from "zeromq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { startDaemon, state, type RunningDaemon } from "../helpers/daemon.js";

let d: RunningDaemon;
let daemonPid: number;
beforeAll(async () => {
  d = await startDaemon(`services:\n  a: { command: exec sleep 1000, nowait: true }\n`);
  daemonPid = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "status" }))).status.daemon.pid;
});
afterAll(() => d.stop());

const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${daemonPid}/status`, "utf8"))![1]);

/** One random request body: garbage, broken or odd JSON, nesting, near the size cap. */
function hostile(): Buffer {
  switch (randomInt(9)) {
    case 0:
      return randomBytes(randomInt(1, 200));
    case 1:
      return Buffer.from([0xc3, 0x28, 0xff, 0xfe]);
    case 2:
      return Buffer.from("{".repeat(randomInt(1, 5000)));
    case 3:
      return Buffer.from(`{"cmd":"status","x":${"[".repeat(10000)}${"]".repeat(10000)}}`);
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
    const before = rssKiB();
    let sent = 0;
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 9) {
        // Multipart: no reply is owed, and none may come.
        await dealer.send([Buffer.alloc(0), hostile(), hostile()]);
        continue;
      }
      await dealer.send([Buffer.alloc(0), hostile()]);
      sent++;
    }
    let replies = 0;
    for (; replies < sent; replies++) {
      const [, reply] = await dealer.receive();
      const text = reply!.toString();
      expect(text.startsWith("ERR ") || JSON.parse(text).ok === false || JSON.parse(text).ok === true).toBe(true);
    }
    expect(replies).toBe(sent);
    dealer.close();

    expect(await sendRaw(d.control, "ping")).toBe("PONG");
    const snap = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "status" }))).status;
    expect(state(snap, "a")?.state).toBe("running");
    expect(rssKiB() - before).toBeLessThan(30 * 1024);
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
