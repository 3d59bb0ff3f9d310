/**
 * Readiness, watchdogs and STATUS= end to end: a real daemon, real children
 * and the status topic. A fixture that must be held back waits for a file
 * the test creates once it has seen what it needs, so that nothing rests on
 * timing.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Snapshot } from "../../src/bus/protocol.js";
import { daemonPerTest, state, type RunningDaemon } from "../helpers/daemon.js";

const daemons = daemonPerTest();

/** Waits in the fixture until the test creates $DIR/go. */
const HOLD = 'until [ -e "$DIR/go" ]; do sleep 0.01; done';
/** Nanoseconds since the epoch, for ordering what two services did. */
const STAMP = "date +%s%N";
/** The stamp a service wrote to `name`, once it is there. */
async function stampOf(dir: string, name: string): Promise<bigint> {
  const read = () => {
    try {
      return readFileSync(join(dir, name), "utf8").trim();
    } catch {
      return "";
    }
  };
  await expect.poll(read, { interval: 5, message: `a stamp in ${name}` }).toMatch(/^\d+$/);
  return BigInt(read());
}

/**
 * `db` is spawned and held; `app`, which depends on it, must stay waiting
 * until `db` is ready, however long that takes. Then db says it is ready and
 * app starts after: its start is stamped after db's.
 */
async function readyBeforeDependent(db: string, readyReason: RegExp): Promise<RunningDaemon> {
  const d = await daemons.start(`
settings: { interval: 50ms }
services:
  db: ${db}
  app: { command: '${STAMP} > "$DIR/app.started"; exec sleep 1000', depends_on: [db] }
`);
  await d.flag();
  const held = await d.rec.snapshot((s) => state(s, "db")?.state === "starting" && state(s, "db")?.pid !== null, "db spawned, not ready");
  expect(state(held, "app")?.state).toBe("waiting");
  // Some ticks later, still held: a pid is not readiness.
  const at = d.rec.mark;
  const later = await d.rec.snapshot((s) => s.seq >= held.seq + 5, "five messages later", at);
  expect(state(later, "db")?.state).toBe("starting");
  expect(state(later, "app")?.state).toBe("waiting");

  writeFileSync(join(d.dir, "go"), "");
  const running = await d.rec.event("db", "running", at);
  expect(running.data.reason).toMatch(readyReason);
  await d.rec.event("app", "running", at);
  expect(await stampOf(d.dir, "app.started")).toBeGreaterThan(await stampOf(d.dir, "db.ready"));
  return d;
}

describe("ready", () => {
  it("{fd}: a dependent starts only after READY=1 on the notify descriptor", async () => {
    await readyBeforeDependent(
      `{ command: '${HOLD}; ${STAMP} > "$DIR/db.ready"; echo READY=1 >&$FLOWINIT_NOTIFY_FD; exec sleep 1000', ready: {fd: 3} }`,
      /^ready: READY=1$/,
    );
  });

  it("{fd} at a higher descriptor: an empty line counts as READY=1 (s6's notification-fd)", async () => {
    await readyBeforeDependent(
      `{ command: '[ "$FLOWINIT_NOTIFY_FD" = 5 ] || exit 9; ${HOLD}; ${STAMP} > "$DIR/db.ready"; echo >&5; exec sleep 1000', ready: {fd: 5} }`,
      /^ready: READY=1$/,
    );
  });

  it("{log_line}: a dependent starts only after the line appears in the service's output", async () => {
    const d = await readyBeforeDependent(
      `{ command: 'echo starting up; ${HOLD}; ${STAMP} > "$DIR/db.ready"; echo "db: listening on 7000" >&2; exec sleep 1000', ready: {log_line: "listening on \\\\d+"} }`,
      /^ready: log line matched \/listening on \\d\+\/$/,
    );
    // The line still reaches the log, once written (the log writes behind the service's output).
    await expect.poll(() => readFileSync(join(d.dir, "logs", "db.log"), "utf8"), { interval: 5 }).toMatch(/err \| db: listening on 7000/);
  });

  it("{exec}: a dependent starts only after the probe first exits 0", async () => {
    await readyBeforeDependent(
      `{ command: '${HOLD}; ${STAMP} > "$DIR/db.ready"; touch "$DIR/db.up"; exec sleep 1000', ready: {exec: 'test -e "$DIR/db.up"', period: 20ms} }`,
      /^ready: probe `test -e "\$DIR\/db.up"` succeeded$/,
    );
  });

  it("a service not ready within ready_timeout is killed: cause not_ready, and a quick crash for the policy", async () => {
    const d = await daemons.start(`
settings: { interval: 50ms }
services:
  mute: { command: 'echo $$ >> "$DIR/pids"; exec sleep 1000', ready: {fd: 3}, ready_timeout: 200ms, restart: on-failure, restart_delay: 10ms, max_restarts: 1 }
`);
    await d.flag();
    const first = await d.rec.event("mute", "backoff");
    expect(first.data).toMatchObject({ from: "starting", cause: "not_ready", signal: "SIGKILL", reason: "not ready after 200ms; restarting in 10ms" });
    const fatal = await d.rec.event("mute", "fatal");
    expect(fatal.data).toMatchObject({ cause: "not_ready", reason: expect.stringMatching(/^not ready after 200ms; gave up after 1 restarts/) });
    const pids = readFileSync(join(d.dir, "pids"), "utf8").trim().split("\n");
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(Number(pid), 0)).toThrow();
  });
});

/** The snapshots from index `from` on that show `name` running, with the pids they show. */
const pidsRunning = (d: RunningDaemon, name: string, from: number) =>
  d.rec.messages
    .slice(from)
    .filter((m) => m.topic === "status")
    .map((m) => state(m.data as Snapshot, name))
    .filter((e) => e?.state === "running")
    .map((e) => e!.pid);

