/**
 * Stopping a whole process group: the stop signal to the group, SIGKILL to
 * the group after the timeout, done when no member is left.
 */
import { closeSync, openSync, readdirSync, readSync } from "node:fs";
import { systemClock } from "../clock.js";
import { readStat } from "../platform/process.js";
import type { Exit } from "./exit.js";
import type { ServiceChild } from "./spawn.js";

/**
 * Sends `signal` to every process of group `pgid` that this user may
 * signal. `gone`: no process is left; `denied`: those left are all another
 * user's (one that became root through a setuid `su` under a daemon that is
 * not), which nothing here can stop.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): "sent" | "gone" | "denied" {
  // Every exit signals its group before the restart, and finds it gone: node's ESRCH error with its stack trace
  // was 40 us of that path.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    process.kill(-pgid, signal);
    return "sent";
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return "gone";
    if (code === "EPERM") return "denied";
    throw e;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Whether any process of group `pgid` still lives. Zombies do not count: an
 * orphan's zombie stays in the group until its new parent reaps it, and a
 * container's pid 1 may never do so.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  return hasLiveMember(pgid);
}

function hasLiveMember(pgid: number): boolean {
  return groupsWithLiveMembers()?.has(pgid) ?? true; // no /proc: trust kill(2)
}

/** Process groups with a live member, from one pass of /proc shared by the checks of one turn. */
let liveGroups: Set<number> | null = null;

function groupsWithLiveMembers(): Set<number> | null {
  if (liveGroups !== null) return liveGroups;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const found = new Set<number>();
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57) continue; // not a pid
    const st = readStat(entry); // null: it ended while we looked
    if (st !== null && st.state !== "Z") found.add(st.pgrp);
  }
  // The trees of a stop end together and their pipes close in the same turn: one pass serves them all.
  liveGroups = found;
  setImmediate(() => (liveGroups = null));
  return found;
}

export interface StopResult {
  exit: Exit;
  /** SIGKILL was needed. */
  escalated: boolean;
  /** What is left of the group may not be signalled by this user: the stop gave up on it, left running. */
  denied?: true;
  /** The group is gone but its output pipes are still open: a process that left the group holds them. */
  pipesHeld?: true;
}

/** A stop that cannot go on: the leader's exit if it has one, and what was left running. */
const deniedStop = (child: ServiceChild): StopResult => ({ exit: child.exit ?? { code: null, signal: null }, escalated: false, denied: true });

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Looks, backing off, until `gone()` or `deadline` (a reading of the
 * monotonic clock) passes; resolves true if it is gone. Only for what gives
 * no event: a daemonized grandchild that closed its output, a group a
 * previous daemon left, a process that left its group.
 */
async function untilGone(gone: () => boolean, deadline: number): Promise<boolean> {
  // The system clock, never an injected one: these deadlines pace real timers.
  for (let wait = 5; !gone(); wait = Math.min(wait * 2, 100)) {
    const left = deadline - systemClock.mono();
    if (left <= 0) return false;
    await sleep(Math.min(wait, left));
  }
  return true;
}

/** `untilGone` for process group `pgid`. */
export const untilGroupGone = (pgid: number, deadline: number): Promise<boolean> => untilGone(() => !groupAlive(pgid), deadline);

/**
 * The escalation of a stop without a child to wait on: `signal` by `send`
 * (false: nothing it may signal is left), then SIGKILL to what is left after
 * `timeoutMs`; resolves once `gone()`, or a second after the SIGKILL.
 */
async function stopLooking(send: (signal: NodeJS.Signals) => boolean, gone: () => boolean, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (!send(signal)) return;
  if (await untilGone(gone, systemClock.mono() + timeoutMs)) return;
  send("SIGKILL");
  await untilGone(gone, systemClock.mono() + 1000);
}

/**
 * Stops a group this daemon holds no child of (one a previous daemon left):
 * the stop signal, SIGKILL after the timeout; resolves once it is gone, or a
 * second after the SIGKILL.
 */
export function stopOrphanGroup(pgid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  return stopLooking((sig) => signalGroup(pgid, sig) !== "denied", () => !groupAlive(pgid), signal, timeoutMs);
}

/** How long the pipes may take to close after the leader's exit before the group is looked at instead. */
const PIPE_GRACE_MS = 50;

/**
 * Resolves true once the leader has ended and the group is empty, false at
 * `deadline`. The closing of the output pipes is the event that tells a tree
 * has gone; a member that closed its output (a daemonized grandchild), or a
 * leader that ended while a process outside the group holds the pipes,
 * leaves us to look again, backing off, until the deadline.
 */
