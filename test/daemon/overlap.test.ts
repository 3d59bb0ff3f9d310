/**
 * Operations that overlap, against a real daemon (supervisor/lifecycle.ts
 * decides each cell): a flag, a request or a signal arriving while a reload
 * waits on a slow stop, and what follows a stop_flag or a refused reload.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { EventMessage } from "../../src/bus/protocol.js";
import { sendRaw } from "../../src/client/client.js";
import { daemonPerTest, isAlive, state, type RunningDaemon } from "../helpers/daemon.js";

const daemons = daemonPerTest();

const BEFORE = `
services:
  slow: { command: PIDFILE=$DIR/slow.pid $SERVICES/ignores-term.sh, nowait: true, stop_timeout: 60s }
  g1: { command: exec sleep 1000 }
`;
/** slow changes (so the reload must stop it first) into one that stops at once; g2 is added, gated on the flag. */
const AFTER = `
services:
  slow: { command: exec sleep 1000, nowait: true }
  g1: { command: exec sleep 1000 }
  g2: { command: exec sleep 1000 }
`;

const json = (d: RunningDaemon, req: object, wait: number | null = null) => sendRaw(d.control, JSON.stringify(req), wait).then((r) => JSON.parse(r));
const pids = (d: RunningDaemon) => readFileSync(join(d.dir, "slow.pid"), "utf8").trim().split(/\s+/).map(Number);
const events = (d: RunningDaemon, from: number) =>
  d.rec.messages.slice(from).filter((m) => m.topic === "event").map((m) => m.data as EventMessage);

/** A daemon whose reload to AFTER is under way, waiting on slow's stop; `finish` ends that stop. */
async function reloadWaitingOnSlowStop() {
  const d = await daemons.start(BEFORE);
  await d.rec.snapshot((s) => state(s, "slow")?.state === "running", "slow running");
  // The pid file is written once the trap is set: SIGTERM cannot end the stop before the test does.
  await expect.poll(() => pids(d).length).toBe(2);
  const old = pids(d);
  const mark = d.rec.mark;
  writeFileSync(d.manifest, AFTER);
  const reload = json(d, { cmd: "reload" });
  await d.rec.event("slow", "stopping", mark);
  return {
    d,
    mark,
    reload,
    finish: () => old.forEach((pid) => process.kill(pid, "SIGKILL")),
  };
}

describe("a reload waiting on a slow stop", () => {
  it("a green flag waits for the reload, then starts the gated services, the added one included", async () => {
    const r = await reloadWaitingOnSlowStop();
    expect(await sendRaw(r.d.control, "green_flag")).toBe("ACK");
    // Held behind the reload: nothing gated has started yet.
    const now = await json(r.d, { cmd: "status" }, 3000);
    expect(now.status.daemon.flag).toBe(false);
    r.finish();
    expect(await r.reload).toEqual({ ok: true, added: ["g2"], removed: [], changed: ["slow"], unchanged: ["g1"], warnings: [] });
    await r.d.rec.snapshot((s) => ["slow", "g1", "g2"].every((n) => state(s, n)?.state === "running") && s.daemon.flag, "all running", r.mark);
  });

  it("a JSON green flag is answered once it took effect, after the reload", async () => {
    const r = await reloadWaitingOnSlowStop();
    let answered = false;
    const flag = json(r.d, { cmd: "green_flag" }).then((reply) => ((answered = true), reply));
    await json(r.d, { cmd: "status" }, 3000);
    expect(answered).toBe(false);
    r.finish();
    expect(await flag).toEqual({ ok: true });
    expect((await r.reload).ok).toBe(true);
  });

  it("a stop_flag waits for the reload, and the daemon lives on", async () => {
    const r = await reloadWaitingOnSlowStop();
    expect(await sendRaw(r.d.control, "stop_flag")).toBe("ACK");
    r.finish();
    expect((await r.reload).ok).toBe(true);
    await r.d.rec.snapshot((s) => state(s, "g2")?.state === "waiting" && state(s, "slow")?.state === "running", "g2 waiting, slow back", r.mark);
    expect(await sendRaw(r.d.control, "ping")).toBe("PONG");
    expect(r.d.proc.exitCode).toBeNull();
  });

  it("SIGTERM ends the reload at its next step: nothing it would add starts, and the daemon exits 0", async () => {
    const r = await reloadWaitingOnSlowStop();
    const mark = r.d.rec.mark;
    r.d.proc.kill("SIGTERM");
    await r.d.rec.snapshot((s) => s.daemon.phase === "stopping", "phase stopping", mark);
    r.finish();
    expect((await r.reload).error.message).toBe("the daemon is shutting down");
    expect((await r.d.proc).exitCode).toBe(0);
    expect(events(r.d, mark).filter((e) => e.to === "starting")).toEqual([]);
    expect(r.d.rec.messages.slice(mark).some((m) => m.topic === "status" && state(m.data as never, "g2") !== undefined)).toBe(false);
  });

  it("a restart of the service being replaced runs after the reload, on the new spec; later reloads still run", async () => {
    const r = await reloadWaitingOnSlowStop();
    const restart = json(r.d, { cmd: "restart", service: "slow" });
    r.finish();
    expect((await r.reload).changed).toEqual(["slow"]);
    const restarted = await restart;
    expect(restarted.ok).toBe(true);
    expect(restarted.service).toMatchObject({ name: "slow", state: "running" });
    expect(isAlive(restarted.service.pid)).toBe(true);
    const { status } = await json(r.d, { cmd: "status" }, 3000);
    expect(state(status, "slow")).toMatchObject({ state: "running", pid: restarted.service.pid });
    writeFileSync(r.d.manifest, `${AFTER}  g3: { command: exec sleep 1000, nowait: true }\n`);
    expect((await json(r.d, { cmd: "reload" })).added).toEqual(["g3"]);
  });
});

