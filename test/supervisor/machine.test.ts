import { describe, expect, it } from "vitest";
import { noDraw } from "../helpers/specs.js";
import { isDeepStrictEqual } from "node:util";
import { initialStatus, transition, type MachineEvent, type ServiceStatus, type Step } from "../../src/supervisor/machine.js";
import type { MachineSpec } from "../../src/supervisor/machine.js";
import { STATE_NAMES, type State } from "../../src/supervisor/states.js";

const spec: MachineSpec = {
  restart: "on-failure",
  restartDelayMs: 100,
  restartDelayMaxMs: 30_000,
  maxRestarts: 5,
  stableAfterMs: 10_000,
  successExitCodes: [0],
  restartJitter: 0,
  oneshot: false,
  ready: null,
};
/** The monotonic reading; the wall clock reads something else entirely, so a mix-up shows. */
const T = 1_000_000;
const WALL = 1_764_000_000_000;
const NOW = { wall: WALL, mono: T };
const at = (state: State, patch: Partial<ServiceStatus> = {}): ServiceStatus => ({
  ...initialStatus(0),
  state,
  ...patch,
});
const crash = { code: 1, signal: null };
const clean = { code: 0, signal: null };
const killed = { code: null, signal: "SIGKILL" };

interface Row {
  name: string;
  from: ServiceStatus;
  event: MachineEvent;
  to: string;
  effects: string[];
  reason?: RegExp;
  spec?: Partial<MachineSpec>;
  check?: (s: ServiceStatus) => void;
}

const running = (startedAt = T - 1) => at({ name: "running", pid: 42, startedAt });
/** Spawned, waiting for its `ready` check. */
const unready = (startedAt = T - 1) => at({ name: "starting", pid: 42, startedAt });
const readyLog: Partial<MachineSpec> = { ready: { kind: "log_line", pattern: "listening" } };
const hung = { cause: "watchdog", reason: "watchdog: no heartbeat for 5.2s" } as const;
const late = { cause: "not_ready", reason: "not ready after 30s" } as const;

