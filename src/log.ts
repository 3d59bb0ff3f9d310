/** The daemon's one pino logger: JSON lines, pretty on a terminal. */
import { pino, type Logger } from "pino";

export interface LogOptions {
  /** Debug level instead of info. Default false. */
  verbose?: boolean;
  /** Human-readable output. Default: whether stdout is a terminal. */
  pretty?: boolean;
  /** Silence everything (library use, tests). Default false. */
  silent?: boolean;
  /** Where the lines go. Default 1 (stdout). */
  fd?: number;
  /** Bytes of lines held while the reader does not keep up; past it lines are dropped, and counted. Default 1 MiB. */
  backlogBytes?: number;
}

export async function createLogger(opts: LogOptions = {}): Promise<Logger> {
  const level = opts.silent ? "silent" : opts.verbose ? "debug" : "info";
  const base = { level, base: { pid: process.pid } };
  const fd = opts.fd ?? 1;
  // Written from libuv's thread pool, never on the event loop: a reader that stalls (a paused
  // terminal, a stuck log collector) must not stall supervision, and a restart pays no write(2).
  const dest = pino.destination({ dest: fd, sync: false, maxLength: opts.backlogBytes ?? 2 ** 20 });
  let log: Logger;
  if (opts.pretty ?? (fd === 1 && process.stdout.isTTY)) {
    // Loaded only for a terminal: it costs ~8 MiB that a daemon under runit never needs.
    const { default: pretty } = await import("pino-pretty");
    // In-process: a transport would cost a worker thread.
    log = pino(base, pretty({ destination: dest, ignore: "pid,hostname", translateTime: "HH:MM:ss.l" }));
  } else {
    log = pino(base, dest);
  }
  let dropped = 0;
  dest.on("drop", () => dropped++);
  // Emitted once everything held has been written: the reader is back.
  dest.on("drain", () => {
    if (dropped === 0) return;
    log.warn(`${dropped} log lines dropped: the daemon's output was not read`);
    dropped = 0;
  });
  return log;
}
