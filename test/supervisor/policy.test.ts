import { describe, expect, it } from "vitest";
import { afterExit, backoffDelay, describeExit, wantsRestart, type RestartSpec } from "../../src/supervisor/policy.js";

const spec: RestartSpec = { restart: "on-failure", restartDelayMs: 100, restartDelayMaxMs: 1000, maxRestarts: 3, stableAfterMs: 10_000 };

describe("wantsRestart", () => {
  it.each([
    ["always", 0, null, true],
    ["always", 1, null, true],
    ["never", 1, null, false],
    ["never", null, "SIGKILL", false],
    ["on-failure", 0, null, false],
    ["on-failure", 2, null, true],
    ["on-failure", null, "SIGSEGV", true],
  ] as const)("%s with code %s signal %s -> %s", (policy, code, signal, expected) => {
    expect(wantsRestart(policy, { code, signal })).toBe(expected);
  });
});

describe("backoffDelay", () => {
  it("doubles from restart_delay and stops at restart_delay_max", () => {
    expect([0, 1, 2, 3, 4, 5, 60].map((n) => backoffDelay(spec, n))).toEqual([0, 100, 200, 400, 800, 1000, 1000]);
  });
});

describe("afterExit", () => {
  const crash = { code: 1, signal: null };
  it("restarts at once after a stable run and clears the streak", () => {
    expect(afterExit(spec, crash, 10_000, 2)).toEqual({ action: "restart", delayMs: 0, streak: 0 });
  });
  it("backs off after a quick crash", () => {
    expect(afterExit(spec, crash, 50, 0)).toEqual({ action: "restart", delayMs: 100, streak: 1 });
    expect(afterExit(spec, crash, 50, 2)).toEqual({ action: "restart", delayMs: 400, streak: 3 });
  });
  it("goes fatal after more than max_restarts quick crashes in a row", () => {
    expect(afterExit(spec, crash, 50, 3)).toEqual({ action: "fatal", streak: 4 });
    expect(afterExit({ ...spec, maxRestarts: 0 }, crash, 50, 0)).toEqual({ action: "fatal", streak: 1 });
  });
  it("lets a clean exit end an on-failure service", () => {
    expect(afterExit(spec, { code: 0, signal: null }, 50, 0)).toEqual({ action: "exit" });
  });
});

describe("describeExit", () => {
  it("names the code or the signal", () => {
    expect(describeExit({ code: 3, signal: null })).toBe("exited with code 3");
    expect(describeExit({ code: null, signal: "SIGTERM" })).toBe("killed by SIGTERM");
  });
});
