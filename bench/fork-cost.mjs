#!/usr/bin/env node
/**
 * How long child_process.spawn() blocks the event loop as the parent's RSS
 * grows. On Linux libuv (Node 20: 1.46) creates children with fork(), whose
 * cost grows with the parent's page tables, and uv_spawn runs on the main
 * thread (nodejs/node#14917, libuv/libuv#1715). The daemon spawns every
 * service this way.
 *
 *   node bench/fork-cost.mjs
 */
import { spawn } from "node:child_process";

async function measure(label) {
  const t = [];
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    const c = spawn("/bin/true", [], { stdio: "ignore" });
    t.push(performance.now() - t0);
    await new Promise((r) => c.once("exit", r));
  }
  t.sort((a, b) => a - b);
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(`${label.padEnd(10)} RSS ${rss.toFixed(0).padStart(4)} MiB: spawn() blocks p50 ${t[20].toFixed(2)} ms, p90 ${t[36].toFixed(2)} ms`);
}

const ballast = [];
for (const add of [0, 50, 100, 200, 400]) {
  while (ballast.length < add) ballast.push(Buffer.alloc(2 ** 20, 1));
  await measure(`+${add} MiB`);
}
