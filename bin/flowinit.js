#!/usr/bin/env node
// CommonJS (bin/package.json), so that node starts it without its ES module loader.
"use strict";
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require("node:fs");
const Module = require("node:module");
const { join } = require("node:path");
const { setFlagsFromString } = require("node:v8");
const { Script } = require("node:vm");

const run = process.argv[2] === "run";
// Every service `flowinit run` starts is a fork of the daemon, and a fork costs in proportion to the memory it
// copies (docs/performance.md, "What a spawn costs"). Set before the bundle loads, so that the start leaves less
// of it: a young generation that stays at its first size instead of growing to 8 MiB while the manifest is read,
// and no optimizing compiler. Its compiles leave 2-4 MiB behind in the malloc arenas of V8's worker threads, and
// its code in node's binary another 4-5 MiB resident; what the daemon runs often (the status tick, a service's
// output) does its heavy work in native code (reads of /proc, a regular expression, JSON, buffers), so the
// interpreter and the baseline compiler run it for 0.02-0.03 s more idle CPU per 20 s (docs/performance.md).
if (run) setFlagsFromString("--semi-space-growth-factor=1 --no-turbofan");

const bundle = join(__dirname, "../dist/cli.bundle.cjs");
// The bundle is ASCII (scripts/bundle.mjs): read as latin1 it becomes V8's one-byte string without a UTF-8 decode.
const source = readFileSync(bundle, "latin1");

// V8's code cache of the bundle: its bytecode as the last start compiled it, so that a start parses and compiles
// almost nothing (Node 22's module.enableCompileCache, which Node 20 lacks). One file per kind of start, since V8
// takes a cache only under the V8 flags it was made with. Its first line names the node and the bundle it was
// made from and the payload's digest: V8 itself checks no more of the source than its length, and a payload
// damaged on disk would end node with a fatal error rather than be refused.
const cacheDir = process.env.XDG_CACHE_HOME || (process.env.HOME && join(process.env.HOME, ".cache"));
const cacheFile = cacheDir && join(cacheDir, "flowinit", run ? "run.v8cache" : "cli.v8cache");
const { size, mtimeMs } = statSync(bundle);
const key = `flowinit code cache: node ${process.version} ${process.arch}, bundle ${size} bytes, ${mtimeMs}, sha1 `;
const digest = (data) => createHash("sha1").update(data).digest("hex");
let cached;
try {
  const file = readFileSync(cacheFile);
  const eol = file.indexOf(10);
  const line = file.toString("latin1", 0, eol);
  const payload = file.subarray(eol + 1);
  if (line.startsWith(key) && line.slice(key.length) === digest(payload)) cached = payload;
} catch {
  // None yet, or no cache folder: compiled from source.
}
const script = new Script(Module.wrap(source), { filename: bundle, cachedData: cached });
const hadCache = cached !== undefined;
// Let go of the file (0.7 MiB) once V8 has taken its code: held, it stays in the daemon's memory, which every
// fork of the daemon copies.
cached = undefined;

/** Writes the cache once this start has compiled what a start runs, when there was none it could use. */
function saveCache() {
  if (!cacheFile || (hadCache && !script.cachedDataRejected)) return;
  const temp = `${cacheFile}.${process.pid}`;
  try {
    // Level by level: node's recursive mkdir spins for ever where mkdir says ENOENT under a folder that exists (/proc).
    for (const dir of [cacheDir, join(cacheDir, "flowinit")]) {
      try {
        mkdirSync(dir);
      } catch (e) {
        if (e.code !== "EEXIST") throw e;
      }
    }
    // Renamed into place: another start reading it meanwhile sees the old file or the new, never half of one.
    const data = script.createCachedData();
    writeFileSync(temp, Buffer.concat([Buffer.from(`${key}${digest(data)}\n`, "latin1"), data]));
    renameSync(temp, cacheFile);
  } catch {
    // A read-only, full or foreign home: every start compiles from source, as without the cache.
    try {
      rmSync(temp, { force: true });
    } catch {
      // Never written.
    }
  }
}

const mod = { exports: {} };
script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, join(bundle, ".."));
// `run` compiles most of what it runs before its services are up: the cache is made then. Any other command is
// done when main returns.
mod.exports.main(process.argv.slice(2), { started: saveCache }).then((code) => {
  if (!run) saveCache();
  process.exitCode = code;
});
