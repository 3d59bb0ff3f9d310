/** on_failure hooks with real processes and a clock of the test's own: the environment, the rate limit, the timeout, failures logged once. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/clock.js";
import { FailureHooks, HOOK_GAP_MS, hookDue, hookEnv, type Failure } from "../../src/runner/hooks.js";
import { tempDir } from "../helpers/daemon.js";
import { logIn, logLines, specOf } from "../helpers/specs.js";

/** Hooks in a temp dir, on a monotonic clock the test moves, logging warnings into `warnings`. */
function harness(timeoutMs?: number) {
  const dir = tempDir();
  let mono = 0;
  const clock: Clock = { wall: () => 0, mono: () => mono };
  const warnings: string[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
  const hooks = new FailureHooks({ shell: "/bin/sh", env: { PATH: process.env.PATH }, log, clock, output: (name) => logIn(dir, `hook-${name}`), timeoutMs });
  return { dir, hooks, warnings, at: (ms: number) => (mono = ms) };
}

const killed: Failure = { cause: "killed", state: "backoff", exit: { code: null, signal: "SIGKILL" }, logPath: "/logs/modeld.log" };

describe("hookDue", () => {
  it.each([
    [undefined, 0, true],
    [0, 1, false],
    [0, HOOK_GAP_MS - 1, false],
    [0, HOOK_GAP_MS, true],
    [5000, 5000 + HOOK_GAP_MS + 1, true],
  ])("last run at %s, now %s: %s", (last, now, due) => {
    expect(hookDue(last, now)).toBe(due);
  });
});

describe("hookEnv", () => {
  it("names the cause, the state, the exit and the log; what is unknown is empty", () => {
    expect(hookEnv(killed)).toEqual({
      FLOWINIT_CAUSE: "killed",
      FLOWINIT_STATE: "backoff",
      FLOWINIT_EXIT_CODE: "",
      FLOWINIT_SIGNAL: "SIGKILL",
      FLOWINIT_LOG: "/logs/modeld.log",
    });
    expect(hookEnv({ cause: "crash", state: "fatal", exit: { code: 0, signal: null }, logPath: "l" })).toMatchObject({ FLOWINIT_EXIT_CODE: "0", FLOWINIT_SIGNAL: "" });
    expect(hookEnv({ cause: "spawn_failed", state: "fatal", exit: null, logPath: "l" })).toMatchObject({ FLOWINIT_EXIT_CODE: "", FLOWINIT_SIGNAL: "" });
  });
});

describe("FailureHooks", () => {
  it("runs the hook in the service's cwd and env, with the failure's variables, its output in its own log", async () => {
    const h = harness();
    const spec = specOf("modeld", { command: "modeld", env: { MODEL: "supercombo" } }, h.dir);
    await h.hooks.run(spec, 'echo "$FLOWINIT_SERVICE $FLOWINIT_CAUSE $FLOWINIT_SIGNAL $MODEL $(pwd)"; echo oops >&2', killed);
    await h.hooks.close();
    expect(logLines(join(h.dir, "logs", "hook-modeld.log"))).toEqual([
      ["out", `modeld killed SIGKILL supercombo ${h.dir}`],
      ["err", "oops"],
    ]);
    expect(h.warnings).toEqual([]);
  });

  it("runs at most once per 30 s per service", async () => {
    const h = harness();
    const file = join(h.dir, "runs");
    const modeld = specOf("modeld", { command: "modeld" }, h.dir);
    const plannerd = specOf("plannerd", { command: "plannerd" }, h.dir);
    const hook = `echo "$FLOWINIT_SERVICE" >> ${file}`;
    await h.hooks.run(modeld, hook, killed);
    h.at(HOOK_GAP_MS - 1);
    expect(h.hooks.run(modeld, hook, killed)).toBeNull();
    // Another service's limit is its own.
    await h.hooks.run(plannerd, hook, killed);
    h.at(HOOK_GAP_MS);
    await h.hooks.run(modeld, hook, killed);
    h.at(HOOK_GAP_MS + 1);
    expect(h.hooks.run(modeld, hook, killed)).toBeNull();
    await h.hooks.close();
    expect(readFileSync(file, "utf8").trim().split("\n")).toEqual(["modeld", "plannerd", "modeld"]);
  });

  it("kills a hook that runs too long, and logs a failing hook once until it succeeds again", async () => {
    const h = harness(100);
    const spec = specOf("modeld", { command: "modeld" }, h.dir);
    let now = 0;
    const next = () => h.at((now += HOOK_GAP_MS));
    await h.hooks.run(spec, "exec sleep 1000", killed);
    expect(h.warnings).toEqual([expect.stringMatching(/^on_failure hook failed: killed after 100ms \(its output: .*hook-modeld\.log\)/)]);
    next();
    await h.hooks.run(spec, "exit 3", killed);
    expect(h.warnings).toHaveLength(1);
    next();
    await h.hooks.run(spec, "true", killed);
    next();
    await h.hooks.run(spec, "exit 3", killed);
    expect(h.warnings).toHaveLength(2);
    expect(h.warnings[1]).toMatch(/^on_failure hook failed: exited with code 3/);
    await h.hooks.close();
  });

  it("a hook that cannot be spawned is logged, never thrown", async () => {
    const h = harness();
    const spec = specOf("modeld", { command: "modeld", cwd: "./missing" }, h.dir);
    await h.hooks.run(spec, "true", killed);
    expect(h.warnings).toEqual([expect.stringMatching(/^on_failure hook failed: cannot spawn: cwd .*missing does not exist/)]);
    await h.hooks.close();
  });

  it("close ends the hooks still running", async () => {
    const h = harness();
    const spec = specOf("modeld", { command: "modeld" }, h.dir);
    const done = h.hooks.run(spec, "exec sleep 1000", killed)!;
    await h.hooks.close();
    await done;
  });
});
