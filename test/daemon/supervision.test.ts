/** Supervision end to end: a real daemon, real children, real sockets. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { EventMessage } from "../../src/bus/protocol.js";
import { sendRaw } from "../../src/client/client.js";
import { execa } from "execa";
import { BIN, daemonPerTest, isAlive, state, tempDir, uniqueEndpoints, type RunningDaemon } from "../helpers/daemon.js";
import { RawDealer } from "../helpers/zmtp.js";

const daemons = daemonPerTest();

const pidsIn = (file: string) => readFileSync(file, "utf8").trim().split(/\s+/).map(Number);
const waitForFile = async (d: RunningDaemon, file: string) => {
  // The pid file is written right after spawn; its service's running event comes first.
  for (let i = 0; i < 200; i++) {
    try {
      const pids = pidsIn(file);
      if (pids.length > 0 && pids.every((p) => p > 0)) return pids;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no pid file ${file}`);
};

describe("green flag gating", () => {
  it("starts nowait services at once and gated ones on the flag; stop_flag stops them, then gates them again", async () => {
    const d = await daemons.start(`
services:
  early: { command: exec sleep 1000, nowait: true }
  gated: { command: exec sleep 1000 }
`);
    const first = await d.rec.snapshot((s) => state(s, "early")?.state === "running", "early running");
    expect(state(first, "gated")?.state).toBe("waiting");
    expect(first.daemon).toMatchObject({ phase: "waiting", flag: false });

    const mark = d.rec.mark;
    expect(await sendRaw(d.control, "green_flag")).toBe("ACK");
    const started = await d.rec.event("gated", "running", mark);
    expect(started.data.pid).toBeGreaterThan(0);
    const snap = await d.rec.snapshot((s) => state(s, "gated")?.state === "running", "gated running", mark);
    expect(snap.daemon).toMatchObject({ phase: "running", flag: true });
    // Idempotent: a second flag changes nothing.
    expect(await sendRaw(d.control, "  start_flag\n")).toBe("ACK");

    const mark2 = d.rec.mark;
    expect(await sendRaw(d.control, "stop_flag")).toBe("ACK");
    expect((await d.rec.event("gated", "stopped", mark2)).data.reason).toBe("stopped (killed by SIGTERM)");
    // A snapshot shows it stopped before it waits for the flag again.
    await d.rec.snapshot((s) => state(s, "gated")?.state === "stopped", "gated stopped", mark2);
    expect((await d.rec.event("gated", "waiting", mark2)).data).toMatchObject({ from: "stopped", reason: "waiting for the green flag" });
    const after = await d.rec.snapshot((s) => state(s, "gated")?.state === "waiting", "gated waiting", mark2);
    expect(state(after, "early")?.state).toBe("running");
    expect(after.daemon.flag).toBe(false);
    expect(isAlive(started.data.pid!)).toBe(false);
  });

  it("starts again what a green flag wants while a stop_flag is still stopping it", async () => {
    // A stop that would take a minute, so the green flag surely arrives while it runs; the test ends it.
    const d = await daemons.start(`services:\n  stubborn: { command: PIDFILE=$DIR/stubborn.pid $SERVICES/ignores-term.sh, stop_timeout: 60s }\n`);
    await d.flag();
    await d.rec.event("stubborn", "running");
    // The pid file is written once the trap is set: from then on SIGTERM cannot end the stop early.
    const pids = await waitForFile(d, join(d.dir, "stubborn.pid"));
    const mark = d.rec.mark;
    expect(await sendRaw(d.control, "stop_flag")).toBe("ACK");
    await d.rec.event("stubborn", "stopping", mark);
    expect(await sendRaw(d.control, "green_flag")).toBe("ACK");
    const { status } = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "status" })));
    expect(status.daemon.flag).toBe(true);
    expect(state(status, "stubborn")?.state).toBe("stopping");
    for (const pid of pids) process.kill(pid, "SIGKILL");
    await d.rec.event("stubborn", "stopped", mark);
    const again = await d.rec.event("stubborn", "running", mark);
    expect(again.data.pid).toBeGreaterThan(0);
    expect(pids).not.toContain(again.data.pid);
    // The new run may ignore SIGTERM as well: the test ends its stop too, or the shutdown would wait out stop_timeout.
    const down = d.rec.mark;
    d.proc.kill("SIGTERM");
    await d.rec.event("stubborn", "stopping", down);
    try {
      process.kill(-again.data.pid!, "SIGKILL");
    } catch {
      /* its trap was not set yet: SIGTERM ended it */
    }
    expect((await d.proc).exitCode).toBe(0);
  });

  it("takes flags in the order they arrive: a stop_flag read in the same turn as a green flag cancels its start", async () => {
    const raw = `ipc://${join(tempDir(), "control")}`;
    // A short tick: nothing changes after the cancelled flag, so only a tick publishes the snapshot waited for below.
    const d = await daemons.start(`settings: { interval: 50ms }\nservices:\n  gated: { command: exec sleep 1000 }\n  fire: { command: echo fired, nomonitor: true }\n`, ["--control", raw]);
    // Both requests in one write, so the daemon reads them in one turn of its loop.
    const peer = await RawDealer.connect(raw);
    try {
      peer.sendTogether(["green_flag", "stop_flag"]);
      expect([await peer.receive(), await peer.receive()]).toEqual(["ACK", "ACK"]);
    } finally {
      peer.close();
    }
    // Asked after both replies, so after the turn in which the green flag's start would have run.
    const { status } = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "status" })));
    expect(status.daemon.flag).toBe(false);
    // The stop_flag shows gated stopped, then gates it on the flag again.
    await d.rec.snapshot((s) => state(s, "gated")?.state === "waiting" && !s.daemon.flag, "gated waiting, flag down", d.rec.messages.length);
    await d.stop();
    const out = String((await d.proc).all);
    // Neither the gated service nor the fire-and-forget one was started by the cancelled flag.
    expect(out).not.toContain("started (nomonitor)");
    expect(d.rec.messages.some((m) => m.topic === "event" && (m.data as EventMessage).to === "starting")).toBe(false);
  });

  it("--no-wait counts as a flag at start", async () => {
    const d = await daemons.start(`services:\n  gated: { command: exec sleep 1000 }\n`, ["--no-wait"]);
    await d.rec.snapshot((s) => state(s, "gated")?.state === "running", "gated running");
  });
});

