/**
 * Surviving the daemon's own death. Android's low-memory and phantom-process
 * killers SIGKILL without warning, leaving the services' process groups
 * behind. A small state file names them (pid, process group, start time, so
 * a recycled PID is never taken for ours), and the next daemon on the same
 * control endpoint stops every such group before it starts anything: one
 * live tree per service, nothing doubled, nothing orphaned. Processes are
 * never looked up by name.
 *
 * The file also holds what the daemon was told (the flag, the app that
 * raised it, the services stopped by request, the external gates), so that
 * a daemon that died in this boot is followed by one that carries on where
 * it was: see `recovery`. A clean stop removes the file, and with it all of
 * that.
 *
 * The file is rewritten off the hot path, a burst of changes at a time, so
 * it lags behind the spawns by a write. What the next daemon must not miss
 * goes first to a journal beside it, synchronously: one short line per
 * spawned group, and the facts whenever they change. The next rewrite of
 * the file folds the journal in and empties it.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, ftruncateSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { writeFile, rename } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { UserError } from "../errors.js";
import { bootId } from "../platform/boot.js";
import { startTime } from "../platform/process.js";
import { groupAlive, stopOrphanGroup } from "./stop.js";

export interface GroupRecord {
  service: string;
  /** The group leader's pid, also the process group id. */
  pid: number;
  /** The leader's start time (clock ticks since boot); null where /proc is missing. */
  startTime: number | null;
}

/** The Android app a green flag named. */
export interface AppRecord {
  pid: number;
  /** Its start time (clock ticks since boot); null where /proc is missing. */
  startTime: number | null;
  /** The name it is listed under in the snapshot. */
  name: string;
}

/** What the daemon was told, as far as it outlives the daemon. */
export interface DaemonFacts {
  /** Whether the green flag is up. */
  flag: boolean;
  /** The app named by the last green flag with a pid, while it is listed. */
  app: AppRecord | null;
  /** Services stopped by request (`flowinit stop`), to stay stopped. */
  stopped: string[];
  /** Whether each external gate (`flowinit gate`) is open, by name: nobody may be there to set it again. */
  gates: Record<string, boolean>;
}

/**
 * What the state file holds, as a previous daemon left it. Each field is
 * checked on its own: a field that is missing or not what it should be
 * reads as "nothing known" (`null`, `false`, empty), and the rest stands.
 */
export interface Previous extends DaemonFacts {
  /** The pid of the daemon that wrote it; null if there is no file (none ran, or it stopped cleanly). */
  daemon: number | null;
  /** The boot it was written in; null if not recorded (files of older versions, or no /proc then). */
  bootId: string | null;
  groups: GroupRecord[];
}

/** The file as written. */
interface StateContent extends DaemonFacts {
  daemon: number;
  boot_id: string | null;
  groups: GroupRecord[];
}

export class StateFile {
  readonly path: string;
  /** Beside the file, private as it is: the services' watchdog folders (FLOWINIT_WATCHDOG_DIR). */
  readonly watchdogDir: string;
  private readonly journalPath: string;
  private readonly dir: string;
  /** The journal, opened (emptied) once this daemon's first file is on disk; appended to from then on. */
  private journal: number | null = null;
  private opened = false;
  /** Lines appended so far: the journal may be emptied only by a write that saw them all. */
  private appended = 0;
  private writing: Promise<void> | null = null;
  private dirty = false;
  private groups: () => GroupRecord[] = () => [];
  /** What `spawned` was told, by pid, for the groups the last rewrite listed and those spawned since. */
  private readonly startTimes = new Map<number, number | null>();
  private facts: DaemonFacts = { flag: false, app: null, stopped: [], gates: {} };
  private cleared = false;