const rows: Row[] = [
  { name: "waiting --start--> starting", from: at({ name: "waiting" }), event: { type: "start", reason: "green flag" }, to: "starting", effects: ["spawn"], reason: /green flag/ },
  { name: "waiting --stop(stopped)--> stopped", from: at({ name: "waiting" }), event: { type: "stop", reason: "disabled", then: "stopped" }, to: "stopped", effects: [] },
  { name: "waiting --stop(waiting)--> no change", from: at({ name: "waiting" }), event: { type: "stop", reason: "stop flag", then: "waiting" }, to: "waiting", effects: [] },
  { name: "waiting --exited--> no-op", from: at({ name: "waiting" }), event: { type: "exited", exit: crash }, to: "waiting", effects: [] },
  { name: "starting --spawned--> running", from: at({ name: "starting" }), event: { type: "spawned", pid: 7 }, to: "running", effects: [], check: (s) => expect(s.state).toEqual({ name: "running", pid: 7, startedAt: T }) },
  { name: "starting --spawned (with a ready check)--> stays starting, with the pid", spec: readyLog, from: at({ name: "starting" }), event: { type: "spawned", pid: 7 }, to: "starting", effects: [], check: (s) => expect(s.state).toEqual({ name: "starting", pid: 7, startedAt: T }) },
  { name: "starting(spawned) --ready--> running, uptime from the spawn", spec: readyLog, from: unready(T - 50), event: { type: "ready", reason: "ready (log line /listening/)" }, to: "running", effects: [], reason: /log line/, check: (s) => expect(s.state).toEqual({ name: "running", pid: 42, startedAt: T - 50 }) },
  { name: "starting(spawned) --condemn(not_ready)--> stays starting, SIGKILL", spec: readyLog, from: unready(), event: { type: "condemn", verdict: late }, to: "starting", effects: ["sigkill"], check: (s) => expect(s.state).toMatchObject({ condemned: late }) },
  { name: "starting(condemned) --ready--> no-op: the kill stands", spec: readyLog, from: at({ name: "starting", pid: 42, startedAt: T - 1, condemned: late }), event: { type: "ready", reason: "READY=1" }, to: "starting", effects: [] },
  { name: "starting(condemned) --exited--> backoff, cause not_ready, the check's reason", spec: readyLog, from: at({ name: "starting", pid: 42, startedAt: T - 1, condemned: late }), event: { type: "exited", exit: killed }, to: "backoff", effects: ["schedule_restart"], reason: /^not ready after 30s; restarting in 100ms$/, check: (s) => { expect(s.cause).toBe("not_ready"); expect(s.streak).toBe(1); } },
  { name: "starting(spawned, never ready) --exited after a long run--> backoff: a quick crash", spec: readyLog, from: unready(T - 60_000), event: { type: "exited", exit: crash }, to: "backoff", effects: ["schedule_restart"], check: (s) => expect(s.streak).toBe(1) },
  { name: "running --condemn(watchdog)--> stays running, SIGKILL", from: running(), event: { type: "condemn", verdict: hung }, to: "running", effects: ["sigkill"], check: (s) => expect(s.state).toMatchObject({ condemned: hung }) },
  { name: "running(condemned) --condemn--> no-op: one kill", from: at({ name: "running", pid: 42, startedAt: T - 1, condemned: hung }), event: { type: "condemn", verdict: hung }, to: "running", effects: [] },
  { name: "running(condemned, long uptime) --exited--> backoff: a hang is a quick crash", from: at({ name: "running", pid: 42, startedAt: T - 3_600_000, condemned: hung }), event: { type: "exited", exit: killed }, to: "backoff", effects: ["schedule_restart"], reason: /^watchdog: no heartbeat for 5\.2s; restarting in 100ms$/, check: (s) => { expect(s.cause).toBe("watchdog"); expect(s.streak).toBe(1); } },
  { name: "running(condemned) --exited, restart: never--> exited, cause watchdog", spec: { restart: "never" }, from: at({ name: "running", pid: 42, startedAt: T - 1, condemned: hung }), event: { type: "exited", exit: killed }, to: "exited", effects: [], check: (s) => expect(s.cause).toBe("watchdog") },
  { name: "starting(spawned) --stop--> stopping with its pid", spec: readyLog, from: unready(), event: { type: "stop", reason: "stop request", then: "stopped" }, to: "stopping", effects: ["kill"], check: (s) => expect(s.state).toEqual({ name: "stopping", pid: 42, then: "stopped" }) },
  { name: "starting --spawn_failed--> fatal", from: at({ name: "starting" }), event: { type: "spawn_failed", message: "x: no such file" }, to: "fatal", effects: [], reason: /cannot spawn: x: no such file/, check: (s) => expect(s.state).toEqual({ name: "fatal", reason: "cannot spawn: x: no such file" }) },
  { name: "starting --stop--> stopping (kill)", from: at({ name: "starting" }), event: { type: "stop", reason: "stop request", then: "stopped" }, to: "stopping", effects: ["kill"] },
  { name: "starting --exited--> backoff (quick crash)", from: at({ name: "starting" }), event: { type: "exited", exit: crash }, to: "backoff", effects: ["schedule_restart"] },
  { name: "running --exited(crash, quick)--> backoff", from: running(), event: { type: "exited", exit: crash }, to: "backoff", effects: ["schedule_restart"], reason: /exited with code 1; restarting in 100ms/, check: (s) => { expect(s.streak).toBe(1); expect(s.exit).toEqual(crash); } },
  { name: "running --exited(crash, stable)--> starting at once", from: running(T - 10_000), event: { type: "exited", exit: killed }, to: "starting", effects: ["spawn"], reason: /killed by SIGKILL; restarting/, check: (s) => { expect(s.restarts).toBe(1); expect(s.streak).toBe(0); } },
  { name: "running --exited(clean, on-failure)--> exited", from: running(), event: { type: "exited", exit: clean }, to: "exited", effects: [], reason: /exited with code 0/ },
  { name: "running --exited(a success code, on-failure)--> exited", spec: { successExitCodes: [0, 143] }, from: running(), event: { type: "exited", exit: { code: 143, signal: null } }, to: "exited", effects: [], reason: /exited with code 143/, check: (s) => expect(s.cause).toBe("exit") },
  { name: "running --exited(clean, always)--> backoff", spec: { restart: "always" }, from: running(), event: { type: "exited", exit: clean }, to: "backoff", effects: ["schedule_restart"] },
  { name: "running --exited(crash, never)--> exited", spec: { restart: "never" }, from: running(), event: { type: "exited", exit: crash }, to: "exited", effects: [] },
  { name: "running --exited(crash past the limit)--> fatal", from: running({} as never), event: { type: "exited", exit: crash }, to: "fatal", effects: [], reason: /gave up after 5 restarts/ },
  { name: "running --stop--> stopping (kill)", from: running(), event: { type: "stop", reason: "stop request", then: "stopped" }, to: "stopping", effects: ["kill"], check: (s) => expect(s.state).toEqual({ name: "stopping", pid: 42, then: "stopped" }) },
  { name: "running --restart--> stopping then start", from: running(), event: { type: "restart", reason: "restart request" }, to: "stopping", effects: ["kill"], check: (s) => expect(s.state).toMatchObject({ then: "start" }) },
  { name: "running --start--> no-op", from: running(), event: { type: "start", reason: "again" }, to: "running", effects: [] },
  { name: "backoff --backoff_elapsed--> starting", from: at({ name: "backoff", until: T }, { restarts: 2 }), event: { type: "backoff_elapsed" }, to: "starting", effects: ["spawn"], check: (s) => expect(s.restarts).toBe(3) },
  { name: "backoff --start--> starting (timer cancelled)", from: at({ name: "backoff", until: T }), event: { type: "start", reason: "start request" }, to: "starting", effects: ["cancel_restart", "spawn"] },
  { name: "backoff --stop--> stopped (timer cancelled)", from: at({ name: "backoff", until: T }), event: { type: "stop", reason: "stop request", then: "stopped" }, to: "stopped", effects: ["cancel_restart"] },
  { name: "backoff --stop(waiting)--> waiting", from: at({ name: "backoff", until: T }), event: { type: "stop", reason: "stop flag", then: "waiting" }, to: "waiting", effects: ["cancel_restart"] },
  { name: "stopping --exited--> stopped", from: at({ name: "stopping", pid: 42, then: "stopped" }), event: { type: "exited", exit: { code: null, signal: "SIGTERM" } }, to: "stopped", effects: [], reason: /stopped \(killed by SIGTERM\)/ },
  { name: "stopping --exited(escalated)--> stopped", from: at({ name: "stopping", pid: 42, then: "stopped" }), event: { type: "exited", exit: killed, escalated: true }, to: "stopped", effects: [], reason: /killed after stop_timeout/ },
  { name: "stopping(waiting) --exited--> waiting", from: at({ name: "stopping", pid: 42, then: "waiting" }), event: { type: "exited", exit: clean }, to: "waiting", effects: [] },
  { name: "stopping(start) --exited--> starting", from: at({ name: "stopping", pid: 42, then: "start" }), event: { type: "exited", exit: clean }, to: "starting", effects: ["spawn"] },
  { name: "stopping --start--> stays, then starts", from: at({ name: "stopping", pid: 42, then: "stopped" }), event: { type: "start", reason: "start request" }, to: "stopping", effects: [], check: (s) => expect(s.state).toMatchObject({ then: "start" }) },
  { name: "stopping --stop--> no change", from: at({ name: "stopping", pid: 42, then: "stopped" }), event: { type: "stop", reason: "again", then: "stopped" }, to: "stopping", effects: [] },
  { name: "stopped --start--> starting", from: at({ name: "stopped" }), event: { type: "start", reason: "start request" }, to: "starting", effects: ["spawn"] },
  { name: "exited --restart--> starting", from: at({ name: "exited" }), event: { type: "restart", reason: "restart request" }, to: "starting", effects: ["spawn"] },
  { name: "fatal --start--> starting (streak cleared)", from: at({ name: "fatal", reason: "x" }, { streak: 6 }), event: { type: "start", reason: "start request" }, to: "starting", effects: ["spawn"], check: (s) => expect(s.streak).toBe(0) },
  { name: "fatal --stop(waiting)--> waiting", from: at({ name: "fatal", reason: "x" }), event: { type: "stop", reason: "stop flag", then: "waiting" }, to: "waiting", effects: [] },
  { name: "fatal --stop(stopped)--> no change", from: at({ name: "fatal", reason: "x" }), event: { type: "stop", reason: "stop request", then: "stopped" }, to: "fatal", effects: [] },
];
// The row "past the limit" needs a streak at the limit.
rows.find((r) => r.to === "fatal" && r.event.type === "exited")!.from = { ...running(), streak: 5 };

