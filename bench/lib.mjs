/**
 * Benchmark harness: a real `flowinit run` (bin/flowinit.js) on a generated
 * manifest in a temp dir, on unique abstract endpoints, measured from
 * outside: a wall clock that agrees with the services' `date +%s%N` marks,
 * a marks file watcher, a status-topic recorder, a control REQ socket, and
 * /proc readings of the daemon's CPU time and memory.
 *
 * Not a test: nothing here matches vitest's `*.test.*` / `*.spec.*` patterns.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as zmq from "zeromq";

export const ROOT = resolve(import.meta.dirname, "..");
export const BIN = join(ROOT, "bin/flowinit.js");

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* ------------------------------------------------------------------ clock */

/**
 * Wall-clock time in ms (a float with sub-microsecond resolution) that is
 * comparable with `date +%s%N`. hrtime is monotonic but has no epoch; the
 * offset is found at the instant Date.now() ticks over to a new millisecond,
 * which pins the wall clock to within the ~100 ns of one loop iteration.
 */
function calibrate() {
  const offsets = [];
  for (let i = 0; i < 9; i++) {
    const d0 = Date.now();
    let d;
    let t;
    do {
      t = process.hrtime.bigint();
      d = Date.now();
    } while (d === d0);
    offsets.push(BigInt(d) * 1_000_000n - t);
  }
  offsets.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return offsets[4];
}

let offsetNs = calibrate();

/** Re-pins the offset (cheap; call between scenarios in case NTP slewed the clock). */
export function recalibrate() {
  offsetNs = calibrate();
}

/** CLOCK_MONOTONIC in µs: the clock of V8's .cpuprofile timestamps, for profile windows. */
export function monoUs() {
  return Number(process.hrtime.bigint() / 1000n);
}

export function wallMs() {
  return Number(process.hrtime.bigint() + offsetNs) / 1e6;
}

/**
 * Checks the calibration against `date +%s%N` itself: the mark must fall
 * between the readings taken before and after running `date`.
 */
export function checkClock() {
  const before = wallMs();
  const out = spawnSync("date", ["+%s%N"], { encoding: "utf8" }).stdout.trim();
  const after = wallMs();
  const mark = Number(BigInt(out)) / 1e6;
  return { ok: mark >= before - 0.05 && mark <= after + 0.05, before, mark, after };
}

/* ------------------------------------------------------------- statistics */

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function summarize(values) {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    min: values.length ? Math.min(...values) : NaN,
    max: values.length ? Math.max(...values) : NaN,
  };
}

/* ----------------------------------------------------------------- /proc */

export const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** [state, ppid, pgrp, utime, stime] of a process, or null once it is gone. */
export function procStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces and parentheses).
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // f[0] = state (field 3), f[1] = ppid, f[2] = pgrp, f[11] = utime (14), f[12] = stime (15).
  return { state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), utime: Number(f[11]), stime: Number(f[12]) };
}

/** The daemon's own CPU time (utime + stime, not its children's) in seconds; null once it is gone. */
export function cpuSeconds(pid) {
  const s = procStat(pid);
  return s === null ? null : (s.utime + s.stime) / CLK_TCK;
}

/**
 * The same at nanosecond resolution: the sum of the run time of every thread
 * (/proc/PID/task/TID/schedstat, first field). Threads that have ended are
 * missing from it, so it is a cross-check for short windows, not the figure.
 */
export function cpuSecondsFine(pid) {
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        /* thread gone */
      }
    }
  } catch {
    return null;
  }
  return total / 1e9;
}

/** Count of /proc entries that are processes, and how many of them are zombies. */
export function procCounts() {
  let all = 0;
  let zombies = 0;
  for (const entry of readdirSync("/proc")) {
    if (entry.charCodeAt(0) > 57) continue;
    const s = procStat(entry);
    if (s === null) continue;
    all++;
    if (s.state === "Z") zombies++;
  }
  return { processes: all, zombies };
}

