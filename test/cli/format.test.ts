import { describe, expect, it } from "vitest";
import type { EventMessage, GateEventMessage, HealthMessage, HistoryEntry, ServiceEntry, Snapshot } from "../../src/bus/protocol.js";
import {
  formatClock,
  formatBytes,
  formatDevice,
  formatDuration,
  formatEvent,
  formatExit,
  formatGates,
  formatHeader,
  formatHealth,
  formatHistory,
  formatServiceLine,
  formatStatus,
  formatTable,
  formatWatchFrame,
} from "../../src/cli/format.js";

/** A local time, so clock output does not depend on the machine's time zone. */
const T = new Date(2025, 0, 2, 12, 0, 1).getTime();

const entry = (over: Partial<ServiceEntry>): ServiceEntry => ({
  name: "plannerd",
  state: "running",
  pid: 1234,
  restarts: 0,
  exit_code: null,
  signal: null,
  cause: null,
  since: T,
  nowait: false,
  cpu_percent: null,
  rss_bytes: null,
  ...over,
});

const snapshot = (services: ServiceEntry[]): Snapshot => ({
  seq: 7,
  time: T,
  daemon: { pid: 42, version: "0.1.0", phase: "running", flag: true, started_at: T - 60_000, health: { ok: true, down: [] } },
  services,
});

const event: EventMessage = {
  seq: 8,
  time: T,
  service: "plannerd",
  from: "running",
  to: "backoff",
  pid: null,
  exit_code: 1,
  signal: null,
  cause: "crash",
  reason: "exited with code 1; restarting in 200ms",
};

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [999, "0s"],
    [45_000, "45s"],
    [60_000, "1m00s"],
    [185_000, "3m05s"],
    [3_720_000, "1h02m"],
    [(2 * 24 + 4) * 3_600_000 + 59_000, "2d04h"],
    [-5_000, "0s"],
  ])("%i ms reads %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("formatClock", () => {
  it("shows local HH:MM:SS", () => {
    expect(formatClock(T)).toBe("12:00:01");
    expect(formatClock(new Date(2025, 0, 2, 3, 4, 5).getTime())).toBe("03:04:05");
  });
});

describe("formatExit", () => {
  it("prefers the exit code, then the signal, else a dash", () => {
    expect(formatExit({ exit_code: 1, signal: null })).toBe("1");
    expect(formatExit({ exit_code: 0, signal: null })).toBe("0");
    expect(formatExit({ exit_code: null, signal: "SIGKILL" })).toBe("SIGKILL");
    expect(formatExit({ exit_code: null, signal: null })).toBe("-");
  });
});

describe("formatTable", () => {
  const services = [
    entry({ since: T - 3_720_000, restarts: 2, exit_code: 1, cpu_percent: 12.34, rss_bytes: 3_565_158 }),
    entry({ name: "calibrationd", state: "backoff", pid: null, restarts: 3, signal: "SIGSEGV", since: T - 1000 }),
    entry({ name: "logger", state: "waiting", pid: null }),
  ];

  it("lines up the columns without borders or trailing spaces", () => {
    expect(formatTable(services, T, false)).toBe(
      [
        "NAME          STATE    PID   UPTIME  CPU    MEM   RESTARTS  EXIT",
        "plannerd      running  1234  1h02m   12.3%  3.4M  2         1",
        "calibrationd  backoff  -     -       -      -     3         SIGSEGV",
        "logger        waiting  -     -       -      -     0         -",
      ].join("\n"),
    );
  });

  it("paints running services green and the rest red only when asked", () => {
    const lines = formatTable(services, T, true).split("\n");
    expect(lines[0]).not.toContain("\x1b[");
    expect(lines[1]).toContain("\x1b[32mplannerd\x1b[39m");
    expect(lines[2]).toContain("\x1b[31mcalibrationd\x1b[39m");
    expect(lines[3]).toContain("\x1b[31mwaiting\x1b[39m");
    expect(formatTable(services, T, false)).not.toContain("\x1b[");
  });
});

describe("formatBytes and formatDevice", () => {
  it("prints sizes in binary units", () => {
    expect([512, 2048, 3_565_158, 50 * 1024 ** 2, 3 * 1024 ** 3].map(formatBytes)).toEqual(["512B", "2.0K", "3.4M", "50M", "3.0G"]);
  });
  it("prints the device line, leaving out what could not be read", () => {
    expect(
      formatDevice({ cpu_percent: 12.4, memory_percent: 45, disk_free_percent: 80.2, battery_percent: null, temperatures_c: { "cpu-0": 41.5 } }),
    ).toBe("device  cpu 12%  mem 45%  disk free 80%  cpu-0 41.5°C");
  });
});

