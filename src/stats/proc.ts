/**
 * Process vitals of whole process groups, read from /proc in one pass per
 * tick: no child process, no `ps`.
 */
import { closeSync, readdirSync, readFileSync } from "node:fs";
import { openStat, pageSize, readStatFd, type ProcStat } from "../platform/process.js";

/** `getconf CLK_TCK`: 100 on every Linux and Android ABI; reading it would need a child process. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface GroupVitals {
  /** Share of one core since the previous sample, like top (may exceed 100); null on a group's first sample. */
  cpuPercent: number | null;
  /** Sum of the members' resident sets: pages they share count once per member, as when adding up `ps` columns. */
  rssBytes: number;
}

interface Seen {
  starttime: number;
  ppid: number;
  ticks: number;
}

interface GroupState {
  time: number;
  members: Map<number, Seen>;
}

/**
 * Keeps the previous sample of each group, for CPU deltas, and what makes
 * the next pass cheap: the stat files of the groups' members stay open and
 * are re-read in place (up to `keepOpen` of them; the others are opened
 * and closed on each pass), and a process seen outside every group is not
 * read again until the set of groups changes (a new group's processes are
 * new PIDs, or recycled ones: that pass reads them all). While no process
 * at all has been created since the last pass (the kernel's newest PID, in
 * /proc/loadavg, is the same), a group can only have lost members, so /proc
 * is not even listed: the pass re-reads the members' open files, and an idle
 * machine's tick costs a read per member.
 */
export class ProcessSampler {
  private groups = new Map<number, GroupState>();
  /** Open /proc/PID/stat of every member seen last pass. */
  private fds = new Map<number, number>();
  /** PIDs seen last pass in no group asked for. */
  private strangers = new Set<number>();
  private lastWanted = new Set<number>();
  /** /proc/loadavg's newest PID at the last pass, when every member's file was kept open; else null. */
  private quietSince: string | null = null;

  /** This kernel's, for the resident sets /proc gives in pages. */
  private readonly pageSize = pageSize();

  /**
   * @param procDir Where procfs is mounted. Default `/proc`.
   * @param keepOpen Most stat files kept open between passes. Default a quarter of the daemon's soft limit on
   *   open files: a service of thousands of processes must not take the descriptors that connections, pipes and
   *   log files need (libzmq aborts the daemon when accept(2) finds none left).
   */
  constructor(
    private readonly procDir = "/proc",
    private readonly keepOpen = Math.floor(openFilesLimit(procDir) / 4),
  ) {}

  /**
   * Vitals of every process group in `pgids` that has a live process; `now`
   * is the caller's clock in ms. Groups not asked for are forgotten, so a
   * restarted service starts afresh. No /proc (macOS): an empty map.
   */
  sample(pgids: number[], now: number): Map<number, GroupVitals> {
    const wanted = new Set(pgids);
    const trustStrangers = [...wanted].every((g) => this.lastWanted.has(g));
    this.lastWanted = wanted;
    const newest = newestPid(this.procDir);
    const quiet = trustStrangers && newest !== null && newest === this.quietSince;
    let names: string[] = [];
    if (!quiet) {
      try {
        names = readdirSync(this.procDir);
      } catch {
        this.close();
        return new Map();
      }
    }
    const found = new Map<number, Map<number, ProcStat>>();
    const fds = new Map<number, number>();
    const strangers = quiet ? this.strangers : new Set<number>();
    let allOpen = true;
    const visit = (pid: number) => {
      const fd = this.fds.get(pid) ?? openStat(pid, this.procDir);
      this.fds.delete(pid);
      if (fd === null) return;
      // An fd of a process that ended reads nothing, even if its PID is in use again.
      const st = readStatFd(fd);
      if (st === null || !wanted.has(st.pgrp)) {
        closeSync(fd);
        if (st !== null) strangers.add(pid);
        return;
      }
      if (fds.size < this.keepOpen) fds.set(pid, fd);
      else {
        closeSync(fd);
        allOpen = false;
      }
      let members = found.get(st.pgrp);
      if (members === undefined) found.set(st.pgrp, (members = new Map()));
      members.set(pid, st);
    };
    if (quiet) for (const pid of [...this.fds.keys()]) visit(pid);
    for (const name of names) {
      const code = name.charCodeAt(0);
      if (code < 48 || code > 57) continue;
      const pid = Number(name);
      if (trustStrangers && this.strangers.has(pid)) strangers.add(pid);
      else visit(pid);
    }
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds = fds;
    this.strangers = strangers;
    this.quietSince = allOpen ? newest : null;

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
      out.set(pgid, { cpuPercent, rssBytes: rssPages * this.pageSize });
      const seen = new Map<number, Seen>();
      for (const [pid, st] of members) seen.set(pid, { starttime: st.starttime, ppid: st.ppid, ticks: st.ticks });
      next.set(pgid, { time: now, members: seen });
    }
    this.groups = next;
    return out;
  }

  /** Closes the stat files kept open; the next sample reads everything afresh. */
  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.strangers.clear();
    this.groups.clear();
    this.quietSince = null;
  }
}

/** The PID the kernel gave last (the fifth field of /proc/loadavg), as text; null where it cannot be read. */
function newestPid(procDir: string): string | null {
  try {
    const loadavg = readFileSync(`${procDir}/loadavg`, "latin1");
    return loadavg.slice(loadavg.lastIndexOf(" ") + 1).trim() || null;
  } catch {
    return null;
  }
}

/** The soft RLIMIT_NOFILE, which Node has no call for; Linux's usual 1024 where /proc does not say. */
function openFilesLimit(procDir: string): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync(`${procDir}/self/limits`, "latin1"));
    if (m) return Number(m[1]);
  } catch {
    /* no /proc */
  }
  return 1024;
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

/** One decimal: the status topic carries these every tick. */
function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
