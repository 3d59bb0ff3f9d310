/**
 * The driver's view (CONTRACT.md section 9): what reaches the person driving
 * when a service dies. Wired to the Supervisor's change notices, it keeps
 * the history of exits, runs the on_failure hooks and the Termux alerts,
 * and, as each status snapshot goes out, publishes a flip of the health and
 * updates the ongoing notification. The rules are pure (supervisor/health.ts);
 * this only carries them out.
 *
 * An exit costs the restart path nothing it did not cost before: what it
 * records is done on the next turn of the loop (when the last of its stderr
 * has been read, too), into memory; the file is written on the status tick.
 * Only a service with a hook, or a critical one under `notify`, forks.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import type { Settings, ServiceSpec } from "./manifest/spec.js";
import type { Health, HealthMessage, HistoryEntry, Phase } from "./bus/protocol.js";
import { FailureHooks } from "./runner/hooks.js";
import { openServiceLog, serviceLogPath } from "./runner/output.js";
import { TermuxNotifier } from "./platform/termux-notify.js";
import { ExitHistory } from "./stats/history.js";
import { healthOf, healthReason, isFailure, isUp, type Gated } from "./supervisor/health.js";
import type { Change } from "./supervisor/machine.js";
import type { Cause } from "./supervisor/policy.js";
import type { ChangeNotice, Supervisor } from "./supervisor/supervisor.js";
import type { Exit } from "./runner/exit.js";
import { endsRun } from "./supervisor/states.js";

export interface DriverViewOptions {
  supervisor: Supervisor;
  /** The current manifest's settings: a reload replaces them. */
  settings(): Settings;
  /** The daemon's phase: nothing should run while it is `stopping`. */
  phase(): Phase;
  logDir: string;
  log: Logger;
  clock: Clock;
  /** What services are spawned with: hooks get the same. */
  shell: string;
  env: NodeJS.ProcessEnv;
  /** Where the history is kept (stats/history.ts historyPath). */
  historyFile: string;
  /** The shell command the notification's Stop button runs. */
  stopAction: string;
  /** Sends a message on the status topic. */
  publish(topic: "health", body: Omit<HealthMessage, "seq" | "time">): void;
}

export class DriverView {
  private readonly history: ExitHistory;
  private readonly hooks: FailureHooks;
  /** Set with `settings.notify: termux`, as the daemon started: a reload does not change it. */
  private readonly notifier: TermuxNotifier | null;
  /** When each service's current process was spawned (monotonic), for the uptime of its exit, and its first stderr line's mark. */
  private readonly runs = new Map<string, { at: number; stderrMark: number }>();
  /** The `ok` last published; the daemon starts with nothing missing. */
  private ok = true;

  constructor(private readonly o: DriverViewOptions) {
    this.history = new ExitHistory(o.historyFile);
    this.history.retain(new Set([...o.supervisor.views()].map((v) => v.spec.name)));
    const { logMaxSizeBytes, logKeep } = o.settings();
    this.hooks = new FailureHooks({
      shell: o.shell,
      env: o.env,
      log: o.log,
      clock: o.clock,
      // Beside the services' logs, in a folder no service name can take.
      output: (name) =>
        openServiceLog({
          dir: join(o.logDir, "on_failure"),
          name,
          maxSizeBytes: logMaxSizeBytes,
          keep: logKeep,
          onError: (err) => o.log.error({ service: name, err }, "cannot write the on_failure log; its output is dropped"),
        }),
    });
    this.notifier = o.settings().notify === "termux" ? new TermuxNotifier({ env: o.env, log: o.log, clock: o.clock, stopAction: o.stopAction }) : null;
    o.supervisor.on("spawned", ({ service }) =>
      this.runs.set(service, { at: o.clock.mono(), stderrMark: o.supervisor.stderrOf(service)?.count ?? 0 }),
    );
    o.supervisor.on("change", (n) => this.onChange(n));
  }

  /** Every supervised service, and whether it should run now. */
  private gated(): Gated[] {
    const stopping = this.o.phase() === "stopping";
    return [...this.o.supervisor.views()].map((view) => ({ view, shouldRun: !stopping && this.o.supervisor.gateOpen(view) }));
  }

  /** `daemon.health` now. */
  health(): Health {
    return healthOf(this.gated());
  }

  /** The exits of a supervised service, newest first; undefined for any other name. */
  exits(name: string): HistoryEntry[] | undefined {
    return this.o.supervisor.get(name) === undefined ? undefined : this.history.of(name);
  }

  /**
   * Called with the health of each status snapshot as it goes out: a flip
   * of `ok` is published first, so that it comes before the snapshot that
   * shows it; the ongoing notification follows.
   */
  observe(health: Health): void {
    if (health.ok !== this.ok) {
      this.ok = health.ok;
      this.o.publish("health", { ok: health.ok, down: health.down, reason: healthReason(health, this.o.supervisor.views()) });
    }
    if (this.notifier === null) return;
    const gated = this.gated().filter((g) => g.shouldRun);
    this.notifier.show({ running: gated.filter((g) => isUp(g.view)).length, total: gated.length, down: health.down });
  }

  /** On the status tick: the history goes to its file, if it changed. */
  persist(): void {
    void this.history.persist();
  }

  private onChange({ name, change, exit, cause }: ChangeNotice): void {
    const ended = endsRun(change.from, change.to);
    const failed = isFailure(change, cause);
    if (!ended && !failed) return;
    const view = this.o.supervisor.get(name)!;
    const time = this.o.clock.wall();
    const run = this.runs.get(name);
    const uptime = run === undefined ? null : this.o.clock.mono() - run.at;
    if (ended) this.runs.delete(name);
    const shouldRun = failed && this.o.phase() !== "stopping" && this.o.supervisor.gateOpen(view);
    // After the effects of this change (a restart's spawn goes first), and once the stderr the
    // process wrote before it ended, which may come in after the exit, has been read.
    setImmediate(() => {
      if (ended) {
        const entry: HistoryEntry = {
          time,
          cause,
          uptime_ms: uptime,
          exit_code: exit?.code ?? null,
          signal: exit?.signal ?? null,
          // A spawn that failed left no output.
          stderr_tail: run === undefined ? [] : (this.o.supervisor.stderrOf(name)?.lines(run.stderrMark) ?? []),
          state: change.to,
          reason: change.reason,
        };
        this.history.record(name, entry);
      }
      if (failed) this.onFailure(view.spec, change, exit, cause, shouldRun);
    });
  }

  private onFailure(spec: ServiceSpec, change: Change, exit: Exit | null, cause: Cause | null, shouldRun: boolean): void {
    const command = spec.onFailure ?? this.o.settings().onFailure;
    if (command !== null) {
      void this.hooks.run(spec, command, { cause, state: change.to, exit, logPath: serviceLogPath(this.o.logDir, spec.name) });
    }
    if (spec.critical && shouldRun) this.notifier?.alert({ service: spec.name, text: cause === null ? change.reason : `${change.reason} (${cause})` });
  }

  /** At shutdown, once the services are down: the last exits recorded and written, hooks ended, the notification removed. */
  async close(): Promise<void> {
    // The exits of the stops just done are recorded on the turn after them.
    await new Promise((r) => setImmediate(r));
    await Promise.all([this.history.persist(), this.hooks.close(), this.notifier?.close()]);
  }
}
