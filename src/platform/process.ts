/** Facts about processes from /proc: one reader of /proc/PID/stat for the whole daemon. */
import { closeSync, openSync, readSync } from "node:fs";

/** The fields of /proc/PID/stat (proc(5)) the daemon uses. */
export interface ProcStat {
  /** Field 3: `R`, `S`, `Z` (zombie), ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
  /** Field 22, in clock ticks since boot: tells a reused PID from the process seen before. */
  starttime: number;
  rssPages: number;
}

/** A stat line is a few hundred bytes: 52 numbers and a command name of at most 64. */
const statBuffer = Buffer.alloc(4096);

/**
 * The fields after the command name's last `)`: state (3), ppid (4), pgrp (5), utime, stime, cutime and cstime
 * (14-17), starttime (22), rss (24). A regular expression runs as machine code whatever tier V8 has given the
 * JavaScript around it: the daemon runs without the optimizing compiler (bin/flowinit.js), where a loop over the
 * bytes runs in the interpreter, for every member every tick.
 */
const STAT_FIELDS = /^ (\S) (\d+) (\d+) (?:\S+ ){8}(\d+) (\d+) (\d+) (\d+) (?:\S+ ){4}(\d+) \S+ (\d+)/;

/**
 * Reads an open /proc/PID/stat from its start. Null once the process has
 * ended (an fd outlives its process, and never follows a reused PID).
 */
export function readStatFd(fd: number): ProcStat | null {
  let n: number;
  try {
    n = readSync(fd, statBuffer, 0, statBuffer.length, 0);
  } catch {
    return null; // ESRCH
  }
  // comm (field 2) may hold spaces and parentheses; the fields after the last ')' are plain.
  const close = statBuffer.lastIndexOf(0x29, n - 1);
  if (n === 0 || close < 0) return null;
  const m = STAT_FIELDS.exec(statBuffer.toString("latin1", close + 1, n));
  if (m === null) return null;
  return {
    state: m[1]!,
    ppid: Number(m[2]),
    pgrp: Number(m[3]),
    ticks: Number(m[4]) + Number(m[5]) + Number(m[6]) + Number(m[7]),
    starttime: Number(m[8]),
    rssPages: Number(m[9]),
  };
}

/** Opens /proc/PID/stat (`name` is the PID as /proc lists it); null if the process is gone or not ours to read. */
export function openStat(name: string | number, procDir = "/proc"): number | null {
  try {
    return openSync(`${procDir}/${name}/stat`, "r");
  } catch {
    return null;
  }
}

/** One process's stat, or null if there is no such process or no /proc. */
export function readStat(name: string | number, procDir = "/proc"): ProcStat | null {
  const fd = openStat(name, procDir);
  if (fd === null) return null;
  try {
    return readStatFd(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The process's start time, or null if there is no such process (a zombie
 * counts as none) or no /proc. A PID with a different start time is another
 * process.
 */
export function startTime(pid: number): number | null {
  const st = readStat(pid);
  return st === null || st.state === "Z" ? null : st.starttime;
}

/** Whether `pid` still names the process that had `since` as its start time. */
export function sameProcess(pid: number, since: number | null): boolean {
  if (since === null) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "EPERM";
    }
  }
  return startTime(pid) === since;
}

/** Page sizes Linux kernels are built with on the machines flowinit runs on (arm64 Android: 4 or 16 KiB). */
const PAGE_SIZES = [4096, 16384, 65536];

/**
 * The page size that makes `rssPages` pages come to `rssBytes`: the nearest
 * of the known sizes, so that pages touched between two readings do not
 * matter. 4096 when nothing is known.
 */
export function pageSizeFrom(rssBytes: number, rssPages: number): number {
  if (!(rssPages > 0 && rssBytes > 0)) return 4096;
  const ratio = Math.log2(rssBytes / rssPages);
  return PAGE_SIZES.reduce((best, p) => (Math.abs(Math.log2(p) - ratio) < Math.abs(Math.log2(best) - ratio) ? p : best));
}

/**
 * This kernel's page size. Node has no sysconf(), but libuv reports the
 * resident set as /proc/self/stat's page count times getpagesize(), so the
 * two readings give it without a child process (Android 15+ devices may run
 * 16 KiB pages).
 */
export function pageSize(): number {
  const bytes = process.memoryUsage.rss();
  return pageSizeFrom(bytes, readStat("self")?.rssPages ?? 0);
}
