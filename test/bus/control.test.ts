/** The control server on real sockets, with a handler of the test's own in place of the daemon. */
import { pino, type Logger } from "pino";
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { ControlServer, type Handler } from "../../src/bus/control.js";
import { isSecured } from "../../src/bus/sockets.js";
import { okReply, plainReply, type Request, type Style } from "../../src/bus/protocol.js";
import { uniqueEndpoints } from "../helpers/daemon.js";

/** A safety net only: every reply a test waits for comes. */
const RECEIVE = { linger: 0, receiveTimeout: 20_000 };
const open: { close(): void }[] = [];
const serving: Promise<void>[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await Promise.all(serving.splice(0));
});

/** Plain words for plain requests, the request itself back for JSON ones; every call recorded. */
function echo(calls: [Request, Style][] = []): Handler {
  return async (request, style) => {
    calls.push([request, style]);
    return style === "plain" ? plainReply(request) : okReply({ echo: request });
  };
}

async function serve(handler: Handler, opts: { log?: Logger; allowUids?: number[] } = {}): Promise<string> {
  const { control } = uniqueEndpoints();
  const server = new ControlServer(handler, opts.log ?? pino({ level: "silent" }));
  if (opts.allowUids) server.allowUids(opts.allowUids);
  await server.bind([control]);
  open.push(server);
  serving.push(server.serve());
  return control;
}

function connect<T extends zmq.Request | zmq.Dealer>(socket: T, endpoint: string): T {
  socket.connect(endpoint);
  open.push(socket);
  return socket;
}

const requester = (endpoint: string) => connect(new zmq.Request(RECEIVE), endpoint);
const dealer = (endpoint: string) => connect(new zmq.Dealer(RECEIVE), endpoint);

async function ask(socket: zmq.Request, frame: string | Uint8Array): Promise<string> {
  await socket.send(frame);
  const [reply] = await socket.receive();
  return reply!.toString();
}

describe("ControlServer", { timeout: 60_000 }, () => {
  it("answers plain words in plain words and JSON in JSON, passing the parsed request on", async () => {
    const calls: [Request, Style][] = [];
    const req = requester(await serve(echo(calls)));
    expect(await ask(req, "ping")).toBe("PONG");
    expect(await ask(req, "start_flag\n")).toBe("ACK");
    expect(JSON.parse(await ask(req, '{"cmd":"stop","service":"a"}'))).toEqual({ ok: true, echo: { cmd: "stop", service: "a" } });
    expect(calls).toEqual([
      [{ cmd: "ping" }, "plain"],
      [{ cmd: "green_flag" }, "plain"],
      [{ cmd: "stop", service: "a" }, "json"],
    ]);
  });

  it("answers a bad frame with ERR or bad_request, without the handler", async () => {
    const calls: [Request, Style][] = [];
    const req = requester(await serve(echo(calls)));
    expect(await ask(req, "hello")).toBe("ERR unknown request");
    expect(await ask(req, Buffer.from([0xff, 0xfe]))).toBe("ERR invalid UTF-8");
    expect(JSON.parse(await ask(req, "{nope"))).toEqual({ ok: false, error: { code: "bad_request", message: "invalid JSON" } });
    expect(JSON.parse(await ask(req, '{"cmd":"fly"}'))).toEqual({ ok: false, error: { code: "bad_request", message: 'unknown cmd "fly"' } });
    expect(calls).toEqual([]);
  });

  it("answers a handler that throws or rejects with an internal error, and goes on serving", async () => {
    const req = requester(
      await serve((request, style) => {
        if (style === "plain" && request.cmd === "green_flag") throw new Error("thrown");
        if (request.cmd === "status") return Promise.reject(new Error("rejected"));
        return echo()(request, style);
      }),
    );
    expect(await ask(req, "green_flag")).toBe("ERR internal error");
    expect(JSON.parse(await ask(req, '{"cmd":"status"}'))).toEqual({ ok: false, error: { code: "internal", message: "Error: rejected" } });
    expect(await ask(req, "ping")).toBe("PONG");
  });

  it("answers a fast request while a slow one waits, each reply to its own client", async () => {
    let arrived!: () => void;
    let release!: () => void;
    const slowArrived = new Promise<void>((r) => (arrived = r));
    const released = new Promise<void>((r) => (release = r));
    const endpoint = await serve(async (request) => {
      if (request.cmd === "stop" && request.service === "slow") {
        arrived();
        await released;
      }
      return okReply({ echo: request });
    });
    const slow = requester(endpoint);
    const fast = requester(endpoint);
    await slow.send('{"cmd":"stop","service":"slow"}');
    await slowArrived;
    expect(JSON.parse(await ask(fast, '{"cmd":"stop","service":"fast"}')).echo.service).toBe("fast");
    release();
    const [reply] = await slow.receive();
    expect(JSON.parse(reply!.toString()).echo.service).toBe("slow");
  });

  it("sends exactly one reply to each request, replies finishing out of order", async () => {
    const endpoint = await serve(async (request, style) => {
      // Requests finish out of order: each waits a different number of turns.
      if (request.cmd === "stop") for (let i = Number(request.service) % 7; i > 0; i--) await new Promise((r) => setImmediate(r));
      return echo()(request, style);
    });
    const sock = dealer(endpoint);
    const n = 50;
    for (let i = 0; i < n; i++) await sock.send(["", JSON.stringify({ cmd: "stop", service: String(i) })]);
    const answered: string[] = [];
    for (let i = 0; i < n; i++) {
      const [delimiter, body] = await sock.receive();
      expect(delimiter!.length).toBe(0);
      answered.push(JSON.parse(body!.toString()).echo.service);
    }
    expect(answered.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    // Anything more for those requests would come before this reply.
    await sock.send(["", "ping"]);
    expect((await sock.receive()).map(String)).toEqual(["", "PONG"]);
  });

  it("drops a request of several frames without a reply, and answers a peer that sends no delimiter", async () => {
    const calls: [Request, Style][] = [];
    const sock = dealer(await serve(echo(calls)));
    await sock.send(["", '{"cmd":"stop","service":"a"}', "more"]);
    await sock.send("ping");
    expect((await sock.receive()).map(String)).toEqual(["PONG"]);
    expect(calls).toEqual([[{ cmd: "ping" }, "plain"]]);
  });

  it("refuses an ipc peer whose UID is not allowed, logging it, and serves an allowed one", async () => {
    let logged!: (line: string) => void;
    const refusal = new Promise<string>((r) => (logged = r));
    const log = pino({ level: "warn" }, { write: (line: string) => logged(JSON.parse(line).msg) });
    const calls: [Request, Style][] = [];
    const refused = await serve(echo(calls), { log, allowUids: [process.getuid!() + 1] });
    await requester(refused).send("ping");
    expect(await refusal).toBe(`refused a connection on ${refused}: a UID not in allow_uids`);
    expect(calls).toEqual([]);
    const allowed = await serve(echo(), { allowUids: [process.getuid!()] });
    expect(await ask(requester(allowed), "ping")).toBe("PONG");
  });
});

describe("isSecured", () => {
  it("puts tcp:// endpoints on the CURVE socket when there is CURVE, and nothing else", () => {
    expect(isSecured("tcp://127.0.0.1:5555", {})).toBe(true);
    expect(isSecured("tcp://127.0.0.1:5555", null)).toBe(false);
    expect(isSecured("ipc://@flowinit/control", {})).toBe(false);
  });
});
