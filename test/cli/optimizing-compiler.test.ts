/**
 * `flowinit run` keeps V8's optimizing compiler off for good (bin/flowinit.js): its compiles leave megabytes in
 * the daemon's memory, which every fork of the daemon copies (docs/performance.md).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { daemonPerTest, tempDir } from "../helpers/daemon.js";

/**
 * A preload that, on SIGUSR2, calls a small function until V8 has optimized it (at most 50 rounds of 100,000
 * calls) and writes what %GetOptimizationStatus says of it: "optimized" or "not optimized".
 */
function probe() {
  const dir = tempDir();
  const out = join(dir, "status");
  const preload = join(dir, "probe.cjs");
  writeFileSync(
    preload,
    `require("v8").setFlagsFromString("--allow-natives-syntax");
     const status = new Function("f", "return %GetOptimizationStatus(f)");
     const OPTIMIZED = 16;
     process.on("SIGUSR2", async () => {
       const hot = new Function("x", "return x * 2 + 1");
       for (let r = 0; r < 50 && !(status(hot) & OPTIMIZED); r++) {
         for (let i = 0; i < 1e5; i++) hot(i);
         await new Promise((resolve) => setImmediate(resolve));
       }
       const fs = require("fs");
       fs.writeFileSync(${JSON.stringify(`${out}.tmp`)}, status(hot) & OPTIMIZED ? "optimized" : "not optimized");
       fs.renameSync(${JSON.stringify(`${out}.tmp`)}, ${JSON.stringify(out)});
     });`,
  );
  return {
    env: { NODE_OPTIONS: `--require ${preload}` },
    async ask(pid: number): Promise<string> {
      process.kill(pid, "SIGUSR2");
      await expect.poll(() => existsSync(out), { timeout: 20_000 }).toBe(true);
      return readFileSync(out, "utf8");
    },
  };
}

/** Whether the process has a handler for SIGUSR2 (12: bit 11 of SigCgt), as the probe sets. */
function catchesSigusr2(pid: number): boolean {
  const mask = /^SigCgt:\s+(\w+)/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"))?.[1] ?? "0";
  return (BigInt(`0x${mask}`) & (1n << 11n)) !== 0n;
}

describe("the daemon's V8", () => {
  const daemons = daemonPerTest();
  const others: number[] = [];
  afterEach(() => {
    for (const pid of others.splice(0)) process.kill(pid, "SIGKILL");
  });

  it("optimizes the probe's function in a plain node", async () => {
    // What the next test relies on: the probe can tell an optimizing compiler from none.
    const p = probe();
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { env: { ...process.env, ...p.env }, stdio: "ignore" });
    others.push(child.pid!);
    await new Promise((resolve) => child.once("spawn", resolve));
    await expect.poll(() => catchesSigusr2(child.pid!)).toBe(true);
    expect(await p.ask(child.pid!)).toBe("optimized");
  });

  it("runs without the optimizing compiler once its services have started", async () => {
    const p = probe();
    const cache = tempDir();
    const d = await daemons.start("services:\n  a:\n    command: exec sleep 1000\n    nowait: true\n", [], { ...p.env, XDG_CACHE_HOME: cache });
    await d.rec.snapshot((s) => s.services[0]?.state === "running", "a running");
    // The cache is written by the `started` hook, which once turned the compiler back on.
    await expect.poll(() => existsSync(join(cache, "flowinit", "run.v8cache"))).toBe(true);
    expect(await p.ask(d.proc.pid!)).toBe("not optimized");
  });
});
