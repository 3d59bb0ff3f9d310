/** The control socket as other programs see it: plain words and JSON over a real REQ socket. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { cli, daemonPerTest, startDaemon, uniqueEndpoints, type RunningDaemon } from "../helpers/daemon.js";

const MANIFEST = `
services:
  a: { command: exec sleep 1000, nowait: true }
  once: { command: "true", nomonitor: true, nowait: true }
  elsewhere: { command: exec sleep 1000, platforms: [android] }
`;
// One daemon for the tests that only read it; one that restarts a service has its own, so that it changes nothing another reads.
let d: RunningDaemon;
beforeAll(async () => {
  d = await startDaemon(MANIFEST);
});
afterAll(() => d.stop());
const daemons = daemonPerTest();

const json = async (req: unknown, on = d) => JSON.parse(await sendRaw(on.control, JSON.stringify(req)));

describe("control protocol", () => {
  it("answers plain words", async () => {
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
    expect(await sendRaw(d.control, "what")).toBe("ERR unknown request");
  });

  it("answers status with the snapshot the topic publishes", async () => {
    const r = await json({ cmd: "status" });
    expect(r.ok).toBe(true);
    expect(r.status.daemon).toMatchObject({ pid: expect.any(Number), version: expect.any(String), phase: "waiting", flag: false });
    expect(r.status.services.map((s: { name: string }) => s.name)).toEqual(["a"]);
    expect(r.status.services[0]).toEqual({
      name: "a",
      state: expect.any(String),
      pid: expect.anything(),
      restarts: 0,
      exit_code: null,
      signal: null,
      cause: null,
      since: expect.any(Number),
      nowait: true,
      cpu_percent: expect.toBeOneOf([null, expect.any(Number)]),
      rss_bytes: expect.toBeOneOf([null, expect.any(Number)]),
      uptime_ms: expect.toBeOneOf([null, expect.any(Number)]),
      reason: null,
      status_text: null,
    });
  });

  it("names unknown, unmonitored and other-platform services in unknown_service errors", async () => {
    expect(await json({ cmd: "stop", service: "nope" })).toEqual({ ok: false, error: { code: "unknown_service", message: "no service named nope" } });
    expect((await json({ cmd: "start", service: "once" })).error.message).toMatch(/nomonitor/);
    expect((await json({ cmd: "start", service: "elsewhere" })).error.message).toMatch(/does not run on desktop/);
  });

  it("answers a bad request with bad_request and keeps serving", async () => {
    expect((await json({ cmd: "explode" })).error.code).toBe("bad_request");
    expect(await sendRaw(d.control, "{oops")).toBe(JSON.stringify({ ok: false, error: { code: "bad_request", message: "invalid JSON" } }));
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
  });

  it("restarts a service on request with a new pid", async () => {
    const own = await daemons.start(MANIFEST);
    const before = (await json({ cmd: "status" }, own)).status.services[0];
    const r = await json({ cmd: "restart", service: "a" }, own);
    expect(r.service.state).toBe("running");
    expect(r.service.pid).not.toBe(before.pid);
  });
});

describe("single instance", () => {
  it("refuses a second daemon on the same control endpoint, naming it and the owner's pid", async () => {
    const { status } = uniqueEndpoints();
    const r = await cli(["run", "-c", d.manifest, "--control", d.control, "--status", status]);
    expect(r.exitCode).toBe(1);
    const owner = (await json({ cmd: "status" })).status.daemon.pid;
    expect(String(r.stderr).trim()).toBe(`flowinit: another daemon (pid ${owner}) already owns ${d.control}`);
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
  });
});
