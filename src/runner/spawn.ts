/**
 * Spawning one service: its own process group (detached), output piped to
 * the writable the supervisor owns, and three callbacks instead of promises
 * so that an exit reaches the supervisor with no await chain in between.
 *
 * Node's own `spawn`, not execa: here execa added ~1.5 ms of CPU and ~0.5 ms
 * of blocking to every spawn (its option normalization, streams and
 * promises), which a hundred services starting at once, or a restart, pay in
 * full; of what it offers the daemon uses nothing `spawn` lacks.
 * docs/performance.md has the figures.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { existsSync } from "node:fs";
import type { ServiceSpec } from "../manifest/spec.js";
import type { Exit } from "./exit.js";
import type { ServiceLog } from "./output.js";

export interface SpawnHooks {
  /** The process exists (Node's `spawn` event). */
  onSpawn(pid: number): void;
  /** It could not be spawned: missing program, bad cwd. */
  onError(message: string): void;
  /** The group leader ended. Other members of its group may still live. */
  onExit(exit: Exit): void;
  /** A line on the notify descriptor (`notifyFd` of the spec), without its newline. */
  onNotify?(line: string): void;
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
  /**
   * Stops reading its output and watching it, so that what still holds its
   * pipes (a process that left its group, one of another user's) does not
   * keep the daemon from exiting once its work is done.
   */
  release(): void;
}

export interface SpawnOptions {
  /** Shell for string commands (`/bin/sh`, or Termux's `$PREFIX/bin/sh`). */
  shell: string;
  /** The environment every service gets under its own `env`: the daemon's, and its endpoints. */
  env: NodeJS.ProcessEnv;
  /** Where stdout and stderr go; shared by every run of the service. */
  output: ServiceLog;
  /** The folder for openpilot's `wd_<pid>` heartbeat files, named in FLOWINIT_WATCHDOG_DIR; undefined: none. */
  watchdogDir?: string;
}

/** A notify line longer than this is cut: a service that writes no newline cannot fill memory. */
const MAX_NOTIFY_LINE = 4096;

export function spawnService(spec: ServiceSpec, opts: SpawnOptions, hooks: SpawnHooks): ServiceChild {
  let resolveExit!: (e: Exit) => void;
  const exited = new Promise<Exit>((r) => (resolveExit = r));
  const ended = (handle: ServiceChild, exit: Exit): Exit => {
    handle.exit = exit;
    resolveExit(exit);
    return exit;
  };
  // Nothing ran, so nothing will exit: `exited` settles for a stop that may wait on it.
  const failed = (handle: ServiceChild, e: NodeJS.ErrnoException): void => {
    ended(handle, { code: null, signal: null });
    hooks.onError(spawnErrorMessage(spec, e));
  };

  // FLOWINIT_SERVICE marks every process of the service, even one that leaves its group (runner/stop.ts).
  const env: NodeJS.ProcessEnv = { ...opts.env, ...spec.env, FLOWINIT_SERVICE: spec.name };
  const stdio: ("ignore" | "pipe")[] = ["ignore", "pipe", "pipe"];
  if (spec.notifyFd !== null) {
    env.FLOWINIT_NOTIFY_FD = String(spec.notifyFd);
    while (stdio.length < spec.notifyFd) stdio.push("ignore");
    stdio.push("pipe");
  }
  if (opts.watchdogDir !== undefined) env.FLOWINIT_WATCHDOG_DIR = opts.watchdogDir;
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args ?? [], {
      shell: spec.args === null ? opts.shell : false,
      cwd: spec.cwd,
      env,
      // A new session and process group, so a stop reaches the whole tree.
      detached: true,
      stdio,
    });
  } catch (e) {
    // Node throws the failures it does not foresee (a cwd that is a file: ENOTDIR) instead of
    // emitting them; they are reported as every other, once the caller holds the handle.
    const handle: ServiceChild = { pid: undefined, exit: null, exited, closed: Promise.resolve(), release: () => undefined };
    process.nextTick(() => failed(handle, e as NodeJS.ErrnoException));
    return handle;
  }

  const closed = new Promise<void>((r) => child.once("close", () => r()));
  // Node makes it a socket pair, readable on this side.
  const notify = spec.notifyFd === null ? null : (child.stdio[spec.notifyFd] as Readable);
  const release = () => {
    child.stdout?.destroy();
    child.stderr?.destroy();
    notify?.destroy();
    child.unref();
  };
  const handle: ServiceChild = { pid: child.pid, exit: null, exited, closed, release };
  child.stdout!.pipe(opts.output.stream("out"), { end: false });
  child.stderr!.pipe(opts.output.stream("err"), { end: false });
  // A run's unfinished last line must not run into the next run's first.
  void closed.then(() => opts.output.flush());
  if (notify !== null) readLines(notify, (line) => hooks.onNotify?.(line));
  child.once("spawn", () => hooks.onSpawn(child.pid!));
  child.once("error", (e: NodeJS.ErrnoException) => {
    // Errors after a successful spawn (a failed kill) are not spawn failures.
    if (handle.pid === undefined) failed(handle, e);
  });
  child.once("exit", (code, signal) => {
    hooks.onExit(ended(handle, { code, signal }));
  });
  return handle;
}

/** Calls `onLine` with each line of `stream`, without its newline; an unfinished last line is dropped with the stream. */
function readLines(stream: Readable, onLine: (line: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!.slice(0, MAX_NOTIFY_LINE);
    for (const line of lines) onLine(line.slice(0, MAX_NOTIFY_LINE));
  });
}

function spawnErrorMessage(spec: ServiceSpec, e: NodeJS.ErrnoException): string {
  // libuv reports a missing cwd as ENOENT of the program, which misleads.
  if (e.code === "ENOENT" && !existsSync(spec.cwd)) return `cwd ${spec.cwd} does not exist`;
  if (e.code === "ENOENT") return `${spec.command}: no such file or directory`;
  if (e.code === "ENOTDIR") return `cwd ${spec.cwd} is not a directory`;
  if (e.code === "EACCES") return `${spec.command}: permission denied`;
  return `${spec.command}: ${e.code ?? e.message}`;
}
