/**
 * The Android app named by a green flag's `pid` (CONTRACT.md section 5):
 * listed among the services, `running` while that process lives, `exited`
 * after; never signalled. Node offers no pidfd, so its end is noticed by a
 * cheap /proc check on the status tick.
 */
import type { ServiceEntry } from "../bus/protocol.js";
import { sameProcess, startTime } from "../platform/process.js";
import type { Change } from "./machine.js";

export class ExternalApp {
  /** The process's start time (clock ticks since boot), which tells it from a later one of the same pid. */
  readonly startTime: number | null;
  state: "running" | "exited";
  /** Wall time (clock.ts): only people read it; it keeps no duration. */
  since: number;

  constructor(
    readonly name: string,
    readonly pid: number,
    wall: number,
  ) {
    this.startTime = startTime(pid);
    this.state = sameProcess(pid, this.startTime) ? "running" : "exited";
    this.since = wall;
  }

  /** The change to report if the process has ended since the last check; `wall` is its `since`. */
  check(wall: number): Change | null {
    if (this.state !== "running" || sameProcess(this.pid, this.startTime)) return null;
    this.state = "exited";
    this.since = wall;
    return { from: "running", to: "exited", reason: `process ${this.pid} ended` };
  }

  entry(): ServiceEntry & { external: true } {
    return {
      name: this.name,
      state: this.state,
      pid: this.pid,
      restarts: 0,
      exit_code: null,
      signal: null,
      cause: null,
      since: this.since,
      nowait: false,
      cpu_percent: null,
      rss_bytes: null,
      uptime_ms: null,
      reason: null,
      external: true,
    };
  }
}
