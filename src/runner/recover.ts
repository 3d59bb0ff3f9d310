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
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { writeFile, rename } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
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
  private writing = false;
  private pending: (() => GroupRecord[]) | null = null;

  constructor(dir: string, controlEndpoint: string) {
    mkdirSync(dir, { recursive: true });
    const id = createHash("sha256").update(controlEndpoint).digest("hex").slice(0, 16);
    this.path = join(dir, `flowinit-${id}.json`);
  }

  /** The groups a previous daemon left, or none. */
  read(): GroupRecord[] {
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
    this.pending = groups;
    if (!this.writing) void this.flush();
  }

  private async flush(): Promise<void> {
    this.writing = true;
    while (this.pending) {
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
    this.writing = false;
  }

  /** Nothing is left to recover after a clean shutdown. */
  clear(): void {
    this.pending = null;
    rmSync(this.path, { force: true });
  }
}

/**
 * Whether a recorded group is still the one we started. A live leader must
 * have the recorded start time; a dead leader whose group still has members
 * is ours too, since the kernel hands out no PID still used as a group id.
 */
export function stillOurs(g: GroupRecord): boolean {
  const now = startTime(g.pid);
  if (now !== null) return g.startTime === null || now === g.startTime;
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
      if (await untilGroupGone(g.pid, Date.now() + timeoutMs)) return;
      signalGroup(g.pid, "SIGKILL");
      await untilGroupGone(g.pid, Date.now() + 1000);
    }),
  );
}