  /**
   * The file lives in a folder of our own (mode 0700) under `runtimeDir`:
   * its content decides which process groups get killed, so nobody else may
   * write it, even where the runtime dir is a shared /tmp.
   */
  constructor(runtimeDir: string, controlEndpoint: string) {
    const uid = process.getuid?.() ?? 0;
    this.dir = join(runtimeDir, `flowinit-${uid}`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const id = createHash("sha256").update(controlEndpoint).digest("hex").slice(0, 16);
    this.path = join(this.dir, `${id}.json`);
    this.journalPath = join(this.dir, `${id}.journal`);
    this.watchdogDir = join(this.dir, `${id}.wd`);
  }

  /** Only a folder that is ours and closed to others is trusted. */
  private trusted(): boolean {
    const st = lstatSync(this.dir);
    return st.isDirectory() && st.uid === (process.getuid?.() ?? st.uid) && (st.mode & 0o077) === 0;
  }

  /** What a previous daemon left: all empty where there is no file or it does not parse. */
  read(): Previous {
    if (!this.trusted()) throw new UserError(`${this.dir}: not a private folder of this user; refusing to trust its state file`);
    let content: unknown = null;
    try {
      content = JSON.parse(readFileSync(this.path, "utf8"));
    } catch {
      // No file, or a truncated one: nothing was left.
    }
    const previous = parseState(content);
    let journal = "";
    try {
      journal = readFileSync(this.journalPath, "utf8");
    } catch {
      // No journal: the file says it all.
    }
    return withJournal(previous, journal);
  }

  /**
   * Records a group the moment it is spawned, before the daemon could be
   * killed with it unknown: one write(2) of a line, no wait for the disk.
   */
  spawned(g: GroupRecord): void {
    this.startTimes.set(g.pid, g.startTime);
    this.append(g);
  }

  /**
   * The start time `spawned` was told for group `pid`, else read from /proc:
   * every rewrite lists every live group, and a crash among a hundred
   * services would otherwise read a hundred stat files.
   */
  startTimeOf(pid: number): number | null {
    const known = this.startTimes.get(pid);
    return known === undefined ? startTime(pid) : known;
  }

  /**
   * Saves the current groups, atomically (write, then rename) and off the hot
   * path: a burst of changes costs one write, and a restart never waits on it.
   * `groups` is called at write time, and again for each later write.
   */
  save(groups: () => GroupRecord[]): void {
    this.groups = groups;
    this.schedule();
  }

  /**
   * Saves what the daemon was told, in the same write as the groups. Until
   * the first call the file says nothing was told: a daemon that restores
   * facts saves them before it starts anything.
   */
  saveFacts(facts: DaemonFacts): void {
    this.facts = facts;
    this.append({ facts });
  }

  private append(line: GroupRecord | { facts: DaemonFacts }): void {
    if (this.cleared) return;
    const fd = this.openJournal();
    try {
      if (fd !== null) writeSync(fd, `${JSON.stringify(line)}\n`);
      this.appended++;
    } catch {
      // Lost, as a lost write of the file would be: the rewrite below still carries it.
    }
    this.schedule();
  }

  /**
   * The journal's lines belong to the daemon the file names: this daemon's
   * first file goes out synchronously, before its first line, and empties
   * what a previous daemon left (read and dealt with by then).
   */
  private openJournal(): number | null {
    if (this.opened) return this.journal;
    this.opened = true;
    try {
      writeFileSync(`${this.path}.tmp`, JSON.stringify(this.content()));
      renameSync(`${this.path}.tmp`, this.path);
    } catch {
      // Recovery weakens, the services run on.
    }
    try {
      this.journal = openSync(this.journalPath, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND, 0o600);
    } catch {
      // Without a journal the file alone speaks, a write behind.
    }
    return this.journal;
  }

  private content(): StateContent {
    return { daemon: process.pid, boot_id: bootId(), ...this.facts, groups: this.groups() };
  }

  private schedule(): void {
    if (this.cleared) return;
    this.openJournal();
    this.dirty = true;
    // After this turn, not in it: the change that asks for a write is often a crash, whose restart follows in
    // the same turn and must not wait on the groups' start times (a /proc read each) and the file's open.
    this.writing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.flush()).finally(() => (this.writing = null));
  }

