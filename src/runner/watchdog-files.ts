/**
 * openpilot's heartbeat files, as its common/watchdog.py writes them: a file
 * `wd_<pid>` holding an 8-byte little-endian nanosecond timestamp, rewritten
 * at most once a second. Each service with a watchdog has a folder of its
 * own (FLOWINIT_WATCHDOG_DIR), so whatever pid of its tree kicks, the file is
 * its. A heartbeat is a new value: the timestamp is never compared with the
 * daemon's clock, which a phone may set late.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export class WatchdogFolder {
  /** The last value seen in each file. */
  private seen = new Map<string, string>();

  constructor(readonly dir: string) {}

  /** Before a run: the folder exists, empty, so that files of an earlier run count for nothing. */
  reset(): void {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.seen.clear();
  }

  /** Whether any file holds a value not seen before: one readdir, and one read a file. */
  kicked(): boolean {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return false;
    }
    let kicked = false;
    for (const name of names) {
      if (!name.startsWith("wd_")) continue;
      let value: string;
      try {
        value = readFileSync(join(this.dir, name)).toString("hex");
      } catch {
        continue;
      }
      // A file caught half-written reads short: its next full value still counts.
      if (value.length !== 16 || this.seen.get(name) === value) continue;
      this.seen.set(name, value);
      kicked = true;
    }
    return kicked;
  }
}