/**
 * Memory in bytes from /proc/PID/smaps_rollup: PSS (with its anonymous and
 * file-backed parts where the kernel gives them), RSS, USS (private pages),
 * the anonymous memory and the number of mappings (what a fork copies). PSS divides node's own text among every running node process, so
 * it drops while other node programs run; USS does not.
 */
export function memory(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
  // Anonymous: what fork() copies the page tables of (file-backed text is shared without copying); see fork-cost.mjs.
  let mappings = NaN;
  try {
    mappings = readFileSync(`/proc/${pid}/maps`, "latin1").split("\n").length - 1;
  } catch {
    /* gone */
  }
  return { pss: kb("Pss"), pss_anon: kb("Pss_Anon"), pss_file: kb("Pss_File"), rss: kb("Rss"), uss: kb("Private_Clean") + kb("Private_Dirty"), anon: kb("Anonymous"), mappings };
}

/** Every live (not zombie) process whose process group is one of `pgids`. */
export function liveInGroups(pgids) {
  const want = new Set(pgids);
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (entry.charCodeAt(0) > 57) continue;
    const s = procStat(entry);
    if (s !== null && want.has(s.pgrp) && s.state !== "Z") found.push({ pid: Number(entry), ...s });
  }
  return found;
}

/* ------------------------------------------------------------------ marks */

/**
 * The service scripts append `NAME PID NANOSECONDS` to one marks file at each
 * start (O_APPEND: lines from concurrent writers do not interleave). Watched
 * with inotify (fs.watch), with a slow poll as a safety net.
 */
export class Marks {
  constructor(file) {
    this.file = file;
    writeFileSync(file, "");
    this.fd = openSync(file, "r");
    this.offset = 0;
    this.partial = "";
    /** Every mark so far: { name, pid, ms } with ms a wall-clock float. */
    this.all = [];
    this.waiters = new Set();
    /** A promise that rejects when waiting is pointless (the daemon died); see guard(). */
    this.guardPromise = null;
    this.watcher = watch(file, () => this.read());
    this.poll = setInterval(() => this.read(), 50);
  }

  read() {
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      const text = this.partial + buf.toString("latin1", 0, n);
      const lines = text.split("\n");
      this.partial = lines.pop();
      for (const line of lines) {
        const [name, pid, ns] = line.trim().split(/\s+/);
        if (!ns) continue;
        this.all.push({ name, pid: Number(pid), ms: Number(BigInt(ns)) / 1e6 });
      }
    }
    for (const w of this.waiters) w();
  }

  /** Resolves with the result of `test(all)` once it is not undefined. */
  until(test, what, timeoutMs = 10_000) {
    this.read();
    const first = test(this.all);
    if (first !== undefined) return Promise.resolve(first);
    return guarded(this.guardPromise, new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for marks: ${what} (have ${this.all.length})`));
      }, timeoutMs);
      const check = () => {
        const r = test(this.all);
        if (r === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(r);
      };
      this.waiters.add(check);
    }));
  }

  /** Resolves with the marks from index `from` on once `count` distinct names have marked. */
  distinct(count, from = 0, timeoutMs = 10_000) {
    return this.until(
      (all) => {
        const seen = new Map();
        for (let i = from; i < all.length; i++) if (!seen.has(all[i].name)) seen.set(all[i].name, all[i]);
        return seen.size >= count ? [...seen.values()] : undefined;
      },
      `${count} services`,
      timeoutMs,
    );
  }

  close() {
    this.watcher.close();
    clearInterval(this.poll);
    closeSync(this.fd);
  }
}

/** A shell command that marks its start in `marks`, then runs `rest`. */
export function marked(name, marks, rest = "exec sleep 1000") {
  return `echo "${name} $$ $(date +%s%N)" >> '${marks}'; ${rest}`;
}

/* -------------------------------------------------------------- recorder */

/** `p`, or the rejection of `guard` should that come first. */
function guarded(guard, p) {
  if (guard === null) return p;
  // The loser of the race must not surface later as an unhandled rejection.
  p.catch(() => undefined);
  return Promise.race([p, guard]);
}

/** A real zeromq subscriber to the status topic; every message stamped with its arrival (wallMs). */
export class Recorder {
  constructor(endpoint, { reconnectInterval = 10 } = {}) {
    this.messages = [];
    this.waiters = new Set();
    this.guardPromise = null;
    this.sock = new zmq.Subscriber({ linger: 0, reconnectInterval });
    this.sock.connect(endpoint);
    this.sock.subscribe();
    this.done = this.pump();
  }

  async pump() {
    for (;;) {
      let frames;
      try {
        frames = await this.sock.receive();
      } catch {
        return;
      }
      const at = wallMs();
      this.messages.push({ at, topic: frames[0].toString(), data: JSON.parse(frames[1].toString()) });
      for (const w of this.waiters) w();
    }
  }

  /** The first message from index `from` on that passes `test`. */
  waitFor(test, what, from = 0, timeoutMs = 10_000) {
    let i = from;
    const scan = () => {
      for (; i < this.messages.length; i++) if (test(this.messages[i])) return this.messages[i];
      return undefined;
    };
    const hit = scan();
    if (hit) return Promise.resolve(hit);
    return guarded(this.guardPromise, new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; last: ${JSON.stringify(this.messages.slice(-2).map((m) => m.data))}`));
      }, timeoutMs);
      const check = () => {
        const m = scan();
        if (!m) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(m);
      };
      this.waiters.add(check);
    }));
  }

  close() {
    this.sock.close();
  }
}

