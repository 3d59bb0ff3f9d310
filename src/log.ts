/** The daemon's one pino logger: JSON lines, pretty on a terminal. */
import { constants, fstatSync, openSync, write } from "node:fs";
import { Writable } from "node:stream";
import { createRequire } from "node:module";
import { isatty } from "node:tty";
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
  /** Once the reader has taken nothing for this many ms, the lines held no longer keep the process from exiting. Default 2000. */
  stallMs?: number;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.silent ? "silent" : opts.verbose ? "debug" : "info";
  const base = { level, base: { pid: process.pid } };
  const fd = opts.fd ?? 1;
  let log: Logger | undefined;
  const dest = new LineWriter(nonBlocking(fd), opts.backlogBytes ?? 2 ** 20, opts.stallMs ?? 2000, (dropped) =>
    log?.warn(`${dropped} log lines dropped: the daemon's output was not read`),
  );
  if (opts.pretty ?? (fd === 1 && process.stdout.isTTY)) {
    // Loaded only for a terminal: it costs ~8 MiB that a daemon under runit never needs. Required, not
    // imported: the bundle runs as a script compiled with V8's code cache (bin/flowinit.js), and a
    // script's import() needs a loader that Node 20 before 20.12 does not give one.
    const pretty = createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty");
    // In-process: a transport would cost a worker thread.
    log = pino(base, pretty({ destination: dest, ignore: "pid,hostname", translateTime: "HH:MM:ss.l" }));
  } else {
    log = pino(base, dest);
  }
  return log;
}

/** Most bytes per write(2): a pipe takes 64 KiB. */
const WRITE_BYTES = 64 * 1024;
/** A write the reader did not take is tried again after this long. */
const RETRY_MS = 100;

/**
 * The daemon's lines on their way to its output. Written from libuv's thread
 * pool, never on the event loop: a reader that stalls (a paused terminal, a
 * stuck log collector) must not stall supervision, and a restart pays no
 * write(2). Nothing here may stop supervision or the exit either:
 *
 * - A write never blocks a pool thread (libuv joins them at exit, so one
 *   blocked write would keep a stopped daemon alive): see nonBlocking().
 * - A write that fails (EAGAIN from a full pipe, ENOSPC on a full disk or
 *   /dev/full, EIO) leaves its lines held and is tried again later; past
 *   the backlog new lines are dropped, and counted once all is written.
 * - Once the reader has gone for good (EPIPE) lines are thrown away.
 * - At exit nothing is written synchronously: the process waits for its
 *   lines while the reader takes some, and at most `stallMs` after it took
 *   the last or the exit began, whichever is later.
 */
class LineWriter extends Writable {
  private queue: string[] = [];
  /** Bytes queued, and in `pending`. */
  private held = 0;
  /** What the last write did not take: the next write starts with it. */
  private pending: Buffer | null = null;
  private writing = false;
  /** A pump is due after this turn. */
  private due = false;
  private retry: NodeJS.Timeout | null = null;
  private dropped = 0;
  private gone = false;
  /** When the reader last took something, or the exit began. */
  private lastTaken = performance.now();
  private exiting = false;

  constructor(
    private readonly fd: number,
    private readonly limit: number,
    private readonly stallMs: number,
    private readonly onBack: (dropped: number) => void,
  ) {
    // Lines are taken synchronously: the mark only keeps write() from ever returning false.
    super({ highWaterMark: Number.MAX_SAFE_INTEGER, decodeStrings: false });
    // Nothing is left to do but a retry that waits unreferenced: the reader has taken nothing for stallMs. It gets
    // stallMs more from now, so that one that came back just before the daemon stopped still gets what is held.
    process.on("beforeExit", () => {
      if (this.retry === null || this.exiting) return;
      this.exiting = true;
      this.lastTaken = performance.now();
      this.retry.ref();
    });
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.take(String(chunk));
    done();
  }

  private take(line: string): void {
    if (this.gone) return;
    const bytes = Buffer.byteLength(line);
    if (this.held + bytes > this.limit) {
      this.dropped++;
      return;
    }
    this.queue.push(line);
    this.held += bytes;
    // After this turn: a line logged on the way to a restart's spawn costs the spawn no write, and the
    // turn's lines go out in one.
    if (this.retry === null && !this.due) {
      this.due = true;
      setImmediate(() => {
        this.due = false;
        if (this.retry === null) this.pump();
      });
    }
  }

  private pump(): void {
    if (this.writing || this.held === 0) return;
    let buf = this.pending;
    if (buf === null) {
      let n = 0;
      let i = 0;
      while (i < this.queue.length && (i === 0 || n + this.queue[i]!.length <= WRITE_BYTES)) n += this.queue[i++]!.length;
      buf = Buffer.from(this.queue.splice(0, i).join(""));
    }
    this.writing = true;
    write(this.fd, buf, 0, buf.length, null, (err, n) => {
      this.writing = false;
      if (err) return this.failed(err, buf);
      this.lastTaken = performance.now();
      this.held -= n;
      this.pending = n < buf.length ? buf.subarray(n) : null;
      if (this.held === 0 && this.dropped > 0) {
        const dropped = this.dropped;
        this.dropped = 0;
        this.onBack(dropped);
      }
      this.pump();
    });
  }

  private failed(err: NodeJS.ErrnoException, buf: Buffer): void {
    if (err.code === "EPIPE" || err.code === "EBADF") {
      this.gone = true;
      this.queue = [];
      this.pending = null;
      this.held = 0;
      return;
    }
    this.pending = buf;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.pump();
    }, RETRY_MS);
    if (performance.now() - this.lastTaken >= this.stallMs) this.retry.unref();
  }
}

/**
 * `fd`, its writes made non-blocking. A pipe or terminal is opened again:
 * a file description of our own, so the flag reaches no one else sharing
 * it (Node leaves a terminal on stdout blocking, as it writes to a reopened
 * one). A socket cannot be reopened; on stdout, setting up process.stdout
 * makes it non-blocking (the CLI has done so already). Files and /dev/full
 * never block.
 */
function nonBlocking(fd: number): number {
  try {
    const st = fstatSync(fd);
    if (st.isFIFO() || isatty(fd)) return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    if (st.isSocket() && fd === 1) void process.stdout;
  } catch {
    /* no /proc: as it is */
  }
  return fd;
}