describe("restarts", () => {
  it("restarts a service killed with SIGKILL; the next snapshot has the new pid", async () => {
    const d = await daemons.start(`
services:
  svc: { command: exec sleep 1000, restart: always, stable_after: 0 }
`);
    await d.flag();
    const first = await d.rec.event("svc", "running");
    const oldPid = first.data.pid!;
    const mark = d.rec.mark;
    process.kill(oldPid, "SIGKILL");
    const crash = await d.rec.event("svc", "starting", mark);
    expect(crash.data).toMatchObject({ from: "running", pid: oldPid, signal: "SIGKILL", exit_code: null });
    expect(crash.data.reason).toMatch(/killed by SIGKILL; restarting/);
    const again = await d.rec.event("svc", "running", mark);
    expect(again.data.pid).not.toBe(oldPid);
    const snap = await d.rec.snapshot((s) => state(s, "svc")?.state === "running", "svc running", d.rec.messages.indexOf(again));
    expect(state(snap, "svc")).toMatchObject({ pid: again.data.pid, restarts: 1, signal: "SIGKILL" });
  });

  it("backs off a crash loop into fatal, and a start request revives it", async () => {
    const d = await daemons.start(`
services:
  crasher:
    command: $SERVICES/crashes.sh
    restart_delay: 20ms
    max_restarts: 2
`);
    await d.flag();
    const fatal = await d.rec.event("crasher", "fatal");
    expect(fatal.data).toMatchObject({ exit_code: 3 });
    expect(fatal.data.reason).toMatch(/gave up after 2 restarts/);
    const states = d.rec.messages
      .filter((m) => m.topic === "event")
      .map((m) => (m.data as { to: string }).to);
    expect(states.filter((s) => s === "backoff")).toHaveLength(2);
    const delays = d.rec.messages
      .filter((m) => m.topic === "event" && (m.data as { to: string }).to === "backoff")
      .map((m) => (m.data as { reason: string }).reason.match(/in (\d+)ms/)?.[1]);
    expect(delays).toEqual(["20", "40"]);

    const mark = d.rec.mark;
    const reply = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "start", service: "crasher" })));
    expect(reply.ok).toBe(true);
    await d.rec.event("crasher", "starting", mark);
  });

  it("a service that cannot be spawned goes fatal with the reason, and the others run on", async () => {
    const d = await daemons.start(`
services:
  missing: { command: /nonexistent/program, args: [] }
  badcwd: { command: exec sleep 1000, cwd: /nonexistent-dir }
  filecwd: { command: exec sleep 1000, cwd: /etc/passwd }
  fine: { command: exec sleep 1000 }
`);
    await d.flag();
    const a = await d.rec.event("missing", "fatal");
    expect(a.data.reason).toMatch(/cannot spawn: \/nonexistent\/program: no such file/);
    const b = await d.rec.event("badcwd", "fatal");
    expect(b.data.reason).toMatch(/cwd \/nonexistent-dir does not exist/);
    const c = await d.rec.event("filecwd", "fatal");
    expect(c.data.reason).toMatch(/cwd \/etc\/passwd is not a directory/);
    await d.rec.event("fine", "running");
    // The snapshot keeps the reason, and `flowinit status` shows it.
    const status = await d.cli("status");
    expect(status.stdout).toContain("missing: cannot spawn: /nonexistent/program: no such file or directory");
    expect(status.stdout).toContain("filecwd: cannot spawn: cwd /etc/passwd is not a directory");
  });
});