  private async flush(): Promise<void> {
    while (this.dirty && !this.cleared) {
      this.dirty = false;
      const seen = this.appended;
      const content = this.content();
      // What this file lists is all a later one can: a group that has ended is not spawned again.
      const listed = new Set(content.groups.map((g) => g.pid));
      for (const pid of this.startTimes.keys()) if (!listed.has(pid)) this.startTimes.delete(pid);
      const tmp = `${this.path}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify(content));
        await rename(tmp, this.path);
        // Lines appended meanwhile are not in this file, and they set `dirty`: the next round empties the journal.
        if (this.appended === seen && this.journal !== null && !this.cleared) ftruncateSync(this.journal, 0);
      } catch {
        // A lost write only weakens recovery after a crash; the services run on.
      }
    }
  }

  /**
   * Nothing is left to recover after a clean shutdown: no write may land
   * after this. The watchdog folders go too, their services being down.
   */
  async clear(): Promise<void> {
    this.cleared = true;
    await this.writing;
    if (this.journal !== null) closeSync(this.journal);
    // The journal first: alone, without the file naming its daemon, it would still be acted on.
    rmSync(this.journalPath, { force: true });
    rmSync(this.path, { force: true });
    rmSync(`${this.path}.tmp`, { force: true });
    rmSync(this.watchdogDir, { recursive: true, force: true });
  }
}

const isPid = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isTicks = (v: unknown): v is number | null => v === null || (Number.isSafeInteger(v) && (v as number) >= 0);
const nonEmpty = (v: unknown): v is string => typeof v === "string" && v !== "";

/** The file's fields one by one, each valid or empty: the file may be truncated, of an older version, or hostile. */
function parseState(content: unknown): Previous {
  const o = (typeof content === "object" && content !== null ? content : {}) as Record<string, unknown>;
  const app = o.app as Record<string, unknown> | null | undefined;
  return {
    daemon: isPid(o.daemon) ? o.daemon : null,
    bootId: nonEmpty(o.boot_id) ? o.boot_id : null,
    flag: o.flag === true,
    app: typeof app === "object" && app !== null && isPid(app.pid) && isTicks(app.startTime) && nonEmpty(app.name)
      ? { pid: app.pid, startTime: app.startTime, name: app.name }
      : null,
    stopped: Array.isArray(o.stopped) ? o.stopped.filter(nonEmpty) : [],
    gates: typeof o.gates === "object" && o.gates !== null && !Array.isArray(o.gates)
      ? Object.fromEntries(Object.entries(o.gates).filter(([name, open]) => nonEmpty(name) && typeof open === "boolean"))
      : {},
    groups: Array.isArray(o.groups)
      ? (o.groups as GroupRecord[]).filter((g) => typeof g === "object" && g !== null && Number.isSafeInteger(g.pid) && g.pid > 1)
      : [],
  };
}

/**
 * The file's content with the journal's lines on top: groups spawned after
 * the file was written, and the facts as last told. A line cut short by a
 * crash, or not what it should be, is passed over.
 */
function withJournal(previous: Previous, journal: string): Previous {
  const groups = [...previous.groups];
  let facts: Record<string, unknown> | null = null;
  for (const text of journal.split("\n")) {
    let line: unknown;
    try {
      line = JSON.parse(text);
    } catch {
      continue;
    }
    if (typeof line !== "object" || line === null) continue;
    const o = line as Record<string, unknown>;
    if (typeof o.facts === "object" && o.facts !== null) facts = o.facts as Record<string, unknown>;
    else groups.push(...parseState({ groups: [o] }).groups);
  }
  const merged = facts === null ? previous : { ...previous, ...pickFacts(parseState(facts)) };
  const unique = groups.filter((g, i) => groups.findIndex((h) => h.pid === g.pid && h.startTime === g.startTime) === i);
  return { ...merged, groups: unique };
}

const pickFacts = ({ flag, app, stopped, gates }: Previous): DaemonFacts => ({ flag, app, stopped, gates });

/** What a new daemon takes over from one that died: see `recovery`. */
export interface Recovery {
  /** The pid of the daemon that died. */
  from: number;
  flag: boolean;
  stopped: string[];
  /** The app, only if that very process still lives. */
  app: AppRecord | null;
  /** The external gates' states, by name, as the dead daemon's manifest had them: the new one's decides which still count. */
  gates: Record<string, boolean>;
}

/**
 * What to restore from the file a previous daemon left: nothing unless it
 * died (a clean stop removes the file) in this boot. After a reboot nothing
 * of the old stack lives and the app has not spoken yet, so its flag is
 * stale. Where the boot id cannot be read, now or then, a crash cannot be
 * told from a reboot, and the daemon waits for the flag as at a first start:
 * raising a stale flag would start the gated stack for nobody.
 */
export function recovery(
  previous: Previous,
  now: { bootId: string | null; isAlive: (pid: number, startTime: number) => boolean },
): Recovery | null {
  if (previous.daemon === null) return null;
  if (now.bootId === null || previous.bootId !== now.bootId) return null;
  const { app } = previous;
  // Without a start time a live PID cannot be told from a recycled one.
  const alive = app !== null && app.startTime !== null && now.isAlive(app.pid, app.startTime);
  return { from: previous.daemon, flag: previous.flag, stopped: previous.stopped, app: alive ? app : null, gates: previous.gates };
}

/**
 * Whether a recorded group is still the one we started. A live leader must
 * have the recorded start time; a dead leader whose group still has members
 * is ours too, since the kernel hands out no PID still used as a group id.
 */
export function stillOurs(g: GroupRecord): boolean {
  const now = startTime(g.pid);
  // Without a recorded start time a live PID cannot be told from a recycled one: leave it be.
  if (now !== null) return g.startTime !== null && now === g.startTime;
  return groupAlive(g.pid);
}

/**
 * Stops the groups a dead daemon left: the stop signal, then SIGKILL after
 * the timeout. These are not our children, so no exit event comes: their
 * end is looked for, backing off, until the timeout.
 */
export async function stopLeftovers(
  { groups, bootId: then }: Pick<Previous, "groups" | "bootId">,
  now: string | null,
  stopOf: (service: string) => { signal: NodeJS.Signals; timeoutMs: number },
  log: Logger,
): Promise<void> {
  // Start times count from boot: after a reboot a stranger may carry a recorded pid and start time.
  if (then !== null && now !== null && then !== now) {
    if (groups.length > 0) log.info("the state file is from another boot: its process groups ended with it");
    return;
  }
  await Promise.all(
    groups.filter(stillOurs).map(async (g) => {
      const { signal, timeoutMs } = stopOf(g.service);
      log.warn({ service: g.service, pid: g.pid }, "stopping a process group left by a previous daemon");
      await stopOrphanGroup(g.pid, signal, timeoutMs);
    }),
  );
}