describe("watchdog", () => {
  it("kills and restarts a service that kicked, then hung (SIGSTOP): cause watchdog", async () => {
    const d = await daemons.start(`
settings: { interval: 50ms }
services:
  planner: { command: 'echo WATCHDOG=1 >&3; echo STATUS=planning >&3; kill -STOP $$', notify_fd: 3, watchdog: 300ms, restart_delay: 10ms }
`);
    await d.flag();
    const running = await d.rec.event("planner", "running");
    const missed = await d.rec.event("planner", "backoff", d.rec.messages.indexOf(running));
    expect(missed.data).toMatchObject({ from: "running", pid: running.data.pid, cause: "watchdog", signal: "SIGKILL" });
    expect(missed.data.reason).toMatch(/^watchdog: no heartbeat for \d+\.\ds; restarting in 10ms$/);
    // The gap the reason names is past the watchdog's.
    expect(Number(/for (\d+\.\d)s/.exec(missed.data.reason)![1])).toBeGreaterThanOrEqual(0.3);
    const again = await d.rec.event("planner", "running", d.rec.messages.indexOf(missed));
    expect(again.data.pid).not.toBe(running.data.pid);
    expect(() => process.kill(running.data.pid!, 0)).toThrow();
  });

  it("leaves alone a service that never kicked: the watchdog is armed by the first heartbeat", async () => {
    const d = await daemons.start(`
settings: { interval: 20ms }
services:
  quiet: { command: 'exec sleep 1000', notify_fd: 3, watchdog: 100ms }
`);
    await d.flag();
    const running = await d.rec.event("quiet", "running");
    const from = d.rec.messages.indexOf(running) + 1;
    // Twenty ticks of 20 ms each, past the 100 ms watchdog many times over.
    await d.rec.waitFor((m): m is never => pidsRunning(d, "quiet", from).length >= 20, "twenty ticks");
    expect(new Set(pidsRunning(d, "quiet", from))).toEqual(new Set([running.data.pid]));
    expect(d.rec.messages.slice(from).some((m) => m.topic === "event")).toBe(false);
  });

  it("takes openpilot's wd_<pid> files as heartbeats, and kills when their values stop changing", async () => {
    // common/watchdog.py's format: an 8-byte little-endian nanosecond timestamp, in the shm path.
    const kick = (n: number) =>
      `import os, struct, time, sys\n` +
      `path = os.path.join(os.environ["FLOWINIT_WATCHDOG_DIR"], f"wd_{os.getpid()}")\n` +
      `for i in range(${n}):\n` +
      `    with open(path, "wb") as f: f.write(struct.pack("<Q", int(time.monotonic() * 1e9)))\n` +
      `    open(os.path.join(os.environ["DIR"], "kicks"), "a").write("k\\n")\n` +
      `    time.sleep(0.05)\n` +
      `time.sleep(1000)\n`;
    const d = await daemons.start(`
settings: { interval: 50ms }
services:
  sensor: { command: python3, args: [-c, ${JSON.stringify(kick(6))}], watchdog: 400ms, restart: never }
`);
    await d.flag();
    const running = await d.rec.event("sensor", "running");
    const ended = await d.rec.event("sensor", "exited", d.rec.messages.indexOf(running));
    expect(ended.data).toMatchObject({ cause: "watchdog", signal: "SIGKILL", reason: expect.stringMatching(/^watchdog: no heartbeat for/) });
    // It was killed only after it stopped kicking: every kick was written.
    expect(readFileSync(join(d.dir, "kicks"), "utf8")).toBe("k\n".repeat(6));
  });
});

describe("STATUS=", () => {
  it("shows the last STATUS= line as the entry's status_text, and in flowinit status", async () => {
    const d = await daemons.start(`
settings: { interval: 50ms }
services:
  cal: { command: 'echo STATUS=calibrating >&3; ${HOLD}; echo "STATUS=calibrated, 3 cameras" >&3; exec sleep 1000', notify_fd: 3 }
`);
    await d.flag();
    await d.rec.snapshot((s) => state(s, "cal")?.status_text === "calibrating", "STATUS=calibrating");
    writeFileSync(join(d.dir, "go"), "");
    await d.rec.snapshot((s) => state(s, "cal")?.status_text === "calibrated, 3 cameras", "the second STATUS=");
    const shown = await d.cli("status");
    expect(shown.stdout).toMatch(/STATUS/);
    expect(shown.stdout).toMatch(/cal\s+running.*calibrated, 3 cameras/);
  });
});

describe("success_exit_codes", () => {
  it("an on-failure service exiting with a listed code is not restarted, and a oneshot exiting so completes", async () => {
    const d = await daemons.start(`
services:
  tool: { command: 'exit 3', success_exit_codes: [0, 3] }
  java: { command: 'exit 143', oneshot: true, success_exit_codes: [0, 143] }
  app: { command: 'exec sleep 1000', depends_on: {java: completed} }
  other: { command: 'exit 4', success_exit_codes: [0, 3], max_restarts: 0 }
`);
    await d.flag();
    expect((await d.rec.event("tool", "exited")).data).toMatchObject({ cause: "exit", exit_code: 3 });
    expect((await d.rec.event("java", "exited")).data).toMatchObject({ cause: "exit", exit_code: 143 });
    await d.rec.event("app", "running");
    expect((await d.rec.event("other", "fatal")).data).toMatchObject({ cause: "crash", exit_code: 4 });
    expect(d.rec.messages.some((m) => m.topic === "event" && ["tool", "java"].includes((m.data as { service: string }).service) && (m.data as { to: string }).to === "backoff")).toBe(false);
  });
});
