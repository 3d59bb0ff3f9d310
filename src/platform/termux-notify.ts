/**
 * `settings.notify: termux` (CONTRACT.md section 9): one ongoing Android
 * notification through Termux:API's `termux-notification` ("11 of 12
 * running", a Stop button), and an alert when a critical service fails.
 *
 * Each update is a process (termux-notification talks to the Termux:API app
 * through an `am` broadcast), so updates are rationed: at most one command
 * runs at a time; the ongoing notification is posted at most once per
 * THROTTLE_MS, a second after the first change since the last post, and
 * only if it then differs from what is shown, so a service that restarts
 * within that second costs nothing; an alert goes out at once (behind the
 * command running, if any), and alerts that meet there go out as one.
 * Without termux-notification the daemon says so once and goes on.
 */
import { spawn } from "node:child_process";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";

/** The ongoing notification's id, which `termux-notification-remove` takes. */
export const NOTIFICATION_ID = "flowinit";
/** The alert's id: a new alert replaces the last one rather than piling up. */
export const ALERT_ID = "flowinit-alert";
/** Least time between two posts of the ongoing notification. */
export const THROTTLE_MS = 1000;
/** A Termux:API command still running after this is killed (one hangs when the Termux:API app is missing). */
export const COMMAND_TIMEOUT_MS = 5000;

/** What the ongoing notification says. */
export interface Summary {
  /** Services up, of those that should run now. */
  running: number;
  total: number;
  /** `daemon.health.down`. */
  down: string[];
}

/** A critical service that failed. */
export interface Alert {
  service: string;
  /** What happened: the event's reason and cause. */
  text: string;
}

/** termux-notification's arguments for the ongoing notification; `stopAction` is the shell command the Stop button runs. */
export function ongoingArgs(s: Summary, stopAction: string): string[] {
  const content = `${s.running} of ${s.total} running${s.down.length > 0 ? `; down: ${s.down.join(", ")}` : ""}`;
  return [
    "--id", NOTIFICATION_ID,
    "--ongoing",
    // An update must not sound again: only alerts do.
    "--alert-once",
    "--priority", "low",
    "--title", "flowinit",
    "--content", content,
    "--button1", "Stop",
    "--button1-action", stopAction,
  ];
}

/** termux-notification's arguments for an alert about these failures. */
export function alertArgs(alerts: readonly Alert[]): string[] {
  const names = [...new Set(alerts.map((a) => a.service))];
  const title = names.length === 1 ? `flowinit: ${names[0]} down` : `flowinit: ${names.join(", ")} down`;
  return [
    "--id", ALERT_ID,
    "--priority", "high",
    "--vibrate", "500,250,500",
    "--title", title,
    "--content", alerts.map((a) => `${a.service}: ${a.text}`).join("\n"),
  ];
}

export interface NotifierOptions {
  /** The environment the commands run in (their PATH finds them). */
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Monotonic readings, for the throttle. */
  clock: Clock;
  /** The shell command of the Stop button. */
  stopAction: string;
  /** Resolves after `ms`; injectable so that tests decide when the throttle's wait is over. Default an unref'd setTimeout. */
  delay?: (ms: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

type Outcome = { ok: true } | { ok: false; missing: boolean; message: string };

export class TermuxNotifier {
  /** The ongoing notification's arguments as last posted, joined; null before the first. */
  private posted: string | null = null;
  private postedAt = -Infinity;
  /** Arguments to post once the throttle lets it; null when what is shown is right. */
  private next: string[] | null = null;
  private alerts: Alert[] = [];
  private busy: Promise<void> | null = null;
  /** The throttle's wait is under way: the ongoing notification is posted when it is over. */
  private waiting = false;
  /** termux-notification is not installed: nothing more is tried. */
  private missing = false;
  /** A failure was logged; the next is not, until a command succeeds. */
  private failing = false;
  private closed = false;

  constructor(private readonly opts: NotifierOptions) {}

  /** The ongoing notification should say this; posted within THROTTLE_MS if it differs from what is shown. */
  show(s: Summary): void {
    if (this.missing || this.closed) return;
    const args = ongoingArgs(s, this.opts.stopAction);
    this.next = args.join("\0") === this.posted ? null : args;
    if (this.next === null || this.waiting) return;
    this.waiting = true;
    const wait = Math.max(THROTTLE_MS, this.postedAt + THROTTLE_MS - this.opts.clock.mono());
    void (this.opts.delay ?? sleep)(wait).then(() => {
      this.waiting = false;
      if (!this.closed) this.pump();
    });
  }

  /** Vibrates the phone with what failed, now. */
  alert(a: Alert): void {
    if (this.missing || this.closed) return;
    this.alerts.push(a);
    this.pump();
  }

  private pump(): void {
    if (this.busy !== null || this.missing) return;
    let args: string[];
    if (this.alerts.length > 0) {
      args = alertArgs(this.alerts.splice(0));
    } else if (this.next !== null && !this.waiting) {
      args = this.next;
      this.next = null;
      this.posted = args.join("\0");
      this.postedAt = this.opts.clock.mono();
    } else {
      return;
    }
    this.busy = this.exec("termux-notification", args).then(() => {
      this.busy = null;
      if (!this.closed) this.pump();
    });
  }

  private async exec(command: string, args: string[]): Promise<void> {
    const outcome = await runCommand(command, args, this.opts.env);
    if (outcome.ok) {
      this.failing = false;
    } else if (outcome.missing) {
      this.missing = true;
      this.opts.log.warn(
        `settings.notify: termux: ${command} not found; install termux-api (pkg install termux-api) and the Termux:API app. Going on without notifications`,
      );
    } else if (!this.failing) {
      this.failing = true;
      this.opts.log.warn(`settings.notify: termux: ${command} failed: ${outcome.message}; further failures are not logged until it works`);
    }
  }

  /** At a clean shutdown: nothing more is posted, and the ongoing notification goes. */
  async close(): Promise<void> {
    this.closed = true;
    await this.busy;
    if (this.posted !== null && !this.missing) await this.exec("termux-notification-remove", [NOTIFICATION_ID]);
  }
}

/** Runs a Termux:API command to its end, killed after COMMAND_TIMEOUT_MS; never rejects. */
function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve) => {
    let stderr = "";
    let timedOut = false;
    // Its own group, so that the timeout reaches what it started (termux-api runs `am` under it).
    const child = spawn(command, args, { env, stdio: ["ignore", "ignore", "pipe"], detached: true });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }, COMMAND_TIMEOUT_MS);
    timer.unref();
    child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      if (stderr.length < 1000) stderr += text;
    });
    child.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, missing: e.code === "ENOENT", message: e.code ?? e.message });
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true });
      const why = timedOut ? `no answer within ${COMMAND_TIMEOUT_MS}ms (is the Termux:API app installed?)` : signal ?? `exit code ${code}`;
      resolve({ ok: false, missing: false, message: stderr.trim() === "" ? why : `${why}: ${stderr.trim().split("\n")[0]}` });
    });
  });
}
