/** Facts about other processes from /proc, to tell a live process from a recycled PID. */
import { readFileSync } from "node:fs";

/**
 * The process's start time in clock ticks since boot (field 22 of
 * /proc/PID/stat), or null if there is no such process or no /proc. A PID
 * with a different start time is another process.
 */
export function startTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return null;
    return Number(fields[19]);
  } catch {
    return null;
  }
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
