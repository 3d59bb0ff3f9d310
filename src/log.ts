/** The daemon's one pino logger: JSON lines, pretty on a terminal. */
import { pino, type Logger } from "pino";

export interface LogOptions {
  /** Debug level instead of info. Default false. */
  verbose?: boolean;
  /** Human-readable output. Default: whether stdout is a terminal. */
  pretty?: boolean;
  /** Silence everything (library use, tests). Default false. */
  silent?: boolean;
}

export async function createLogger(opts: LogOptions = {}): Promise<Logger> {
  const level = opts.silent ? "silent" : opts.verbose ? "debug" : "info";
  const base = { level, base: { pid: process.pid } };
  if (opts.pretty ?? process.stdout.isTTY) {
    // Loaded only for a terminal: it costs ~8 MiB that a daemon under runit never needs.
    const { default: pretty } = await import("pino-pretty");
    // In-process and synchronous: a transport would cost a worker thread.
    return pino(base, pretty({ sync: true, ignore: "pid,hostname", translateTime: "HH:MM:ss.l" }));
  }
  return pino(base, pino.destination({ sync: true }));
}