async function groupEnded(child: ServiceChild, pgid: number, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let grace: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(r, Math.max(0, deadline - systemClock.mono()), "timeout")));
  // Unref'd and cleared: a grace left pending must not hold the daemon's exit back.
  const afterExit = child.exited.then(() => new Promise<"exited">((r) => (grace = setTimeout(r, PIPE_GRACE_MS, "exited").unref())));
  const first = await Promise.race([child.closed.then(() => "closed" as const), afterExit, timeout]);
  clearTimeout(timer);
  clearTimeout(grace);
  return first === "timeout" ? !groupAlive(pgid) : untilGroupGone(pgid, deadline);
}

/**
 * Resolves once the leader has ended and the group is empty: the stop
 * signal, then SIGKILL to the group after `timeoutMs`.
 */
export async function stopGroup(child: ServiceChild, signal: NodeJS.Signals, timeoutMs: number): Promise<StopResult> {
  const pgid = child.pid;
  if (pgid === undefined) return { exit: await child.exited, escalated: false };
  let pipesClosed = false;
  void child.closed.then(() => (pipesClosed = true));
  const ended = async (escalated: boolean): Promise<StopResult> => {
    const exit = await child.exited;
    return pipesClosed ? { exit, escalated } : { exit, escalated, pipesHeld: true };
  };
  if (signalGroup(pgid, signal) === "denied") return deniedStop(child);
  // A stopped process (SIGSTOP, a hung service's own doing, or ^Z) takes no signal until continued; runit and s6 send it too.
  signalGroup(pgid, "SIGCONT");
  if (await groupEnded(child, pgid, systemClock.mono() + timeoutMs)) return ended(false);
  if (signalGroup(pgid, "SIGKILL") === "denied") return deniedStop(child);
  // SIGKILL lands at once, but the dying let go of their pipes a moment later; a member that holds no
  // pipe gives no event at all, so the group is looked at once more before the stop is done.
  await groupEnded(child, pgid, systemClock.mono() + 1000);
  return ended(true);
}

/** A process found by its environment. */
export interface MarkedProcess {
  pid: number;
  pgid: number;
  /** Its environment's `KEY=value` entries. */
  env: Set<string>;
}

/**
 * The live processes of this user whose environment holds every `KEY=value`
 * of `marker`, in one pass of /proc: a service's processes, those that left
 * its process group (setsid, setpgid) included, for they keep the
 * environment the daemon gave them. What cleared its environment, or runs
 * as another user (its environ is unreadable), is not found.
 *
 * Every shutdown makes this pass over every process of the device, so the
 * environments are searched as bytes in one reused buffer, and only those
 * that match are read further (their stat, their entries).
 */
export function markedProcesses(marker: string[], procDir = "/proc"): MarkedProcess[] {
  let entries: string[];
  try {
    entries = readdirSync(procDir);
  } catch {
    return [];
  }
  // Each entry whole, between NULs: the environ read below starts and ends with one.
  const needles = marker.map((m) => Buffer.from(`\0${m}\0`, "latin1"));
  const found: MarkedProcess[] = [];
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57 || Number(entry) === process.pid) continue;
    // A zombie's environ reads empty: it matches nothing.
    const environ = readEnviron(`${procDir}/${entry}/environ`);
    if (environ === null || !needles.every((n) => environ.includes(n))) continue;
    const st = readStat(entry, procDir);
    if (st === null || st.state === "Z") continue;
    const env = new Set(environ.toString("latin1", 1, environ.length - 1).split("\0"));
    found.push({ pid: Number(entry), pgid: st.pgrp, env });
  }
  return found;
}

/** Grown to the largest environment seen; environ files are read into it whole. */
let environBuffer = Buffer.alloc(64 * 1024);

/** A process's environment with a NUL before its first entry and after its last; null if unreadable. Valid until the next call. */
function readEnviron(path: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    environBuffer[0] = 0;
    let n = 1;
    for (;;) {
      if (n === environBuffer.length - 1) {
        const bigger = Buffer.alloc(environBuffer.length * 2);
        environBuffer.copy(bigger, 0, 0, n);
        environBuffer = bigger;
      }
      const got = readSync(fd, environBuffer, n, environBuffer.length - 1 - n, null);
      if (got === 0) break;
      n += got;
    }
    if (environBuffer[n - 1] !== 0) environBuffer[n++] = 0;
    return environBuffer.subarray(0, n);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Stops single processes: `signal`, then SIGKILL to those left after `timeoutMs`; resolves once all are gone. */
export function stopProcesses(pids: number[], signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  const alive = (pid: number) => {
    const st = readStat(pid);
    return st !== null && st.state !== "Z";
  };
  const send = (sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone, or not ours to signal */
      }
    }
    return true;
  };
  return stopLooking(send, () => !pids.some(alive), signal, timeoutMs);
}
