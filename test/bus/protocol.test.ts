import { describe, expect, it } from "vitest";
import { parseRequest } from "../../src/bus/protocol.js";

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
    [`{"cmd":"green_flag","pid":"12"}`, "green_flag: pid: expected a positive integer"],
    [`{"cmd":"green_flag","pid":-1}`, "green_flag: pid: expected a positive integer"],
  ])("answers %s with bad_request", (text, message) => {
    const r = parse(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(JSON.parse(r.reply)).toEqual({ ok: false, error: { code: "bad_request", message } });
  });
});