describe("after other operations", () => {
  it("a reload that changes and removes gated services right after a stop_flag", async () => {
    const d = await daemons.start(`
services:
  b1: { command: exec sleep 1001 }
  b2: { command: exec sleep 1002, depends_on: [b1] }
  b3: { command: exec sleep 1003 }
`);
    await d.flag();
    await d.rec.event("b2", "running");
    writeFileSync(d.manifest, `services:\n  b1: { command: exec sleep 2001 }\n  b3: { command: exec sleep 1003 }\n`);
    const [stop, reload] = await Promise.all([json(d, { cmd: "stop_flag" }), json(d, { cmd: "reload" })]);
    expect(stop).toEqual({ ok: true });
    expect(reload).toEqual({ ok: true, added: [], removed: ["b2"], changed: ["b1"], unchanged: ["b3"], warnings: [] });
    await d.rec.snapshot((s) => s.services.every((x) => x.state === "waiting") && s.services.length === 2, "both waiting");
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
  });

  it("a refused reload leaves the next one free to run", async () => {
    const d = await daemons.start(`services:\n  a: { command: exec sleep 1000, nowait: true }\n`);
    writeFileSync(d.manifest, `services:\n  a: { command: exec sleep 1000, nowait: true, bogus: 1 }\n`);
    expect((await json(d, { cmd: "reload" })).error.code).toBe("invalid_manifest");
    writeFileSync(d.manifest, `services:\n  a: { command: exec sleep 1000, nowait: true }\n  b: { command: exec sleep 1000, nowait: true }\n`);
    expect((await json(d, { cmd: "reload" })).added).toEqual(["b"]);
  });

  it("two reloads one behind the other each answer", async () => {
    const d = await daemons.start(`services:\n  a: { command: exec sleep 1000, nowait: true }\n`);
    writeFileSync(d.manifest, `services:\n  a: { command: exec sleep 1000, nowait: true }\n  b: { command: exec sleep 1000, nowait: true }\n`);
    const [one, two] = await Promise.all([json(d, { cmd: "reload" }), json(d, { cmd: "reload" })]);
    expect([one.ok, two.ok]).toEqual([true, true]);
    expect([...one.added, ...two.added]).toEqual(["b"]);
  });

  it("a reload or a request during the shutdown is refused", async () => {
    const d = await daemons.start(`services:\n  slow: { command: PIDFILE=$DIR/slow.pid $SERVICES/ignores-term.sh, nowait: true, stop_timeout: 60s }\n`);
    await d.rec.snapshot((s) => state(s, "slow")?.state === "running", "slow running");
    await expect.poll(() => pids(d).length).toBe(2);
    const old = pids(d);
    const mark = d.rec.mark;
    d.proc.kill("SIGTERM");
    await d.rec.event("slow", "stopping", mark);
    expect((await json(d, { cmd: "reload" }, 3000)).error).toEqual({ code: "bad_request", message: "the daemon is shutting down" });
    expect((await json(d, { cmd: "start", service: "slow" }, 3000)).error.message).toBe("the daemon is shutting down");
    expect(await sendRaw(d.control, "green_flag")).toBe("ACK");
    old.forEach((pid) => process.kill(pid, "SIGKILL"));
    expect((await d.proc).exitCode).toBe(0);
    expect(events(d, mark).filter((e) => e.to === "starting")).toEqual([]);
  });
});
