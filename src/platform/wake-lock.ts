/**
 * `settings.wake_lock: while_flag`: Termux's wake lock held while the green
 * flag is up, so that Android does not doze the stack mid-drive. Termux has
 * one lock for the whole app: `termux-wake-lock` takes it, and
 * `termux-wake-unlock` lets it go, whoever took it.
 *
 * The commands are spawned fire and forget, but one at a time: a change
 * while one runs is carried out after it, so that a flag raised and lowered
 * at once cannot leave the lock taken by the later-finishing command. Only
 * the last wish counts. A missing command is said once, and the lock is
 * left alone from then on.
 */
import { spawn } from "node:child_process";
import type { Logger } from "pino";

const COMMAND = { lock: "termux-wake-lock", unlock: "termux-wake-unlock" } as const;

/** How long a shutdown waits for the release to be carried out (termux-wake-unlock takes well under a second). */
const RELEASE_WAIT_MS = 2000;

export class WakeLock {
  /** What the last command that ran asked of Termux. */
  private held = false;
  private wanted = false;
  private running = false;
  private missing = false;
  private settled: (() => void)[] = [];

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Logger,
  ) {}

  /** Takes or lets go of the lock, now or after the command under way. */
  set(wanted: boolean): void {
    this.wanted = wanted;
    this.next();
  }

  /** At shutdown: lets go of the lock; resolves once that is done, or after RELEASE_WAIT_MS. */
  release(): Promise<void> {
    this.set(false);
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, RELEASE_WAIT_MS);
      timer.unref();
      this.settled.push(() => (clearTimeout(timer), resolve()));
    });
  }

  private idle(): boolean {
    return !this.running && (this.missing || this.held === this.wanted);
  }

  private next(): void {
    if (this.idle()) {
      for (const resolve of this.settled.splice(0)) resolve();
      return;
    }
    if (this.running) return;
    const wanted = this.wanted;
    const command = wanted ? COMMAND.lock : COMMAND.unlock;
    this.running = true;
    let finished = false;
    // A failed spawn may report both an error and an exit.
    const done = () => {
      if (finished) return;
      finished = true;
      this.running = false;
      this.next();
    };
    // Its own process group: a Ctrl-C meant for the daemon must not cut the release short.
    const child = spawn(command, [], { env: this.env, stdio: "ignore", detached: true });
    child.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") {
        this.missing = true;
        this.log.warn(`wake_lock: ${command} not found (pkg install termux-api, or termux-tools); the wake lock is left alone`);
      } else {
        this.log.warn(`wake_lock: cannot run ${command}: ${e.message}`);
        this.held = wanted;
      }
      done();
    });
    child.once("exit", (code, signal) => {
      if (finished) return;
      if (code !== 0) this.log.warn(`wake_lock: ${command} ended with ${code ?? signal}`);
      else this.log.info(wanted ? "wake lock taken" : "wake lock released");
      this.held = wanted;
      done();
    });
  }
}