describe("formatHeader", () => {
  it("names the daemon, its phase and flag, the endpoint and the snapshot's time", () => {
    expect(formatHeader(snapshot([]), "ipc://@flowinit/control", false)).toBe(
      "flowinit 0.1.0  pid 42  phase running  flag green  ipc://@flowinit/control  12:00:01",
    );
    const waiting = { ...snapshot([]), daemon: { ...snapshot([]).daemon, phase: "waiting" as const, flag: false } };
    expect(formatHeader(waiting, "ep", false)).toContain("phase waiting  flag off");
    const recovered = { ...snapshot([]), daemon: { ...snapshot([]).daemon, recovered_from: 4100 } };
    expect(formatHeader(recovered, "ep", false)).toContain("flag green  recovered from pid 4100  ep");
  });
});

describe("formatHealth", () => {
  const down = (names: string[]) => ({ ...snapshot([]), daemon: { ...snapshot([]).daemon, health: { ok: false, down: names } } });

  it("says ok, in green only when asked", () => {
    expect(formatHealth(snapshot([]), false)).toBe("health ok");
    expect(formatHealth(snapshot([]), true)).toBe("\x1b[32mhealth ok\x1b[39m");
  });

  it("names each service down with its state and the cause of its last exit, in red", () => {
    const services = [entry({ name: "modeld", state: "backoff", pid: null, cause: "killed" }), entry({ name: "plannerd", state: "waiting", pid: null })];
    const s = { ...down(["modeld", "plannerd"]), services };
    expect(formatHealth(s, false)).toBe("health DOWN  modeld backoff (killed)  plannerd waiting");
    expect(formatHealth(s, true)).toContain("\x1b[31m");
  });
});

describe("formatStatus", () => {
  it("puts the health and the header over the table", () => {
    const text = formatStatus(snapshot([entry({})]), "ep", false).split("\n");
    expect(text[0]).toBe("health ok");
    expect(text[1]).toMatch(/^flowinit 0\.1\.0 /);
    expect(text[2]).toMatch(/^NAME +STATE/);
    expect(text[3]).toMatch(/^plannerd +running +1234 +0s/);
  });

  it("says so when the daemon supervises nothing", () => {
    expect(formatStatus(snapshot([]), "ep", false).split("\n")[2]).toBe("no services");
  });

  it("says under the table why each fatal service gave up", () => {
    const services = [entry({}), entry({ name: "sensord", state: "fatal", pid: null, reason: "cannot spawn: sensord: no such file or directory" })];
    const text = formatStatus(snapshot(services), "ep", false).split("\n");
    expect(text.slice(-2)).toEqual(["", "sensord: cannot spawn: sensord: no such file or directory"]);
    expect(formatStatus(snapshot([entry({})]), "ep", false).split("\n")).toHaveLength(4);
  });

  it("shows the gates under the header, why each closed one is closed", () => {
    const s = snapshot([entry({})]);
    s.daemon.gates = {
      flag: { open: true, reason: "green flag", since: T },
      cool: { open: false, reason: "46.1 C > 45", since: T },
      started: { open: false, reason: "not opened yet", since: T },
      power: { open: true, reason: "charging", since: T },
    };
    const text = formatStatus(s, "ep", false).split("\n");
    expect(text[1]).toMatch(/^flowinit 0\.1\.0 /);
    expect(text[2]).toBe("gates  flag open  cool closed (46.1 C > 45)  started closed (not opened yet)  power open");
    expect(text[3]).toMatch(/^NAME +STATE/);
  });

  it("shows no gates line when the flag is the only gate", () => {
    const s = snapshot([entry({})]);
    s.daemon.gates = { flag: { open: true, reason: "green flag", since: T } };
    expect(formatGates(s, false)).toBeNull();
    expect(formatStatus(s, "ep", false)).toBe(formatStatus(snapshot([entry({})]), "ep", false));
  });
});