describe("stopping process trees", () => {
  it("escalates to SIGKILL of the whole group after stop_timeout", async () => {
    const d = await daemons.start(`
services:
  stubborn:
    command: PIDFILE=$DIR/stubborn.pid $SERVICES/ignores-term.sh
    stop_timeout: 300ms
`);
    await d.flag();
    await d.rec.event("stubborn", "running");
    const pids = await waitForFile(d, join(d.dir, "stubborn.pid"));
    const mark = d.rec.mark;
    const t0 = Date.now();
    const reply = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "stop", service: "stubborn" }), null));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(reply.service.state).toBe("stopped");
    const stopped = await d.rec.event("stubborn", "stopped", mark);
    expect(stopped.data.reason).toMatch(/killed after stop_timeout/);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  });

  it("stops a tree that honours SIGTERM without waiting for the timeout", async () => {
    const d = await daemons.start(`
services:
  tree:
    command: PIDFILE=$DIR/tree.pid $SERVICES/forks-grandchild.sh
    stop_timeout: 20s
`);
    await d.flag();
    await d.rec.event("tree", "running");
    const pids = await waitForFile(d, join(d.dir, "tree.pid"));
    const r = await d.cli("stop", "tree");
    expect(r.exitCode).toBe(0);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  });

  it("answers ping and status while another client's stop waits out a long stop_timeout", async () => {
    const d = await daemons.start(`
services:
  stubborn: { command: PIDFILE=$DIR/stubborn.pid $SERVICES/ignores-term.sh, stop_timeout: 60s }
`);
    await d.flag();
    await d.rec.event("stubborn", "running");
    // Written once the trap is set: the stop below cannot end before the test ends it.
    const pids = await waitForFile(d, join(d.dir, "stubborn.pid"));
    const mark = d.rec.mark;
    let answered = false;
    const stopping = sendRaw(d.control, JSON.stringify({ cmd: "stop", service: "stubborn" }), null).then((r) => {
      answered = true;
      return JSON.parse(r);
    });
    await d.rec.event("stubborn", "stopping", mark);
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
    const snap = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "status" })));
    expect(state(snap.status, "stubborn")?.state).toBe("stopping");
    expect(answered).toBe(false);
    for (const pid of pids) process.kill(pid, "SIGKILL");
    expect((await stopping).service.state).toBe("stopped");
  });

  it("stops everything on SIGTERM, dependents first, and exits 0", async () => {
    const d = await daemons.start(`
services:
  base: { command: PIDFILE=$DIR/base.pid $SERVICES/forks-grandchild.sh }
  app: { command: exec sleep 1000, depends_on: [base] }
`);
    await d.flag();
    await d.rec.event("app", "running");
    const pids = await waitForFile(d, join(d.dir, "base.pid"));
    const mark = d.rec.mark;
    d.proc.kill("SIGTERM");
    const result = await d.proc;
    expect(result.exitCode).toBe(0);
    const order = d.rec.messages
      .slice(mark)
      .filter((m) => m.topic === "event" && (m.data as { to: string }).to === "stopped")
      .map((m) => (m.data as { service: string }).service);
    expect(order).toEqual(["app", "base"]);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });
});

