import { describe, expect, it } from "vitest";
import { noDraw } from "../helpers/specs.js";
import { afterExit, backoffDelay, describeExit, exitCause, jittered, wantsRestart, type RestartSpec } from "../../src/supervisor/policy.js";

const spec: RestartSpec = {
  restart: "on-failure",
  restartDelayMs: 100,
  restartDelayMaxMs: 1000,
  maxRestarts: 3,
  stableAfterMs: 10_000,
  successExitCodes: [0],
  restartJitter: 0,
  oneshot: false,
};

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
    expect(wantsRestart({ ...spec, restart: policy }, { code, signal })).toBe(expected);
  });

  it.each([
    [0, null, true],
    [143, null, false],
    [3, null, false],
    [1, null, true],
    [null, "SIGTERM", true],
  ] as const)("on-failure with success_exit_codes [3, 143]: code %s signal %s -> %s", (code, signal, expected) => {
    expect(wantsRestart({ ...spec, successExitCodes: [3, 143] }, { code, signal })).toBe(expected);
  });

  it.each([
    ["always", 0, null, false],
    ["always", 143, null, false],
    ["always", 1, null, true],
    ["on-failure", 143, null, false],
    ["on-failure", null, "SIGTERM", true],
    ["never", 1, null, false],
  ] as const)("a oneshot, %s, success_exit_codes [0, 143]: code %s signal %s -> %s", (policy, code, signal, expected) => {
    expect(wantsRestart({ ...spec, oneshot: true, restart: policy, successExitCodes: [0, 143] }, { code, signal })).toBe(expected);
  });
});

describe("exitCause", () => {
  it.each([
    [[0], 0, null, "exit"],
    [[0], 1, null, "crash"],
    [[0, 143], 143, null, "exit"],
    [[143], 0, null, "crash"],
    // A signal is never a success, whatever the codes: 143 is how a shell reports SIGTERM, not SIGTERM itself.
    [[0, 143], null, "SIGTERM", "crash"],
    [[0], null, "SIGKILL", "killed"],
    [[137], null, "SIGKILL", "killed"],
  ] as const)("success_exit_codes %j, code %s signal %s -> %s", (codes, code, signal, cause) => {
    expect(exitCause({ ...spec, successExitCodes: [...codes] }, { code, signal })).toBe(cause);
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
    expect(afterExit(spec, crash, 10_000, 2, noDraw)).toEqual({ action: "restart", delayMs: 0, streak: 0 });
  });
  it("backs off after a quick crash", () => {
    expect(afterExit(spec, crash, 50, 0, noDraw)).toEqual({ action: "restart", delayMs: 100, streak: 1 });
    expect(afterExit(spec, crash, 50, 2, noDraw)).toEqual({ action: "restart", delayMs: 400, streak: 3 });
  });
  it("goes fatal after more than max_restarts quick crashes in a row", () => {
    expect(afterExit(spec, crash, 50, 3, noDraw)).toEqual({ action: "fatal", streak: 4 });
    expect(afterExit({ ...spec, maxRestarts: 0 }, crash, 50, 0, noDraw)).toEqual({ action: "fatal", streak: 1 });
  });
  it("lets a clean exit end an on-failure service", () => {
    expect(afterExit(spec, { code: 0, signal: null }, 50, 0, noDraw)).toEqual({ action: "exit" });
  });

  describe("a SIGKILL the daemon did not send (cause killed)", () => {
    const killed = { code: null, signal: "SIGKILL" };
    it("backs off as a crash does, the streak growing past max_restarts up to the delay's cap", () => {
      expect(afterExit(spec, killed, 50, 0, noDraw)).toEqual({ action: "restart", delayMs: 100, streak: 1 });
      expect(afterExit(spec, killed, 50, 3, noDraw)).toEqual({ action: "restart", delayMs: 800, streak: 4 });
      expect(afterExit(spec, killed, 50, 40, noDraw)).toEqual({ action: "restart", delayMs: 1000, streak: 41 });
    });
    it("never gives up by itself; a crash of its own in the same streak does", () => {
      expect(afterExit({ ...spec, maxRestarts: 0 }, killed, 50, 0, noDraw).action).toBe("restart");
      expect(afterExit(spec, crash, 50, 9, noDraw)).toEqual({ action: "fatal", streak: 10 });
    });
    it("counts as a crash when the daemon says it sent the SIGKILL itself (a missed watchdog)", () => {
      expect(afterExit(spec, killed, 50, 3, noDraw, "watchdog")).toEqual({ action: "fatal", streak: 4 });
    });
    it("leaves restart: never alone", () => {
      expect(afterExit({ ...spec, restart: "never" }, killed, 50, 0, noDraw)).toEqual({ action: "exit" });
    });
  });
});

describe("restart_jitter", () => {
  const jitter = { ...spec, restartJitter: 0.1 };
  const crash = { code: 1, signal: null };
  it.each([
    [0, 90],
    [0.25, 95],
    [0.5, 100],
    [0.75, 105],
    [0.999_999, 110],
  ])("draws delay * (1 +- 10%%): random %s -> %s ms", (r, delay) => {
    expect(jittered(jitter, 100, () => r)).toBe(delay);
    expect(afterExit(jitter, crash, 50, 0, () => r)).toEqual({ action: "restart", delayMs: delay, streak: 1 });
  });
  it("jitters the doubled and the capped delay alike", () => {
    expect(afterExit(jitter, crash, 50, 2, () => 0)).toEqual({ action: "restart", delayMs: 360, streak: 3 });
    expect(afterExit(jitter, crash, 50, 2, () => 0.999_999)).toEqual({ action: "restart", delayMs: 440, streak: 3 });
    expect(jittered(jitter, spec.restartDelayMaxMs, () => 0.999_999)).toBe(1100);
  });
  it("never draws 0, which would read as a stable run's restart at once, nor past what a timer can wait", () => {
    expect(jittered({ ...spec, restartJitter: 1 }, 100, () => 0)).toBe(1);
    expect(jittered({ ...spec, restartJitter: 1 }, 2 ** 31 - 1, () => 0.999_999)).toBe(2 ** 31 - 1);
  });
  it("leaves a stable run's restart at once and draws nothing then", () => {
    expect(afterExit(jitter, crash, 10_000, 2, noDraw)).toEqual({ action: "restart", delayMs: 0, streak: 0 });
  });
});

describe("describeExit", () => {
  it("names the code or the signal", () => {
    expect(describeExit({ code: 3, signal: null })).toBe("exited with code 3");
    expect(describeExit({ code: null, signal: "SIGTERM" })).toBe("killed by SIGTERM");
  });
});
