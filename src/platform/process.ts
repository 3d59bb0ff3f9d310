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
 * Reads an open /proc/PID/stat from its start, parsing the fields straight
 * from the bytes: the vitals read every member every tick, and splitting
 * the line made fifty strings a process. Null once the process has ended
 * (an fd outlives its process, and never follows a reused PID).
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
  const st: ProcStat = { state: String.fromCharCode(statBuffer[close + 2]!), ppid: 0, pgrp: -1, ticks: 0, starttime: 0, rssPages: 0 };
  for (let i = close + 4, field = 4; i < n && field <= 24; i++, field++) {
    let v = 0;
    for (let c = statBuffer[i]!; i < n && c !== 0x20 && c !== 0x0a; c = statBuffer[++i]!) v = v * 10 + (c - 48);
    if (field === 4) st.ppid = v;
    else if (field === 5) st.pgrp = v;
    else if (field >= 14 && field <= 17) st.ticks += v;
    else if (field === 22) st.starttime = v;
    else if (field === 24) st.rssPages = v;
  }
  return st.pgrp >= 0 ? st : null;
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
