/**
 * Process vitals of whole process groups, read from /proc in one pass per
 * tick: no child process, no `ps`.
 */
import { closeSync, openSync, readdirSync, readSync } from "node:fs";

/** `getconf CLK_TCK`: 100 on every Linux and Android ABI; reading it would need a child process. */
const CLOCK_TICKS_PER_SECOND = 100;
/**
 * The kernel's page size, taken as 4096 because Node offers no cheap way to
 * read it. Kernels built with 16 KiB pages (some Android 15+ devices) would
 * make `rssBytes` a quarter of the truth.
 */
const PAGE_SIZE = 4096;

export interface GroupVitals {
  /** Share of one core since the previous sample, like top (may exceed 100); null on a group's first sample. */
  cpuPercent: number | null;
  /** Sum of the members' resident sets: pages they share count once per member, as when adding up `ps` columns. */
  rssBytes: number;
}

/** One process as /proc/PID/stat shows it. */
interface ProcStat {
  ppid: number;
  pgrp: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
  /** Telling a reused PID from the process seen before. */
  starttime: string;
  rssPages: number;
}

interface Seen {
  starttime: string;
  ppid: number;
  ticks: number;
}

interface GroupState {
  time: number;
  members: Map<number, Seen>;
}

/** Keeps the previous sample of each group, for CPU deltas. */
export class ProcessSampler {
  private groups = new Map<number, GroupState>();

  /** @param procDir Where procfs is mounted. Default `/proc`. */
  constructor(private readonly procDir = "/proc") {}

  /**
   * Vitals of every process group in `pgids` that has a live process; `now`
   * is the caller's clock in ms. Groups not asked for are forgotten, so a
   * restarted service starts afresh. No /proc (macOS): an empty map.
   */
  sample(pgids: number[], now: number): Map<number, GroupVitals> {
    const wanted = new Set(pgids);
    const found = new Map<number, Map<number, ProcStat>>();
    let pids: string[];
    try {
      pids = readdirSync(this.procDir);
    } catch {
      this.groups.clear();
      return new Map();
    }
    for (const name of pids) {
      const code = name.charCodeAt(0);
      if (code < 48 || code > 57) continue;
      const st = readStat(`${this.procDir}/${name}/stat`);
      if (st === null || !wanted.has(st.pgrp)) continue;
      let members = found.get(st.pgrp);
      if (members === undefined) found.set(st.pgrp, (members = new Map()));
      members.set(Number(name), st);
    }

    const out = new Map<number, GroupVitals>();
    const next = new Map<number, GroupState>();
    for (const [pgid, members] of found) {
      let rssPages = 0;
      for (const st of members.values()) rssPages += st.rssPages;
      const prev = this.groups.get(pgid);
      const elapsed = prev === undefined ? 0 : now - prev.time;
      const cpuPercent =
        prev === undefined || elapsed <= 0
          ? null
          : round1((cpuTicks(prev.members, members) / CLOCK_TICKS_PER_SECOND / (elapsed / 1000)) * 100);
      out.set(pgid, { cpuPercent, rssBytes: rssPages * PAGE_SIZE });
      const seen = new Map<number, Seen>();
      for (const [pid, st] of members) seen.set(pid, { starttime: st.starttime, ppid: st.ppid, ticks: st.ticks });
      next.set(pgid, { time: now, members: seen });
    }
    this.groups = next;
    return out;
  }
}

/**
 * Ticks the group spent between two samples. Children's times (cutime,
 * cstime) are counted so that short-lived commands a shell service runs are
 * not missed; when a member ends, its parent's children-time grows by that
 * member's whole total, so what was already counted for it is taken back.
 */
function cpuTicks(before: Map<number, Seen>, now: Map<number, ProcStat>): number {
  let ticks = 0;
  for (const [pid, st] of now) {
    const was = before.get(pid);
    ticks += was !== undefined && was.starttime === st.starttime ? st.ticks - was.ticks : st.ticks;
  }
  for (const [pid, was] of before) {
    const still = now.get(pid);
    if (still !== undefined && still.starttime === was.starttime) continue;
    // Only a parent inside the group adds it to a member's children-time.
    if (now.has(was.ppid)) ticks -= was.ticks;
  }
  return Math.max(0, ticks);
}

/** A stat line is a few hundred bytes: 52 numbers and a short command name. */
const statBuffer = Buffer.alloc(4096);

function readStat(file: string): ProcStat | null {
  let text: string;
  try {
    // One open, one read, one close into a reused buffer: readFileSync adds an fstat and a second read per file.
    const fd = openSync(file, "r");
    try {
      // latin1: the comm field may hold any bytes, and only ASCII digits are parsed.
      text = statBuffer.toString("latin1", 0, readSync(fd, statBuffer, 0, statBuffer.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return null; // ended since readdir, or not ours to read
  }
  // comm may contain spaces and parentheses; the fields after the last ')' are plain.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // f[0] is field 3 (state) of proc(5), so field n is f[n - 3].
  const pgrp = Number(f[2]);
  if (!Number.isInteger(pgrp)) return null;
  return {
    ppid: Number(f[1]),
    pgrp,
    ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
    starttime: f[19] ?? "",
    rssPages: Number(f[21]),
  };
}

/** One decimal: the status topic carries these every tick. */
function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
