/**
 * Spawning one service: its own process group (detached), output piped to
 * the writable the supervisor owns, and three callbacks instead of promises
 * so that an exit reaches the supervisor with no await chain in between.
 */
import { existsSync } from "node:fs";
import { execa } from "execa";
import type { ServiceSpec } from "../manifest/spec.js";
import type { Exit } from "../supervisor/policy.js";
import type { ServiceLog } from "./output.js";

export interface SpawnHooks {
  /** The process exists (Node's `spawn` event). */
  onSpawn(pid: number): void;
  /** It could not be spawned: missing program, bad cwd. */
  onError(message: string): void;
  /** The group leader ended. Other members of its group may still live. */
  onExit(exit: Exit): void;
}

export interface ServiceChild {
  /** Also the process group id. Undefined when the spawn failed at once. */
  readonly pid: number | undefined;
  /** Set once the leader has ended. */
  exit: Exit | null;
  /** Resolves with the leader's exit. */
  readonly exited: Promise<Exit>;
  /** Resolves once the leader has ended and every process holding its output pipes has closed them. */
  readonly closed: Promise<void>;
}

export interface SpawnOptions {
  /** Shell for string commands (`/bin/sh`, or Termux's `$PREFIX/bin/sh`). */
  shell: string;
  /** The environment every service gets under its own `env`: the daemon's, and its endpoints. */
  env: NodeJS.ProcessEnv;
  /** Where stdout and stderr go; shared by every run of the service. */
  output: ServiceLog;
}

export function spawnService(spec: ServiceSpec, opts: SpawnOptions, hooks: SpawnHooks): ServiceChild {
  const shell = spec.args === null;
  const child = execa(spec.command, spec.args ?? [], {
    shell: shell ? opts.shell : false,
    cwd: spec.cwd,
    env: { ...opts.env, ...spec.env },
    extendEnv: false,
    // A new session and process group, so a stop reaches the whole tree.
    detached: true,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
    // The supervisor decides when children die, not execa.
    cleanup: false,
    forceKillAfterDelay: false,
    stripFinalNewline: false,
  });
  // execa's promise settles with a result object (reject: false); nothing to await here.
  void child.catch(() => undefined);

  let resolveExit!: (e: Exit) => void;
  const exited = new Promise<Exit>((r) => (resolveExit = r));
  const closed = new Promise<void>((r) => child.once("close", () => r()));
  const handle: ServiceChild = { pid: child.pid, exit: null, exited, closed };

  child.stdout?.pipe(opts.output.stream("out"), { end: false });
  child.stderr?.pipe(opts.output.stream("err"), { end: false });
  // A run's unfinished last line must not run into the next run's first.
  void closed.then(() => opts.output.flush());
  child.once("spawn", () => hooks.onSpawn(child.pid!));
  child.once("error", (e: NodeJS.ErrnoException) => {
    if (handle.pid !== undefined) return; // errors after a successful spawn (e.g. kill) are not spawn failures
    // Nothing ran, so nothing will exit: settle `exited` for a stop that may wait on it.
    handle.exit = { code: null, signal: null };
    resolveExit(handle.exit);
    hooks.onError(spawnErrorMessage(spec, e));
  });
  child.once("exit", (code, signal) => {
    const exit = { code, signal };
    handle.exit = exit;
    resolveExit(exit);
    hooks.onExit(exit);
  });
  return handle;
}

function spawnErrorMessage(spec: ServiceSpec, e: NodeJS.ErrnoException): string {
  // libuv reports a missing cwd as ENOENT of the program, which misleads.
  if (e.code === "ENOENT" && !existsSync(spec.cwd)) return `cwd ${spec.cwd} does not exist`;
  if (e.code === "ENOENT") return `${spec.command}: no such file or directory`;
  if (e.code === "EACCES") return `${spec.command}: permission denied`;
  return `${spec.command}: ${e.code ?? e.message}`;
}
