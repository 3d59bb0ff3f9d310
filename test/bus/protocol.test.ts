import { describe, expect, it } from "vitest";
import { MAX_REQUEST_DEPTH, parseRequest } from "../../src/bus/protocol.js";

const parse = (s: string | Uint8Array) => parseRequest(typeof s === "string" ? Buffer.from(s) : s);

describe("parseRequest", () => {
  it.each([
    ["green_flag", { cmd: "green_flag" }],
    ["start_flag", { cmd: "green_flag" }],
    [" stop_flag\n", { cmd: "stop_flag" }],
    ["ping", { cmd: "ping" }],
  ])("reads the plain word %j", (text, request) => {
    expect(parse(text)).toEqual({ ok: true, style: "plain", request });
  });

  it.each([
    [`{"cmd":"status"}`, { cmd: "status" }],
    [`{"cmd":"stop","service":"a.b"}`, { cmd: "stop", service: "a.b" }],
    [`{"cmd":"history","service":"modeld"}`, { cmd: "history", service: "modeld" }],
    [`{"cmd":"green_flag","pid":1234}`, { cmd: "green_flag", pid: 1234 }],
    [`{"cmd":"green_flag","pid":1234,"name":"ui"}`, { cmd: "green_flag", pid: 1234, name: "ui" }],
    [`{"cmd":"shutdown"}`, { cmd: "shutdown" }],
  ])("reads the JSON request %s", (text, request) => {
    expect(parse(text)).toEqual({ ok: true, style: "json", request });
  });

  it.each([
    ["hello", "ERR unknown request"],
    ["", "ERR unknown request"],
  ])("answers the unknown word %j with ERR", (text, reply) => {
    expect(parse(text)).toEqual({ ok: false, reply });
  });

  it("answers invalid UTF-8 with ERR", () => {
    expect(parse(new Uint8Array([0xff, 0xfe, 0x41]))).toEqual({ ok: false, reply: "ERR invalid UTF-8" });
  });

  it.each([
    [`{"cmd":`, "invalid JSON"],
    [`[1,2]`, "a request must be a JSON object"],
    [`42`, "a request must be a JSON object"],
    [`{"service":"a"}`, "cmd: expected a string"],
    [`{"cmd":"launch"}`, `unknown cmd "launch"`],
    [`{"cmd":"start"}`, "start: service: expected a service name"],
    [`{"cmd":"stop","service":7}`, "stop: service: expected a service name"],
    [`{"cmd":"history"}`, "history: service: expected a service name"],
    [`{"cmd":"green_flag","pid":"12"}`, "green_flag: pid: expected a positive integer"],
    [`{"cmd":"green_flag","pid":-1}`, "green_flag: pid: expected a positive integer"],
  ])("answers %s with bad_request", (text, message) => {
    const r = parse(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(JSON.parse(r.reply)).toEqual({ ok: false, error: { code: "bad_request", message } });
  });
});

describe("the nesting bound", () => {
  const nested = (levels: number) => `{"cmd":"status","x":${"[".repeat(levels - 1)}${"]".repeat(levels - 1)}}`;
  const message = (r: ReturnType<typeof parse>) => (r.ok ? null : JSON.parse(r.reply).error.message);

  it(`reads a request nested ${MAX_REQUEST_DEPTH} levels deep`, () => {
    expect(parse(nested(MAX_REQUEST_DEPTH))).toEqual({ ok: true, style: "json", request: { cmd: "status" } });
  });

  it("refuses one level more before parsing it, as bad_request", () => {
    const r = parse(nested(MAX_REQUEST_DEPTH + 1));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(JSON.parse(r.reply)).toEqual({ ok: false, error: { code: "bad_request", message: `JSON nested deeper than ${MAX_REQUEST_DEPTH} levels` } });
  });

  it("refuses a frame of 60 KiB of brackets for its depth, not as invalid JSON", () => {
    expect(message(parse("[".repeat(60 * 1024)))).toBe(`JSON nested deeper than ${MAX_REQUEST_DEPTH} levels`);
    expect(message(parse("{".repeat(60 * 1024)))).toBe(`JSON nested deeper than ${MAX_REQUEST_DEPTH} levels`);
  });

  it("does not count brackets inside strings, escaped quotes included", () => {
    const deepName = "[".repeat(100);
    expect(parse(JSON.stringify({ cmd: "start", service: deepName }))).toMatchObject({ ok: true, request: { service: deepName } });
    const quoted = `a"${"{".repeat(100)}\\`;
    expect(parse(JSON.stringify({ cmd: "stop", service: quoted }))).toMatchObject({ ok: true, request: { service: quoted } });
  });

  it("leaves plain words with brackets to the plain-word reply", () => {
    expect(parse(`hello ${"[".repeat(100)}`)).toEqual({ ok: false, reply: "ERR unknown request" });
  });
});
