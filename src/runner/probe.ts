/**
 * A `ready: {exec}` probe: the command run through the shell, in the
 * service's folder and environment, every `period` until it first exits 0.
 * A run past `timeout` is killed with its process group and counts as a
 * failure. Probes exist only while a service is starting, so their timers
 * are the only ones a ready check has.
 */
import { spawn } from "node:child_process";
import type { ReadyCheck } from "../manifest/spec.js";
import { signalGroup } from "./stop.js";

export interface ProbeOptions {
  shell: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Starts probing at once; `onReady` is called on the first success. Returns a function that stops probing. */
export function startProbe(check: Extract<ReadyCheck, { kind: "exec" }>, opts: ProbeOptions, onReady: () => void): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let pid: number | undefined;
  const run = (): void => {
    timer = null;
    const child = spawn(check.command, { shell: opts.shell, cwd: opts.cwd, env: opts.env, detached: true, stdio: "ignore" });
    pid = child.pid;
    const deadline = setTimeout(() => pid !== undefined && signalGroup(pid, "SIGKILL"), check.timeoutMs);
    const done = (ok: boolean): void => {
      clearTimeout(deadline);
      pid = undefined;
      if (stopped) return;
      if (ok) onReady();
      else timer = setTimeout(run, check.periodMs);
    };
    // A probe that cannot be spawned fails like one that exits non-zero: the service may yet bring what it needs.
    child.once("error", () => done(false));
    child.once("exit", (code) => done(code === 0));
  };
  run();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    if (pid !== undefined) signalGroup(pid, "SIGKILL");
  };
}