describe("transition", () => {
  it.each(rows)("$name", (row) => {
    const step = transition({ ...spec, ...row.spec }, row.from, row.event, NOW, noDraw);
    expect(step.status.state.name).toBe(row.to);
    expect(step.effects.map((e) => e.type)).toEqual(row.effects);
    if (row.to === row.from.state.name) {
      expect(step.change).toBeNull();
      expect(step.status.since).toBe(row.from.since);
    } else {
      expect(step.change).toMatchObject({ from: row.from.state.name, to: row.to });
      expect(step.status.since).toBe(WALL);
    }
    if (row.reason) expect(step.change?.reason).toMatch(row.reason);
    row.check?.(step.status);
  });

  it("a crash loop backs off 100, 200, 400, 800, 1600 ms and then goes fatal", () => {
    let s = running();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const step = transition(spec, s, { type: "exited", exit: crash }, NOW, noDraw);
      s = step.status;
      if (s.state.name === "fatal") break;
      const eff = step.effects[0];
      delays.push(eff?.type === "schedule_restart" ? eff.delayMs : -1);
      s = transition(spec, s, { type: "backoff_elapsed" }, NOW, noDraw).status;
      s = transition(spec, s, { type: "spawned", pid: 1 }, NOW, noDraw).status;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600]);
    expect(s.state.name).toBe("fatal");
    expect(s.restarts).toBe(5);
  });
});