describe("depends_on", () => {
  it("starts a service only once its dependencies are running", async () => {
    const d = await daemons.start(`
services:
  c: { command: exec sleep 1000, depends_on: [b] }
  b: { command: exec sleep 1000, depends_on: [a] }
  a: { command: sleep 0.2; exec sleep 1000 }
`);
    await d.flag();
    await d.rec.event("c", "running");
    const seen = d.rec.messages
      .filter((m) => m.topic === "event")
      .map((m) => `${(m.data as { service: string }).service}:${(m.data as { to: string }).to}`);
    for (const e of ["a:running", "b:starting", "b:running", "c:starting"]) expect(seen).toContain(e);
    expect(seen.indexOf("a:running")).toBeLessThan(seen.indexOf("b:starting"));
    expect(seen.indexOf("b:running")).toBeLessThan(seen.indexOf("c:starting"));
  });

  it("spawns a nomonitor service only once its dependencies are running", async () => {
    const d = await daemons.start(`
services:
  dep: { command: exec sleep 1000 }
  fire: { command: 'if [ -e "$DIR/go" ]; then echo after; else echo before; fi > "$DIR/seen"', nomonitor: true, depends_on: [dep] }
`);
    // dep is down when the flag comes: fire must wait for it.
    expect((await d.cli("stop", "dep")).exitCode).toBe(0);
    const mark = d.rec.mark;
    await d.flag();
    await d.rec.snapshot((s) => s.daemon.flag, "flag raised", mark);
    writeFileSync(join(d.dir, "go"), "");
    expect((await d.cli("start", "dep")).exitCode).toBe(0);
    await expect.poll(() => existsSync(join(d.dir, "seen")), { interval: 10 }).toBe(true);
    await expect.poll(() => readFileSync(join(d.dir, "seen"), "utf8"), { interval: 10 }).toBe("after\n");
  });
});

describe("status topic", () => {
  it("numbers every message with one gapless seq, each event before the snapshot that includes it", async () => {
    const d = await daemons.start(`services:\n  a: { command: exec sleep 1000 }\n`);
    await d.flag();
    const ev = await d.rec.event("a", "running");
    const i = d.rec.messages.indexOf(ev);
    const snap = await d.rec.snapshot((s) => state(s, "a")?.state === "running", "snapshot with a running", i);
    expect(snap.seq).toBeGreaterThan(ev.data.seq);
    // The first messages may go out before the subscriber connects; from then on, no gap.
    const seqs = d.rec.messages.map((m) => m.data.seq);
    seqs.forEach((s, k) => expect(s).toBe(seqs[0]! + k));
  });
});

describe("signals", () => {
  it("stops every service and exits 0 on a SIGTERM that comes while it is still starting them", async () => {
    const dir = tempDir();
    const pids = join(dir, "pids");
    // The first service signals the daemon as the others are being spawned, in the same synchronous loop.
    const services = Array.from({ length: 40 }, (_, i) => {
      const kill = i === 0 ? "kill -TERM $PPID; " : "";
      return `  s${i}: { command: 'echo $$ >> ${pids}; ${kill}exec sleep 1000', nowait: true }`;
    });
    const manifest = join(dir, "services.yaml");
    writeFileSync(manifest, `services:\n${services.join("\n")}\n`);
    const { control, status } = uniqueEndpoints();
    const r = await execa("node", [BIN, "run", "-c", manifest, "--control", control, "--status", status, "--log-dir", join(dir, "logs")], { reject: false, all: true, timeout: 30_000 });
    expect({ code: r.exitCode, signal: r.signal ?? null }).toEqual({ code: 0, signal: null });
    const started = existsSync(pids) ? pidsIn(pids) : [];
    expect(started.length).toBeGreaterThan(0);
    expect(started.filter(isAlive)).toEqual([]);
  });
});
