#!/usr/bin/env node
/**
 * Summarizes V8 .cpuprofile files (from `node --cpu-prof`): self time by
 * function and by module (npm package, dist/ file or node internal), merged
 * over every file given. `(idle)` is excluded from the percentages, so they
 * are shares of the time the daemon was actually on a CPU.
 *
 *   node bench/profile.mjs FILE.cpuprofile... [--top N]
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** Where a function lives, coarsely: `execa`, `dist/runner/spawn.js`, `node:child_process`, `(gc)`. */
function moduleOf(url, name) {
  if (!url) return name.startsWith("(") ? name : "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm !== -1) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.indexOf("/dist/");
  if (dist !== -1) return url.slice(dist + 1);
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/");
  return url.replace(/^file:\/\//, "");
}

/**
 * `windowsOf(file)` may return spans [fromUs, toUs] of CLOCK_MONOTONIC (the
 * profile's own clock): then only samples inside them count.
 */
export function summarizeProfiles(files, windowsOf = () => null) {
  const byFn = new Map();
  const byModule = new Map();
  let total = 0;
  let idle = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, "utf8"));
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    const self = new Map();
    const windows = windowsOf(file);
    // timeDeltas[i] is the time since the previous sample; it is charged to sample i.
    let t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i] ?? 0;
      if (windows && !windows.some(([a, b]) => t >= a && t <= b)) continue;
      const id = p.samples[i];
      self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
    }
    for (const [id, us] of self) {
      const n = nodes.get(id);
      const { functionName, url, lineNumber } = n.callFrame;
      const name = functionName || "(anonymous)";
      total += us;
      if (name === "(idle)") {
        idle += us;
        continue;
      }
      const short = url ? url.replace(/^file:\/\//, "").replace(/^.*node_modules\//, "").replace(/^.*\/dist\//, "dist/") : "";
      const key = `${name} ${short}:${lineNumber + 1}`;
      const f = byFn.get(key) ?? { name, where: short ? `${short}:${lineNumber + 1}` : "", us: 0 };
      f.us += us;
      byFn.set(key, f);
      const m = moduleOf(url, name);
      byModule.set(m, (byModule.get(m) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const pct = (us) => (busy > 0 ? (100 * us) / busy : 0);
  return {
    total_ms: total / 1000,
    idle_ms: idle / 1000,
    busy_ms: busy / 1000,
    functions: [...byFn.values()].sort((a, b) => b.us - a.us).map((f) => ({ name: f.name, where: f.where, self_ms: f.us / 1000, percent: pct(f.us) })),
    modules: [...byModule.entries()].sort((a, b) => b[1] - a[1]).map(([module, us]) => ({ module, self_ms: us / 1000, percent: pct(us) })),
  };
}

export function formatSummary(s, top = 20) {
  const out = [];
  out.push(`profiled ${s.total_ms.toFixed(0)} ms, of which busy (not idle) ${s.busy_ms.toFixed(0)} ms`);
  out.push("top self time by function (share of busy time):");
  for (const f of s.functions.slice(0, top)) {
    out.push(`  ${f.percent.toFixed(1).padStart(5)} %  ${f.self_ms.toFixed(1).padStart(8)} ms  ${f.name}  ${f.where}`);
  }
  out.push("by module:");
  for (const m of s.modules.slice(0, 12)) {
    out.push(`  ${m.percent.toFixed(1).padStart(5)} %  ${m.self_ms.toFixed(1).padStart(8)} ms  ${m.module}`);
  }
  return out.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  let top = 25;
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--top") top = Number(args[++i]);
    else files.push(args[i]);
  }
  if (files.length === 0) {
    console.error("usage: node bench/profile.mjs FILE.cpuprofile... [--top N]");
    process.exit(2);
  }
  console.log(formatSummary(summarizeProfiles(files), top));
}