describe("the cause of the last exit", () => {
  const stopping = (then: "stopped" | "start") => at({ name: "stopping", pid: 42, then });
  it.each([
    ["a success code", "exit", running(), { type: "exited", exit: clean }],
    ["a success code restarted by `always`", "exit", running(), { type: "exited", exit: clean }, { restart: "always" }],
    ["another code", "crash", running(), { type: "exited", exit: { code: 3, signal: null } }],
    ["a signal the daemon did not send", "crash", running(), { type: "exited", exit: { code: null, signal: "SIGSEGV" } }],
    ["a SIGTERM the daemon did not send", "crash", running(), { type: "exited", exit: { code: null, signal: "SIGTERM" } }],
    ["a SIGKILL the daemon did not send", "killed", running(), { type: "exited", exit: killed }],
    ["a SIGKILL before the spawn was confirmed", "killed", at({ name: "starting" }), { type: "exited", exit: killed }],
    ["the stop signal", "stop", stopping("stopped"), { type: "exited", exit: { code: null, signal: "SIGTERM" } }],
    ["a clean exit on the stop signal", "stop", stopping("stopped"), { type: "exited", exit: clean }],
    ["the stop's SIGKILL after stop_timeout", "stop", stopping("stopped"), { type: "exited", exit: killed, escalated: true }],
    ["a restart's stop", "stop", stopping("start"), { type: "exited", exit: { code: null, signal: "SIGTERM" } }],
    ["a failed spawn", "spawn_failed", at({ name: "starting" }), { type: "spawn_failed", message: "x: no such file" }],
    ["a failed spawn under a stop", "spawn_failed", stopping("stopped"), { type: "spawn_failed", message: "x: no such file" }],
  ] as [string, string, ServiceStatus, MachineEvent, Partial<MachineSpec>?][])("%s -> %s", (_, cause, from, event, over = {}) => {
    expect(transition({ ...spec, ...over }, from, event, NOW, noDraw).status.cause).toBe(cause);
  });

  it("is null before the first exit and stays through the next start", () => {
    expect(initialStatus(0).cause).toBeNull();
    const crashed = transition(spec, running(), { type: "exited", exit: killed }, NOW, noDraw).status;
    const again = transition(spec, crashed, { type: "backoff_elapsed" }, NOW, noDraw).status;
    expect(transition(spec, again, { type: "spawned", pid: 8 }, NOW, noDraw).status.cause).toBe("killed");
  });
});