describe("formatEvent", () => {
  it("reads time, service, from -> to: reason", () => {
    expect(formatEvent(event, false)).toBe("12:00:01 plannerd running -> backoff: exited with code 1; restarting in 200ms");
  });

  it("leaves out an empty reason", () => {
    expect(formatEvent({ ...event, reason: "" }, false)).toBe("12:00:01 plannerd running -> backoff");
  });

  it("reads a gate's flip as the gate, from -> to: its reading", () => {
    const flip: GateEventMessage = {
      seq: 9,
      time: T,
      service: null,
      gate: "cool",
      open: false,
      from: "open",
      to: "closed",
      pid: null,
      exit_code: null,
      signal: null,
      cause: null,
      reason: "46.1 C > 45",
    };
    expect(formatEvent(flip, false)).toBe("12:00:01 gate cool open -> closed: 46.1 C > 45");
  });
});

describe("formatServiceLine", () => {
  it.each([
    [entry({}), "plannerd: running (pid 1234)"],
    [entry({ state: "stopped", pid: null, signal: "SIGTERM" }), "plannerd: stopped"],
    [entry({ state: "exited", pid: null, exit_code: 1 }), "plannerd: exited (code 1)"],
    [entry({ state: "fatal", pid: null, signal: "SIGKILL" }), "plannerd: fatal (SIGKILL)"],
    [entry({ state: "waiting", pid: null }), "plannerd: waiting"],
  ])("%#: %s", (e, text) => {
    expect(formatServiceLine(e)).toBe(text);
  });
});

describe("formatWatchFrame", () => {
  const view = { endpoint: "ipc://@flowinit/status", snapshot: null, events: [], silentFor: null };

  it("says it is waiting until the first snapshot", () => {
    expect(formatWatchFrame(view, false)).toBe("waiting for the daemon at ipc://@flowinit/status ...");
  });

  it("shows the status, then recent events and health flips under a blank line", () => {
    const health: HealthMessage = { seq: 9, time: T, ok: false, down: ["plannerd"], reason: "plannerd backoff (crash)" };
    const lines = formatWatchFrame({ ...view, snapshot: snapshot([entry({})]), events: [event, health] }, false).split("\n");
    expect(lines).toHaveLength(7);
    expect(lines[0]).toBe("health ok");
    expect(lines[1]).toContain("ipc://@flowinit/status");
    expect(lines[4]).toBe("");
    expect(lines[5]).toBe(formatEvent(event, false));
    expect(lines[6]).toBe("12:00:01 health DOWN: plannerd backoff (crash)");
  });

  it("says how long the daemon has been silent", () => {
    const frame = formatWatchFrame({ ...view, snapshot: snapshot([entry({})]), silentFor: 5_400 }, false);
    expect(frame.split("\n").at(-1)).toBe("no status from the daemon for 5s");
  });
});

describe("formatHistory", () => {
  const exit = (over: Partial<HistoryEntry>): HistoryEntry => ({
    time: T,
    cause: "killed",
    uptime_ms: 185_000,
    exit_code: null,
    signal: "SIGKILL",
    stderr_tail: [],
    state: "backoff",
    reason: "killed by SIGKILL; restarting in 100ms",
    ...over,
  });

  it("prints a row an exit, newest first as given, each followed by its stderr lines", () => {
    const entries = [
      exit({ stderr_tail: ["loading model", "\x1b[31mout of memory\x1b[0m"] }),
      exit({ time: T - 3_600_000, cause: "stop", uptime_ms: 5000, signal: "SIGTERM", state: "stopped", reason: "stopped (killed by SIGTERM)" }),
      exit({ cause: "spawn_failed", uptime_ms: null, signal: null, state: "fatal", reason: "cannot spawn: cwd ./x does not exist" }),
    ];
    expect(formatHistory("modeld", entries, false)).toBe(
      [
        "TIME                 CAUSE         UPTIME  EXIT     REASON",
        "2025-01-02 12:00:01  killed        3m05s   SIGKILL  killed by SIGKILL; restarting in 100ms",
        "    | loading model",
        // What a service wrote is shown, not obeyed by the terminal.
        "    | ?[31mout of memory?[0m",
        "2025-01-02 11:00:01  stop          5s      SIGTERM  stopped (killed by SIGTERM)",
        "2025-01-02 12:00:01  spawn_failed  -       -        cannot spawn: cwd ./x does not exist",
      ].join("\n"),
    );
  });

  it("paints failures red, and only when asked", () => {
    const lines = formatHistory("modeld", [exit({}), exit({ cause: "stop" })], true).split("\n");
    expect(lines[1]).toContain("\x1b[31m");
    expect(lines[2]).not.toContain("\x1b[31m");
  });

  it("says so when there is none", () => {
    expect(formatHistory("modeld", [], false)).toBe("modeld: no exits recorded");
  });
});
