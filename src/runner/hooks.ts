/**
 * on_failure hooks (CONTRACT.md section 9): a shell command run when a
 * service fails, spawned as a nomonitor service is (its own process group,
 * the service's cwd and env, its output logged) and never waited on by
 * supervision. At most one run per service per HOOK_GAP_MS, so a crash loop
 * does not become a fork loop; whatever of a run is left after
 * HOOK_TIMEOUT_MS is killed. A hook that fails is logged once, until one of
 * that service succeeds again: it is a help, and nothing depends on it.
 */
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { ServiceSpec } from "../manifest/spec.js";
import type { Cause } from "../supervisor/policy.js";
import type { StateName } from "../supervisor/states.js";
import type { Exit } from "./exit.js";
import type { ServiceLog } from "./output.js";
import { spawnService, type ServiceChild } from "./spawn.js";
import { signalGroup } from "./stop.js";

/** Least time between two runs of one service's hook. */
export const HOOK_GAP_MS = 30_000;
/** A hook's process group is killed once it has run this long. */
export const HOOK_TIMEOUT_MS = 10_000;

/** Whether a hook may run at `now`, the last run of that service's having started at `last` (monotonic readings). */
export function hookDue(last: number | undefined, now: number): boolean {
  return last === undefined || now - last >= HOOK_GAP_MS;
}

/** What the hook is told, in its environment. */
export interface Failure {
  cause: Cause | null;
  /** The state the service went to. */
  state: StateName;
  exit: Exit | null;
  /** The service's log file. */
  logPath: string;
}

export interface HookOptions {
  /** Shell for the command. */
  shell: string;
  /** The environment under the service's own `env`, as services get it. */
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Monotonic readings for the rate limit. */
  clock: Clock;
  /** Opens the log of one service's hooks; called once per service, at its first hook. */
  output(service: string): ServiceLog;
  /** How long a hook may run before its process group is killed. Default HOOK_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** The variables a hook gets, over the service's environment; an unknown value is the empty string. */
export function hookEnv(f: Failure): Record<string, string> {
  const code = f.exit?.code ?? null;
  return {
    FLOWINIT_CAUSE: f.cause ?? "",
    FLOWINIT_STATE: f.state,
    FLOWINIT_EXIT_CODE: code === null ? "" : String(code),
    FLOWINIT_SIGNAL: f.exit?.signal ?? "",
    FLOWINIT_LOG: f.logPath,
  };
}

export class FailureHooks {
  /** When each service's hook last started. */
  private readonly lastRun = new Map<string, number>();
  /** Services whose last hook failed, and that failure logged. */
  private readonly failing = new Set<string>();
  private readonly logs = new Map<string, ServiceLog>();
  /** Hooks still running, with their kill timer. */
  private readonly running = new Map<ServiceChild, NodeJS.Timeout>();

  constructor(private readonly opts: HookOptions) {}

  /**
   * Runs `command` for a failure of `spec`, unless a hook of that service
   * started less than HOOK_GAP_MS ago. Resolves once the run has ended and
   * its output is in (for tests; nobody else waits); null when skipped.
   */
  run(spec: ServiceSpec, command: string, failure: Failure): Promise<void> | null {
    const log = this.opts.log.child({ service: spec.name, hook: "on_failure" });
    const now = this.opts.clock.mono();
    const last = this.lastRun.get(spec.name);
    if (!hookDue(last, now)) {
      log.debug(`on_failure skipped: the last one started ${now - last!}ms ago (at most one per ${HOOK_GAP_MS}ms)`);
      return null;
    }
    this.lastRun.set(spec.name, now);
    let output = this.logs.get(spec.name);
    if (output === undefined) {
      output = this.opts.output(spec.name);
      this.logs.set(spec.name, output);
    }
    const timeoutMs = this.opts.timeoutMs ?? HOOK_TIMEOUT_MS;
    let failed: string | null = null;
    let timedOut = false;
    const child = spawnService(
      { ...spec, command, args: null, env: { ...spec.env, ...hookEnv(failure) } },
      { shell: this.opts.shell, env: this.opts.env, output },
      {
        onSpawn: (pid) => log.debug({ pid, cause: failure.cause }, "on_failure started"),
        onError: (message) => (failed = `cannot spawn: ${message}`),
        onExit: (exit) => {
          if (timedOut) failed = `killed after ${timeoutMs}ms`;
          else if (exit.code !== 0) failed = exit.signal === null ? `exited with code ${exit.code}` : `killed by ${exit.signal}`;
        },
      },
    );
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
    }, timeoutMs);
    // A hook must not keep a stopping daemon alive; `close` ends what still runs.
    timer.unref();
    this.running.set(child, timer);
    return child.closed.then(() => {
      clearTimeout(timer);
      this.running.delete(child);
      this.report(spec.name, log, output, failed);
    });
  }

  private report(name: string, log: Logger, output: ServiceLog, failed: string | null): void {
    if (failed === null) {
      this.failing.delete(name);
      return;
    }
    if (this.failing.has(name)) return;
    this.failing.add(name);
    log.warn(`on_failure hook failed: ${failed} (its output: ${output.path}); further failures of it are not logged until it succeeds`);
  }

  /** At shutdown: kills what still runs and closes the hooks' logs. */
  async close(): Promise<void> {
    for (const [child, timer] of this.running) {
      clearTimeout(timer);
      if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
      child.release();
    }
    this.running.clear();
    await Promise.all([...this.logs.values()].map((l) => l.close()));
  }
}