/* ----------------------------------------------------------------- daemon */

/**
 * SIGKILL to every live process carrying `FLOWINIT_BENCH_TAG=tag` in its
 * environment (services inherit the daemon's): never a recycled pid that now
 * belongs to someone else. Returns how many there were.
 */
export function killTagged(tag) {
  let killed = 0;
  for (const { pid } of tagged(tag)) {
    try {
      process.kill(pid, "SIGKILL");
      killed++;
    } catch {
      /* gone */
    }
  }
  return killed;
}

/** Every live (not zombie) process carrying `FLOWINIT_BENCH_TAG=tag`: { pid, comm }. */
export function tagged(tag) {
  const needle = Buffer.from(`\0FLOWINIT_BENCH_TAG=${tag}\0`);
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (entry.charCodeAt(0) > 57 || Number(entry) === process.pid) continue;
    let env;
    try {
      env = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${entry}/environ`)]);
    } catch {
      continue;
    }
    if (env.indexOf(needle) === -1) continue;
    const st = procStat(entry);
    if (st === null || st.state === "Z") continue;
    let comm = "";
    try {
      comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    found.push({ pid: Number(entry), comm });
  }
  return found;
}

const live = new Set();

/** Every daemon started, by tag: how a .cpuprofile file finds its spans. */
export const profiled = new Map();

/** Daemons that did not exit 0 when asked to stop, or died on their own. */
export const abnormal = [];

/** Kills what is left should the bench fail half-way: daemons, then what their services left. */
export function killEverything() {
  for (const d of live) {
    try {
      if (d.exitedAt === undefined) process.kill(d.pid, "SIGKILL");
    } catch {
      /* gone */
    }
    d.killLeftovers();
  }
}

export class Daemon {
  /**
   * Prepares `flowinit run` on `manifest` (an object, or a function of the
   * marks file path returning one; written as JSON, which is YAML) in a fresh
   * folder under `root`. start() spawns it; ready() waits for it.
   */
  constructor(root, manifest, { profileDir = null, label = "daemon", reaper = false, nodeFlags = [], env = {} } = {}) {
    this.dir = mkdtempSync(join(root, `${label}-`));
    this.file = join(this.dir, "services.yaml");
    this.marksFile = join(this.dir, "marks");
    const id = randomBytes(6).toString("hex");
    this.control = `ipc://@flowinit-bench-${id}/control`;
    this.status = `ipc://@flowinit-bench-${id}/status`;
    this.label = label;
    /** In the environment of the daemon and so of every service: how leftovers are found. */
    this.tag = id;
    this.stopping = false;
    /** Spans (CLOCK_MONOTONIC µs) that a profile summary of this daemon should cover; see mark(). */
    this.windows = [];
    writeFileSync(this.file, JSON.stringify(typeof manifest === "function" ? manifest(this.marksFile) : manifest, null, 2));
    this.profileDir = profileDir;
    /** Run under bench/reaper.py, a subreaper that reaps orphans as Android's init does; pid is then the reaper's. */
    this.reaper = reaper;
    /** Extra flags for the daemon's node, for experiments (`--node-flags`). */
    this.nodeFlags = nodeFlags;
    /** More of the daemon's environment (FLOWINIT_DEVICE_ROOT for `--gates`). */
    this.env = env;
  }

  /** Marks watcher on this daemon's marks file; made before start() so that nothing is missed. */
  watchMarks() {
    this.marks = new Marks(this.marksFile);
    this.marks.guardPromise = this.guard ?? null;
    return this.marks;
  }

  /** A subscriber whose waits fail at once should the daemon die. */
  subscribe(opts) {
    const rec = new Recorder(this.status, opts);
    rec.guardPromise = this.guard ?? null;
    return rec;
  }

  start() {
    const flags = [...this.nodeFlags];
    if (this.profileDir !== null) {
      mkdirSync(this.profileDir, { recursive: true });
      flags.push("--cpu-prof", "--cpu-prof-dir", this.profileDir, "--cpu-prof-name", `${this.label}-${this.tag}.cpuprofile`);
    }
    // The daemon's log (pino JSON lines) goes to a file, as under a service
    // manager; a pipe nobody reads would block it.
    this.logFile = join(this.dir, "daemon.log");
    const log = openSync(this.logFile, "a");
    const args = [...flags, BIN, "run", "-c", this.file, "--control", this.control, "--status", this.status, "--log-dir", join(this.dir, "logs")];
    this.spawnedAt = wallMs();
    this.spawnedMono = monoUs();
    profiled.set(this.tag, this);
    const [cmd, argv] = this.reaper ? ["python3", [join(ROOT, "bench/reaper.py"), process.execPath, ...args]] : [process.execPath, args];
    this.child = spawn(cmd, argv, { stdio: ["ignore", log, log], env: { ...process.env, ...this.env, FLOWINIT_BENCH_TAG: this.tag } });
    closeSync(log);
    this.pid = this.child.pid;
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitedAt = wallMs();
        resolve({ code, signal });
      });
    });
    // Rejects if the daemon ends before stop() asked it to: every wait races it.
    this.guard = this.exited.then(({ code, signal }) => {
      if (this.stopping) return new Promise(() => undefined);
      const error = this.crashText();
      abnormal.push({ label: this.label, when: "while running", code, signal, error });
      throw new Error(`daemon ${this.label} died (code ${code}, signal ${signal}): ${error}`);
    });
    this.guard.catch(() => undefined);
    if (this.marks) this.marks.guardPromise = this.guard;
    return this;
  }

  /** The error a dead daemon printed: the line after the first stack frame's source, or the log's tail. */
  crashText() {
    let text = "";
    try {
      text = readFileSync(this.logFile, "utf8");
    } catch {
      return "(no log)";
    }
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    const err = lines.find((l) => /^\w*Error\b|^Error:/.test(l.trim()));
    return (err ?? lines.at(-1) ?? "").trim().slice(0, 300);
  }

  /** Resolves once the control socket answers `ping` with `PONG`. */
  async ready(timeoutMs = 15_000) {
    if (!this.req) {
      this.req = new zmq.Request({ linger: 0, reconnectInterval: 5, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
      this.req.connect(this.control);
    }
    const reply = await this.request("ping");
    if (reply !== "PONG") throw new Error(`ping answered ${reply}`);
  }

  /** One request on the daemon's REQ socket; resolves with the reply text. */
  async request(text) {
    const exchange = async () => {
      await this.req.send(text);
      const [reply] = await this.req.receive();
      return reply.toString("utf8");
    };
    return guarded(this.guard, exchange());
  }

  async json(obj) {
    const reply = JSON.parse(await this.request(JSON.stringify(obj)));
    if (!reply.ok) throw new Error(`${obj.cmd}: ${JSON.stringify(reply.error)}`);
    return reply;
  }

  async snapshot() {
    const { status } = await this.json({ cmd: "status" });
    return status;
  }

  /** Polls the control socket until every supervised service is running. */
  async allRunning(timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.snapshot();
      if (st.services.every((s) => s.state === "running")) return st;
      if (Date.now() > deadline) throw new Error(`not all running: ${st.services.filter((s) => s.state !== "running").map((s) => `${s.name}=${s.state}`).join(", ")}`);
      await sleep(20);
    }
  }

  /** Opens a span, named `kind`, for the profile summary; the function returned closes it. */
  span(kind = this.label) {
    const w = [monoUs(), Infinity, kind];
    this.windows.push(w);
    return () => (w[1] = monoUs());
  }

  /** SIGKILL to whatever of this daemon's services is still alive; see killTagged(). */
  killLeftovers() {
    return killTagged(this.tag);
  }

  /** SIGTERM to the daemon, as a stop the bench times itself; returns the wall time it was sent. */
  terminate() {
    this.stopping = true;
    const t0 = wallMs();
    process.kill(this.pid, "SIGTERM");
    return t0;
  }

  /**
   * SIGTERM, and the daemon's exit; SIGKILL if it takes longer than
   * `timeoutMs`. A daemon that does not exit 0 is recorded in `abnormal`, and
   * whatever its services left is killed.
   */
  async stop(timeoutMs = 20_000) {
    this.req?.close();
    this.req = undefined;
    const wasRunning = this.exitedAt === undefined;
    this.stopping = wasRunning || this.stopping;
    if (wasRunning) {
      process.kill(this.pid, "SIGTERM");
      const t = setTimeout(() => {
        try {
          process.kill(this.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }, timeoutMs);
      const r = await this.exited;
      clearTimeout(t);
      if (r.code !== 0) abnormal.push({ label: this.label, when: "at shutdown (SIGTERM)", ...r, error: this.crashText() });
    }
    const r = await this.exited;
    this.marks?.read();
    const killed = this.killLeftovers();
    if (killed > 0 && r.code === 0) abnormal.push({ label: this.label, when: "after a clean exit", ...r, error: `${killed} of its services' processes were still alive` });
    live.delete(this);
    this.marks?.close();
    return r;
  }

  remove() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/* -------------------------------------------------------------- machine */

export function machine() {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const model =
    /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? /^Hardware\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? /^CPU part\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  const sh = (cmd, args) => spawnSync(cmd, args, { encoding: "utf8", cwd: ROOT }).stdout?.trim() ?? "";
  return {
    nproc: Number(sh("nproc", [])) || null,
    cpu: model.trim(),
    node: process.version,
    kernel: sh("uname", ["-r"]),
    arch: process.arch,
    commit: sh("git", ["rev-parse", "--short", "HEAD"]) || null,
    dirty: sh("git", ["status", "--porcelain", "--", "src"]) !== "",
    clk_tck: CLK_TCK,
  };
}

/** Other supervisors on PATH, for an optional comparison. */
export function otherSupervisors() {
  const found = {};
  for (const prog of ["runsv", "s6-supervise", "supervisord", "pm2"]) {
    const r = spawnSync("sh", ["-c", `command -v ${prog}`], { encoding: "utf8" });
    found[prog] = r.status === 0 ? r.stdout.trim() : null;
  }
  return found;
}

export function tempRoot() {
  return mkdtempSync(join(tmpdir(), "flowinit-bench-"));
}
