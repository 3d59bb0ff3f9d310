#!/usr/bin/env node
/**
 * How long child_process.spawn() blocks the event loop as the parent's
 * anonymous memory grows. On Linux libuv (Node 20: 1.46) creates children
 * with fork() on the main thread (nodejs/node#14917, libuv/libuv#1715) and
 * waits until the child has exec'd. fork() copies the page tables of the
 * parent's anonymous memory (file-backed text is shared without copying),
 * and the child's exec then tears that copy down, both while the parent
 * waits: the cost grows with the anonymous memory, not the RSS. The daemon
 * spawns every service this way. "parent CPU" is this process's own CPU
 * time during the call (getrusage), the part of the cost that load on the
 * machine inflates least.
 *
 *   node bench/fork-cost.mjs
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const anonMiB = () => Number(/^Anonymous:\s+(\d+)/m.exec(readFileSync("/proc/self/smaps_rollup", "utf8"))[1]) / 1024;
const mappings = () => readFileSync("/proc/self/maps", "latin1").split("\n").length - 1;
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
const p90 = (a) => a.sort((x, y) => x - y)[Math.floor(a.length * 0.9)];

async function measure(label) {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < 60; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    // As the daemon spawns: a shell, detached, its output piped.
    const c = spawn("/bin/sh", ["-c", "exit 0"], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    wall.push(performance.now() - t0);
    const used = process.cpuUsage(c0);
    cpu.push((used.user + used.system) / 1000);
    c.stdout.resume();
    c.stderr.resume();
    await new Promise((r) => c.once("close", r));
  }
  console.log(
    `${label.padEnd(8)} anon ${anonMiB().toFixed(1).padStart(5)} MiB, ${mappings()} mappings: spawn() blocks p50 ${median(wall).toFixed(2)} ms, p90 ${p90(wall).toFixed(2)} ms; parent CPU p50 ${median(cpu).toFixed(2)} ms`,
  );
}

const ballast = [];
for (const add of [0, 10, 20, 40, 80]) {
  while (ballast.length < add) ballast.push(Buffer.alloc(2 ** 20, 1));
  await measure(`+${add} MiB`);
}
