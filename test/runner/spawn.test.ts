/** Spawning one service: real children, a real log file. */
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ServiceSpec } from "../../src/manifest/index.js";
import type { ServiceLog } from "../../src/runner/output.js";
import { spawnService, type ServiceChild } from "../../src/runner/spawn.js";
import { signalGroup } from "../../src/runner/stop.js";
import { readStat } from "../../src/platform/process.js";
import type { Exit } from "../../src/runner/exit.js";
import { SERVICES, tempDir } from "../helpers/daemon.js";
import { logIn, logLines, specOf } from "../helpers/specs.js";

/** Every hook call, and promises of the first onSpawn and onError. */
function recorder() {
  const calls = { spawn: [] as number[], error: [] as string[], exit: [] as Exit[] };
  let spawned!: (pid: number) => void;
  let failed!: (message: string) => void;
  return {
    calls,
    spawned: new Promise<number>((r) => (spawned = r)),
    failed: new Promise<string>((r) => (failed = r)),
    hooks: {
      onSpawn: (pid: number) => (calls.spawn.push(pid), spawned(pid)),
      onError: (message: string) => (calls.error.push(message), failed(message)),
      onExit: (exit: Exit) => void calls.exit.push(exit),
    },
  };
}

/** Process groups spawned: a test that fails half-way leaves no tree behind. */
const groups: number[] = [];
afterEach(() => {
  for (const pgid of groups.splice(0)) signalGroup(pgid, "SIGKILL");
});

type Service = Record<string, unknown>;

/** A service in a temp dir of its own (`service` may set files up in it first) and its log. */
function setup(service: Service | ((dir: string) => Service), env: NodeJS.ProcessEnv = { PATH: process.env.PATH }) {
  const dir = tempDir();
  const spec = specOf("svc", typeof service === "function" ? service(dir) : service, dir);
  const log = logIn(dir, "svc");
  const rec = recorder();
  const run = (other: Partial<ServiceSpec> = {}) => {
    const child = spawnService({ ...spec, ...other }, { shell: "/bin/sh", env, output: log }, rec.hooks);
    if (child.pid !== undefined) groups.push(child.pid);
    return child;
  };
  return { dir, log, rec, run };
}

/** The log's lines once the child has let go of its pipes and the log is on disk. */
async function linesAfter(child: ServiceChild, log: ServiceLog) {
  await child.closed;
  await log.close();
  return logLines(log.path);
}

describe("spawnService", { timeout: 30_000 }, () => {
  it("puts the child in a process group of its own, the group id being its pid", async () => {
    const { rec, run } = setup({ command: `exec ${SERVICES}/forever.sh` });
    const child = run();
    const pid = await rec.spawned;
    expect(pid).toBe(child.pid);
    expect(readStat(pid)?.pgrp).toBe(pid);
    process.kill(-pid, "SIGKILL");
    await child.closed;
  });

  it("runs a string command through the shell in the spec's cwd, with the spec's env over the daemon's", async () => {
    const { dir, log, run } = setup({ command: 'echo "$BASE|$FOO|$(pwd -P)"', cwd: "work", env: { FOO: "service" } }, {
      PATH: process.env.PATH,
      BASE: "daemon",
      FOO: "daemon",
    });
    mkdirSync(join(dir, "work"));
    expect(await linesAfter(run(), log)).toEqual([["out", `daemon|service|${realpathSync(join(dir, "work"))}`]]);
  });

  it("runs command and args without a shell: nothing in them is expanded", async () => {
    const { log, run } = setup({ command: "printf", args: ["%s|%s\\n", "a  b", "$HOME"] });
    expect(await linesAfter(run(), log)).toEqual([["out", "a  b|$HOME"]]);
  });

  it("sends stdout and stderr to the output as their own streams", async () => {
    const { log, run } = setup({ command: "echo to-out; echo to-err >&2" });
    const lines = await linesAfter(run(), log);
    expect(lines).toHaveLength(2);
    expect(lines).toContainEqual(["out", "to-out"]);
    expect(lines).toContainEqual(["err", "to-err"]);
  });

  it("ends a run's unterminated last line before the next run writes to the same output", async () => {
    const { log, run } = setup({ command: "printf 'no newline'" });
    await run().closed;
    expect(await linesAfter(run({ command: "echo next run" }), log)).toEqual([
      ["out", "no newline"],
      ["out", "next run"],
    ]);
  });

  it("calls onSpawn and onExit once each, with the pid and the exit code, and never onError", async () => {
    const { rec, run } = setup({ command: `${SERVICES}/crashes.sh`, args: [] });
    const child = run();
    await child.closed;
    expect(rec.calls).toEqual({ spawn: [child.pid], error: [], exit: [{ code: 3, signal: null }] });
    expect(child.exit).toEqual({ code: 3, signal: null });
    await expect(child.exited).resolves.toEqual({ code: 3, signal: null });
  });

  it("reports an exit by signal as the signal", async () => {
    const { rec, run } = setup({ command: `exec ${SERVICES}/forever.sh` });
    const child = run();
    process.kill(-(await rec.spawned), "SIGKILL");
    await child.closed;
    expect(rec.calls.exit).toEqual([{ code: null, signal: "SIGKILL" }]);
  });

  describe("a spawn that fails calls onError once, with no pid, no onSpawn and no onExit, and settles exited", () => {
    const failures: [string, (dir: string) => Service, (dir: string) => string][] = [
      ["a missing program", () => ({ command: "/nonexistent/program", args: [] }), () => "/nonexistent/program: no such file or directory"],
      ["a program that may not be run", (dir) => {
        writeFileSync(join(dir, "not-executable"), "#!/bin/sh\n", { mode: 0o644 });
        return { command: join(dir, "not-executable"), args: [] };
      }, (dir) => `${join(dir, "not-executable")}: permission denied`],
      ["a cwd that does not exist", () => ({ command: "true", cwd: "missing" }), (dir) => `cwd ${join(dir, "missing")} does not exist`],
      ["a cwd that is a file", (dir) => {
        writeFileSync(join(dir, "file"), "");
        return { command: "true", cwd: "file" };
      }, (dir) => `cwd ${join(dir, "file")} is not a directory`],
    ];
    for (const [what, service, message] of failures) {
      it(what, async () => {
        const { dir, log, rec, run } = setup(service);
        const child = run();
        // Not before spawnService returns: the supervisor tells this run's failure from an older one's by the handle.
        expect(rec.calls.error).toEqual([]);
        expect(await rec.failed).toBe(message(dir));
        await child.closed;
        await expect(child.exited).resolves.toEqual({ code: null, signal: null });
        expect(child.pid).toBeUndefined();
        expect(rec.calls).toEqual({ spawn: [], error: [message(dir)], exit: [] });
        await log.close();
      });
    }
  });
});