describe("durations are monotonic, whatever the wall clock does", () => {
  const HOUR = 3_600_000;
  /** A service that crashes 300 ms after each start, as read by mono, while the wall clock moves `wallStep` per event. */
  function crashLoop(wallStep: number): { trace: string[]; last: ServiceStatus; wall: number } {
    let now = { wall: WALL, mono: T };
    const later = (monoMs: number) => (now = { wall: now.wall + wallStep, mono: now.mono + monoMs });
    let s = transition(spec, at({ name: "starting" }), { type: "spawned", pid: 1 }, now, noDraw).status;
    const trace: string[] = [];
    for (let i = 0; i < 10 && s.state.name !== "fatal"; i++) {
      const step = transition(spec, s, { type: "exited", exit: crash }, later(300), noDraw);
      s = step.status;
      trace.push(step.change?.to ?? s.state.name);
      if (s.state.name === "backoff") s = transition(spec, s, { type: "backoff_elapsed" }, later(100), noDraw).status;
      if (s.state.name === "starting") s = transition(spec, s, { type: "spawned", pid: 1 }, later(1), noDraw).status;
    }
    return { trace, last: s, wall: now.wall };
  }
  const goesFatal = ["backoff", "backoff", "backoff", "backoff", "backoff", "fatal"];

  it("a crash loop goes fatal though the wall clock leaps an hour forward between crashes", () => {
    const { trace, last, wall } = crashLoop(HOUR);
    expect(trace).toEqual(goesFatal);
    expect(last.restarts).toBe(5);
    // `since` still follows the wall clock: people read it.
    expect(last.since).toBe(wall);
  });

  it("a wall clock going back changes nothing either: a crash loop goes fatal, a stable run restarts at once", () => {
    expect(crashLoop(-HOUR).trace).toEqual(goesFatal);
    expect(crashLoop(0).trace).toEqual(goesFatal);
    const up = transition(spec, { ...at({ name: "starting" }), streak: 3 }, { type: "spawned", pid: 1 }, NOW, noDraw).status;
    const step = transition(spec, up, { type: "exited", exit: crash }, { wall: WALL - HOUR, mono: T + spec.stableAfterMs }, noDraw);
    expect(step.status.state.name).toBe("starting");
    expect(step.status.streak).toBe(0);
  });

  it("a backoff with restart_jitter waits the drawn delay, and ends at it", () => {
    const jitter = { ...spec, restartJitter: 0.1 };
    const step = transition(jitter, running(), { type: "exited", exit: crash }, NOW, () => 0);
    expect(step.effects).toEqual([{ type: "schedule_restart", delayMs: 90 }]);
    expect(step.status.state).toEqual({ name: "backoff", until: T + 90 });
    expect(step.change?.reason).toMatch(/restarting in 90ms/);
  });

  it("a backoff ends at a reading of the monotonic clock", () => {
    const backoff = transition(spec, running(), { type: "exited", exit: crash }, NOW, noDraw).status;
    expect(backoff.state).toEqual({ name: "backoff", until: T + 100 });
  });
});

