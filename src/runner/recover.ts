/**
 * Surviving the daemon's own death. Android's low-memory and phantom-process
 * killers SIGKILL without warning, leaving the services' process groups
 * behind. A small state file names them (pid, process group, start time, so
 * a recycled PID is never taken for ours), and the next daemon on the same
 * control endpoint stops every such group before it starts anything: one
 * live tree per service, nothing doubled, nothing orphaned. Processes are
 * never looked up by name.
 */
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { writeFile, rename } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { systemClock } from "../clock.js";
import { UserError } from "../errors.js";
import { startTime } from "../platform/process.js";
import { groupAlive, signalGroup, untilGroupGone } from "./stop.js";

export interface GroupRecord {
  service: string;
  /** The group leader's pid, also the process group id. */
  pid: number;
  /** The leader's start time (clock ticks since boot); null where /proc is missing. */
  startTime: number | null;
}

interface StateContent {
  daemon: number;
  groups: GroupRecord[];
}

export class StateFile {
  readonly path: string;
  private readonly dir: string;
  private writing: Promise<void> | null = null;
  private pending: (() => GroupRecord[]) | null = null;
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
  }

  /** Only a folder that is ours and closed to others is trusted. */
  private trusted(): boolean {
    const st = lstatSync(this.dir);
    return st.isDirectory() && st.uid === (process.getuid?.() ?? st.uid) && (st.mode & 0o077) === 0;
  }

  /** The groups a previous daemon left, or none. */
  read(): GroupRecord[] {
    if (!this.trusted()) throw new UserError(`${this.dir}: not a private folder of this user; refusing to trust its state file`);
    try {
      const content = JSON.parse(readFileSync(this.path, "utf8")) as StateContent;
      return Array.isArray(content.groups) ? content.groups.filter((g) => Number.isSafeInteger(g.pid) && g.pid > 1) : [];
    } catch {
      return [];
    }
  }

  /**
   * Saves the current groups, atomically (write, then rename) and off the hot
   * path: a burst of changes costs one write, and a restart never waits on it.
   */
  save(groups: () => GroupRecord[]): void {
    if (this.cleared) return;
    this.pending = groups;
    this.writing ??= this.flush().finally(() => (this.writing = null));
  }

  private async flush(): Promise<void> {
    while (this.pending && !this.cleared) {
      const groups = this.pending();
      this.pending = null;
      const tmp = `${this.path}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify({ daemon: process.pid, groups } satisfies StateContent));
        await rename(tmp, this.path);
      } catch {
        // A lost write only weakens recovery after a crash; the services run on.
      }
    }
  }

  /** Nothing is left to recover after a clean shutdown: no write may land after this. */
  async clear(): Promise<void> {
    this.cleared = true;
    await this.writing;
    rmSync(this.path, { force: true });
    rmSync(`${this.path}.tmp`, { force: true });
  }
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
  groups: GroupRecord[],
  stopOf: (service: string) => { signal: NodeJS.Signals; timeoutMs: number },
  log: Logger,
): Promise<void> {
  await Promise.all(
    groups.filter(stillOurs).map(async (g) => {
      const { signal, timeoutMs } = stopOf(g.service);
      log.warn({ service: g.service, pid: g.pid }, "stopping a process group left by a previous daemon");
      signalGroup(g.pid, signal);
      if (await untilGroupGone(g.pid, systemClock.mono() + timeoutMs)) return;
      signalGroup(g.pid, "SIGKILL");
      await untilGroupGone(g.pid, systemClock.mono() + 1000);
    }),
  );
}
