import { describe, expect, it } from "vitest";
import { beat, parseNotifyLine, UNARMED, verdict } from "../../src/supervisor/checks.js";
import type { State } from "../../src/supervisor/states.js";

describe("parseNotifyLine", () => {
  it.each([
    ["READY=1", { type: "ready" }],
    ["", { type: "ready" }],
    ["READY=1\r", { type: "ready" }],
    ["WATCHDOG=1", { type: "watchdog" }],
    ["STATUS=calibrating, 2 of 3 cameras", { type: "status", text: "calibrating, 2 of 3 cameras" }],
    ["STATUS=", { type: "status", text: "" }],
    ["STATUS=a=b", { type: "status", text: "a=b" }],
    ["MAINPID=42", null],
    ["STOPPING=1", null],
    ["READY=0", null],
    ["ready=1", null],
    [" READY=1", null],
  ])("%j -> %j", (line, message) => {
    expect(parseNotifyLine(line)).toEqual(message);
  });
});

describe("verdict", () => {
  const T = 1_000_000;
  const spec = { ready: null, readyTimeoutMs: 30_000, watchdogMs: 5000 };
  const readySpec = { ...spec, ready: { kind: "fd" } as const, watchdogMs: null };
  const running: State = { name: "running", pid: 7, startedAt: T };
  const unready: State = { name: "starting", pid: 7, startedAt: T };

  it.each([
    ["unarmed: never missed, however long", spec, running, UNARMED, T + 3_600_000, null],
    ["armed, within the watchdog", spec, running, beat(T), T + 5000, null],
    ["armed, past it", spec, running, beat(T), T + 5200, { cause: "watchdog", reason: "watchdog: no heartbeat for 5.2s" }],
    ["armed while still starting, past it", spec, unready, beat(T), T + 6000, { cause: "watchdog", reason: "watchdog: no heartbeat for 6.0s" }],
    ["already condemned: judged once", spec, { ...running, condemned: { cause: "watchdog", reason: "x" } }, beat(T), T + 9000, null],
    ["down: nothing to judge", spec, { name: "backoff", until: T } as State, beat(T), T + 9000, null],
    ["no watchdog", { ...spec, watchdogMs: null }, running, beat(T), T + 9000, null],
    ["not ready, within ready_timeout", readySpec, unready, UNARMED, T + 29_999, null],
    ["not ready at ready_timeout", readySpec, unready, UNARMED, T + 30_000, { cause: "not_ready", reason: "not ready after 30s" }],
    ["not yet spawned: no deadline runs", readySpec, { name: "starting" } as State, UNARMED, T + 90_000, null],
    ["ready: the deadline is gone", readySpec, running, UNARMED, T + 90_000, null],
    ["no ready check: starting is only the spawn", spec, unready, UNARMED, T + 90_000, null],
  ] as const)("%s", (_, s, state, watch, now, expected) => {
    expect(verdict(s, state, watch, now)).toEqual(expected);
  });
});