describe("every (state, event) cell", () => {
  // Each event type once; `stop` twice, since where it leads decides the cell. A new event type
  // fails to compile here until it has a column.
  const columns: { [K in MachineEvent["type"]]: Record<string, Extract<MachineEvent, { type: K }>> } = {
    start: { start: { type: "start", reason: "start request" } },
    restart: { restart: { type: "restart", reason: "restart request" } },
    stop: {
      stop: { type: "stop", reason: "stop request", then: "stopped" },
      "stop(waiting)": { type: "stop", reason: "stop flag", then: "waiting" },
    },
    spawned: { spawned: { type: "spawned", pid: 7 } },
    spawn_failed: { spawn_failed: { type: "spawn_failed", message: "x: no such file" } },
    exited: { exited: { type: "exited", exit: crash } },
    backoff_elapsed: { backoff_elapsed: { type: "backoff_elapsed" } },
    ready: { ready: { type: "ready", reason: "READY=1" } },
    condemn: { condemn: { type: "condemn", verdict: { cause: "watchdog", reason: "watchdog: no heartbeat for 5.2s" } } },
  };
  const events: [string, MachineEvent][] = Object.values(columns).flatMap((c) => Object.entries(c));

  // One status per state; stopping once per `then`, which decides its cells.
  const rows = {
    waiting: at({ name: "waiting" }),
    starting: at({ name: "starting" }),
    "starting(spawned)": unready(),
    running: running(),
    backoff: at({ name: "backoff", until: T }, { streak: 1 }),
    stopping: at({ name: "stopping", pid: null, then: "stopped" }),
    "stopping(start)": at({ name: "stopping", pid: null, then: "start" }),
    "stopping(waiting)": at({ name: "stopping", pid: null, then: "waiting" }),
    stopped: at({ name: "stopped" }),
    exited: at({ name: "exited" }),
    fatal: at({ name: "fatal", reason: "x" }),
  } satisfies Record<string, ServiceStatus>;

  // Each cell: the state after the event, then the effects, then the state's fields that changed
  // while the state stayed, then the cause when it changed; `nop`: nothing changes at all.
  const table: Record<keyof typeof rows, string[]> = {
    //                     start                             restart                           stop                       stop(waiting)              spawned            spawn_failed                   exited                                   backoff_elapsed   ready      condemn
    waiting:             ["starting spawn",                 "starting spawn",                 "stopped",                 "nop",                     "nop",             "nop",                         "nop",                                   "nop",            "nop",     "nop"],
    starting:            ["nop",                            "stopping kill",                  "stopping kill",           "stopping kill",           "running",         "fatal cause:spawn_failed",    "backoff schedule_restart cause:crash",  "nop",            "nop",     "nop"],
    "starting(spawned)": ["nop",                            "stopping kill",                  "stopping kill",           "stopping kill",           "running",         "fatal cause:spawn_failed",    "backoff schedule_restart cause:crash",  "nop",            "running", "starting sigkill condemned:[object Object]"],
    running:             ["nop",                            "stopping kill",                  "stopping kill",           "stopping kill",           "nop",             "nop",                         "backoff schedule_restart cause:crash",  "nop",            "nop",     "running sigkill condemned:[object Object]"],
    backoff:             ["starting cancel_restart spawn",  "starting cancel_restart spawn",  "stopped cancel_restart",  "waiting cancel_restart",  "nop",             "nop",                         "nop",                                   "starting spawn", "nop",     "nop"],
    stopping:            ["stopping then:start",            "stopping then:start",            "nop",                     "stopping then:waiting",   "stopping pid:7",  "stopped cause:spawn_failed",  "stopped cause:stop",                    "nop",            "nop",     "nop"],
    "stopping(start)":   ["nop",                            "nop",                            "stopping then:stopped",   "stopping then:waiting",   "stopping pid:7",  "fatal cause:spawn_failed",    "starting spawn cause:stop",             "nop",            "nop",     "nop"],
    "stopping(waiting)": ["stopping then:start",            "stopping then:start",            "stopping then:stopped",   "nop",                     "stopping pid:7",  "waiting cause:spawn_failed",  "waiting cause:stop",                    "nop",            "nop",     "nop"],
    stopped:             ["starting spawn",                 "starting spawn",                 "nop",                     "waiting",                 "nop",             "nop",                         "nop",                                   "nop",            "nop",     "nop"],
    exited:              ["starting spawn",                 "starting spawn",                 "nop",                     "waiting",                 "nop",             "nop",                         "nop",                                   "nop",            "nop",     "nop"],
    fatal:               ["starting spawn",                 "starting spawn",                 "nop",                     "waiting",                 "nop",             "nop",                         "nop",                                   "nop",            "nop",     "nop"],
  };

  /** A step written as a cell of the table. */
  function cell(from: ServiceStatus, step: Step): string {
    if (step.change === null && step.effects.length === 0 && isDeepStrictEqual(step.status, from)) return "nop";
    const state = step.status.state as unknown as Record<string, unknown>;
    const before = from.state as unknown as Record<string, unknown>;
    const fields =
      state.name === before.name ? Object.keys(state).filter((k) => state[k] !== before[k]).map((k) => `${k}:${String(state[k])}`) : [];
    const cause = step.status.cause !== from.cause ? [`cause:${String(step.status.cause)}`] : [];
    return [state.name, ...step.effects.map((e) => e.type), ...fields, ...cause].join(" ");
  }

  it("has a row for every state and a cell for every event", () => {
    expect(new Set(Object.values(rows).map((r) => r.state.name))).toEqual(new Set(STATE_NAMES));
    for (const cells of Object.values(table)) expect(cells).toHaveLength(events.length);
  });

  const cells = (Object.keys(rows) as (keyof typeof rows)[]).flatMap((row) =>
    events.map(([column, event], i) => ({ row, column, from: rows[row], event, expected: table[row][i]! })),
  );

  it.each(cells)("$row x $column -> $expected", ({ from, event, expected }) => {
    const step = transition(spec, from, event, NOW, noDraw);
    expect(cell(from, step)).toBe(expected);
    // A change of state comes with exactly one Change, and nothing changes state without one.
    if (step.status.state.name !== from.state.name) {
      expect(step.change).toEqual({ from: from.state.name, to: step.status.state.name, reason: expect.stringMatching(/\S/) });
      expect(step.status.since).toBe(WALL);
    } else {
      expect(step.change).toBeNull();
      expect(step.status.since).toBe(from.since);
    }
  });
});

