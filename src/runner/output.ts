/**
 * A service's log file: each line of its stdout and stderr stamped with the
 * time and the stream (`2026-11-23T11:00:00.123Z out | text`), rotated by
 * size (`<name>.log`, then `<name>.log.1` newest ... `<name>.log.<keep>`
 * oldest).
 *
 * A service must never wait for the disk: a child blocked on a full pipe
 * stops working. So the streams given to the child's pipes take every chunk
 * at once into a bounded backlog; past the bound output is dropped, counted,
 * and a `[flowinit: N bytes dropped]` line marks the gap once the disk has
 * caught up.
 *
 * Nor does a failing disk end the log. A write that fails (ENOSPC, EIO, the
 * folder removed or replaced by a file) drops what was waiting, and output
 * is dropped and counted until the file, opened again every second (its
 * folder created again if missing), takes a write: the marker with the
 * count. A file whose folder was removed takes writes without complaint, so
 * before a write, at most once a second, the file is checked to still have
 * a name; one that lost it is opened afresh, and what went to it since the
 * last check is counted as dropped.
 */
import { close, fstat, mkdir, open, rename, unlink, write } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";

export type StreamKind = "out" | "err";

export interface ServiceLogOptions {
  /** Directory of the log files; created if missing. */
  dir: string;
  /** The service's name: the file is `<dir>/<name>.log`. */
  name: string;
  /** Rotate once the file has reached this many bytes; 0: never rotate. */
  maxSizeBytes: number;
  /** Rotated files kept; 0: a rotated file is deleted at once. */
  keep: number;
  /** Output waiting for the disk is held in memory up to this many bytes; more is dropped and counted. Default 16 MiB. */
  backlogBytes?: number;
  /** The log file cannot be written: called once an outage, which lasts until a write succeeds; meanwhile output is dropped and counted. */
  onError(err: Error): void;
}

export interface ServiceLog {
  /** The current log file, for `flowinit logs`. */
  readonly path: string;
  /** A writable for one of the child's pipes; it never reports backpressure. The same one on every call. */
  stream(kind: StreamKind): Writable;
  /** Writes out the unterminated last line of each stream, e.g. once a child has ended. */
  flush(): void;
  /**
   * Hands each complete line of output (both streams, without its newline)
   * to `fn` as it passes to the file, until called with null: readiness by
   * log line reads what the log already splits. Unwatched, a line costs nothing more.
   */
  watchLines(fn: ((line: string) => void) | null): void;
  /** The last complete lines of stderr, across runs: what an exit's history keeps. */
  readonly stderr: StderrView;
  /** Flushes, waits until everything accepted is on disk, and closes the file. */
  close(): Promise<void>;
}

/** Complete stderr lines a log keeps in memory for the history of exits. */
export const STDERR_TAIL_LINES = 20;

/**
 * The last STDERR_TAIL_LINES complete lines of a stream, kept as views into
 * the buffers already split for the file: nothing is copied or decoded
 * until asked.
 */
export class StderrTail {
  private kept: Buffer[] = [];
  private taken = 0;

  /** Complete lines taken so far: a mark, so that a run's exit asks only for the lines since its spawn. */
  get count(): number {
    return this.taken;
  }

  /** Takes one line, without its newline. */
  push(line: Buffer): void {
    this.kept.push(line);
    this.taken++;
    if (this.kept.length > 2 * STDERR_TAIL_LINES) this.kept = this.kept.slice(-STDERR_TAIL_LINES);
  }

  /** The last lines (up to STDERR_TAIL_LINES, oldest first) of those taken after the first `since`. */
  lines(since = 0): string[] {
    const n = Math.min(STDERR_TAIL_LINES, this.kept.length, Math.max(0, this.taken - since));
    return this.kept.slice(this.kept.length - n).map((line) => line.toString("utf8").replace(/\r$/, ""));
  }
}

/** What others read of a StderrTail. */
export type StderrView = Pick<StderrTail, "count" | "lines">;

const DEFAULT_BACKLOG_BYTES = 16 * 1024 * 1024;
/** A line longer than this is written in pieces, so a service that never writes a newline cannot fill memory. */
const MAX_LINE_BYTES = 64 * 1024;
/**
 * Most bytes per write to the file. A fast writer's pipe delivers up to 2 MiB
 * per turn of the event loop while a write completes once per turn, so small
 * writes fall behind. A file is rotated only between writes, so a write is
 * also held to a quarter of the rotation size: that is how far a file may
 * exceed it.
 */
const WRITE_BYTES = 4 * 1024 * 1024;
const NEWLINE = Buffer.from("\n");
/** How often a broken log tries its file again, and checks at most that the file it writes still has a name. */
const RETRY_MS = 1000;

const fsClose = promisify(close);
const fsFstat = promisify(fstat);
const fsMkdir = promisify(mkdir);
const fsOpen = promisify(open);
const fsRename = promisify(rename);
const fsUnlink = promisify(unlink);
const fsWrite = promisify(write);

/** Output waiting for the disk; `raw` is the service's bytes in it, or for a marker the count it reports: what is dropped if it is. */
interface Pending {
  buf: Buffer;
  raw: number;
}

/** Where the log of service `name` is written, in log folder `dir`. */
export const serviceLogPath = (dir: string, name: string): string => join(dir, `${name}.log`);

export function openServiceLog(opts: ServiceLogOptions): ServiceLog {
  return new RotatingServiceLog(opts);
}

class RotatingServiceLog implements ServiceLog {
  readonly path: string;
  private readonly limit: number;
  private readonly writeBytes: number;
  private readonly streams = new Map<StreamKind, Writable>();
  /** Each stream's unterminated last line, in the pieces it came in: joining on every chunk would be quadratic. */
  private readonly partial = new Map<StreamKind, { parts: Buffer[]; bytes: number }>();
  readonly stderr = new StderrTail();
  /** The open log file, and its size; null before the first open and while broken. */
  private fd: number | null = null;
  private size = 0;
  /** Output waiting for the disk; `head` is the next to write. */
  private queue: Pending[] = [];
  private head = 0;
  /** Bytes accepted and not yet written, the write in flight included. */
  private backlog = 0;
  private writing = false;
  /** The backlog overflowed: output is dropped until half of it has drained. */
  private dropping = false;
  /** A write failed: output is dropped until the retry. */
  private broken = false;
  private retry: NodeJS.Timeout | null = null;
  /** The current outage has been reported. */
  private reported = false;
  /** A write stopped part way: the file ends inside a line. */
  private torn = false;
  private droppedBytes = 0;
  /** When the file was last seen to have a name, and the service's bytes written to it since. */
  private checkedAt = 0;
  private unchecked = 0;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;
  private lineWatcher: ((line: string) => void) | null = null;

  constructor(private readonly opts: ServiceLogOptions) {
    this.path = serviceLogPath(opts.dir, opts.name);
    this.limit = opts.backlogBytes ?? DEFAULT_BACKLOG_BYTES;
    this.writeBytes = opts.maxSizeBytes > 0 ? Math.min(WRITE_BYTES, Math.ceil(opts.maxSizeBytes / 4)) : WRITE_BYTES;
    // Opened at once: `flowinit logs` finds the file of a service that has written nothing yet.
    void this.pump();
  }

  stream(kind: StreamKind): Writable {
    let w = this.streams.get(kind);
    if (w === undefined) {
      w = new Writable({
        // Chunks are taken synchronously, so nothing ever waits in this buffer; the mark only keeps a
        // large chunk from making write() return false, which would make pipe() pause the child's pipe.
        highWaterMark: Number.MAX_SAFE_INTEGER,
        write: (chunk: Buffer, _encoding, done) => {
          this.take(kind, chunk);
          done();
        },
      });
      this.streams.set(kind, w);
    }
    return w;
  }

  flush(): void {
    // Stamped only when there is a line to end: every stop flushes, and a process's first Date costs
    // milliseconds (its time zone is looked up), which a stop of services that printed nothing need not pay.
    let stamp: string | null = null;
    const out: Buffer[] = [];
    let raw = 0;
    for (const [kind, open] of this.partial) {
      if (open.bytes === 0) continue;
      stamp ??= timestamp();
      out.push(Buffer.from(prefix(stamp, kind)), ...open.parts, NEWLINE);
      raw += open.bytes;
      this.partial.set(kind, { parts: [], bytes: 0 });
    }
    if (out.length > 0) this.accept(Buffer.concat(out), raw);
  }

  watchLines(fn: ((line: string) => void) | null): void {
    this.lineWatcher = fn;
  }

  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    this.flush();
    if ((this.backlog > 0 || this.writing) && !this.broken) await new Promise<void>((r) => (this.drained = r));
    // A broken log is not tried again: what it dropped gets no marker.
    if (this.retry !== null) clearTimeout(this.retry);
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) await fsClose(fd).catch((err: Error) => this.opts.onError(err));
  }

  /** Splits a chunk into stamped lines; an unterminated tail waits for the next chunk. */
  private take(kind: StreamKind, chunk: Buffer): void {
    if (this.closing !== null) return;
    const open = this.partial.get(kind) ?? { parts: [], bytes: 0 };
    // One stamp per chunk: its lines arrived together.
    const pre = Buffer.from(prefix(timestamp(), kind));
    const ends: number[] = [];
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, nl + 1)) ends.push(nl + 1);
    const done = ends.at(-1) ?? 0;
    const out: Buffer[] = [];
    // Decoded before the pieces of an open line are let go; handed over once this chunk is queued.
    const lines = this.lineWatcher !== null && done > 0 ? linesOf(open.parts, chunk, ends) : null;
    if (done > 0) {
      // One allocation per chunk rather than a slice per line: a fast writer sends many short lines.
      const buf = Buffer.allocUnsafe(ends.length * pre.length + open.bytes + done);
      let at = 0;
      let from = 0;
      for (const end of ends) {
        buf.set(pre, at);
        at += pre.length;
        if (from === 0) {
          for (const p of open.parts) {
            buf.set(p, at);
            at += p.length;
          }
        }
        buf.set(chunk.subarray(from, end), at);
        at += end - from;
        from = end;
      }
      out.push(buf);
      if (kind === "err") this.keepTail(buf, ends, pre.length, open.bytes);
      open.parts = [];
      open.bytes = 0;
    }
    if (done < chunk.length) {
      // A copy: a slice would keep the whole chunk alive.
      open.parts.push(Buffer.from(chunk.subarray(done)));
      open.bytes += chunk.length - done;
      while (open.bytes >= MAX_LINE_BYTES) {
        const line = Buffer.concat(open.parts, open.bytes);
        out.push(pre, line.subarray(0, MAX_LINE_BYTES), NEWLINE);
        open.parts = open.bytes > MAX_LINE_BYTES ? [line.subarray(MAX_LINE_BYTES)] : [];
        open.bytes -= MAX_LINE_BYTES;
      }
    }
    this.partial.set(kind, open);
    if (out.length > 0) this.accept(out.length === 1 ? out[0]! : Buffer.concat(out), chunk.length);
    // The watcher may let go of itself (a ready check that passed) on any line.
    if (lines !== null) for (const line of lines) this.lineWatcher?.(line);
  }

  /**
   * Gives the stderr tail the last lines of `buf` (as `take` laid them out:
   * each line's prefix, then its text; the first line's text begins with the
   * `carried` bytes of the chunk before), without their newline.
   * Only the last STDERR_TAIL_LINES are looked at, however many the chunk held.
   */
  private keepTail(buf: Buffer, ends: number[], prefixBytes: number, carried: number): void {
    const first = Math.max(0, ends.length - STDERR_TAIL_LINES);
    for (let i = first; i < ends.length; i++) {
      const from = i === 0 ? 0 : ends[i - 1]!;
      // Before line i: i + 1 prefixes, the carried bytes, and the chunk up to `from`.
      const start = (i + 1) * prefixBytes + (i === 0 ? 0 : carried) + from;
      const text = (i === 0 ? carried : 0) + ends[i]! - from - 1;
      this.stderr.push(buf.subarray(start, start + text));
    }
  }

  /** Queues formatted output, or drops it while the backlog is full or the file broken; `raw` is the service's share of it. */
  private accept(buf: Buffer, raw: number): void {
    if (!this.broken && (this.dropping || this.backlog + buf.length > this.limit)) this.dropping = true;
    if (this.broken || this.dropping) {
      this.droppedBytes += raw;
      return;
    }
    this.enqueue({ buf, raw });
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    this.backlog += p.buf.length;
    void this.pump();
  }

  /** Queues the marker of what was dropped since the last one; dropped again, it counts again. */
  private mark(): void {
    if (this.droppedBytes === 0) return;
    const line = `${this.torn ? "\n" : ""}${prefix(timestamp(), "flowinit")}[flowinit: ${this.droppedBytes} bytes dropped]\n`;
    this.torn = false;
    this.enqueue({ buf: Buffer.from(line), raw: this.droppedBytes });
    this.droppedBytes = 0;
  }

  /**
   * One write in flight, from the thread pool: what arrives meanwhile is
   * joined into the next, larger write. Opens the file first if needed, and
   * rotates it between writes.
   */
  private async pump(): Promise<void> {
    if (this.writing || this.broken) return;
    this.writing = true;
    let inFlight = 0;
    try {
      await this.ready();
      while (this.head < this.queue.length) {
        const parts: Buffer[] = [];
        let n = 0;
        let raw = 0;
        while (n < this.writeBytes && this.head < this.queue.length) {
          const p = this.queue[this.head++]!;
          parts.push(p.buf);
          n += p.buf.length;
          raw += p.raw;
        }
        this.compact();
        inFlight = raw;
        await this.writeAll(parts.length === 1 ? parts[0]! : Buffer.concat(parts, n));
        inFlight = 0;
        this.reported = false;
        this.unchecked += raw;
        this.backlog -= n;
        // Taking output again only once half has drained: resuming at the first free byte would cut
        // it into many small gaps, each with its own marker.
        if (this.dropping && this.backlog <= this.limit / 2) {
          this.dropping = false;
          this.mark();
        }
        if (this.opts.maxSizeBytes > 0 && this.size >= this.opts.maxSizeBytes) await this.rotate();
        await this.ready();
      }
    } catch (err) {
      this.fail(err as Error, inFlight);
    }
    this.writing = false;
    if (this.backlog === 0 || this.broken) this.drained?.();
  }

  /** Written buffers are still referenced from the front of the queue. */
  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Opens the file if needed; at most once a second, opens it afresh if it has lost its name (its folder removed). */
  private async ready(): Promise<void> {
    if (this.fd !== null) {
      if (performance.now() - this.checkedAt < RETRY_MS) return;
      const { nlink } = await fsFstat(this.fd);
      this.checkedAt = performance.now();
      if (nlink > 0) {
        this.unchecked = 0;
        return;
      }
      // What went to the nameless file since the last check is lost; its marker goes before what waits.
      this.droppedBytes += this.unchecked;
      this.unchecked = 0;
      const fd = this.fd;
      this.fd = null;
      await fsClose(fd);
      this.markFirst();
    }
    await this.openFile();
    if (this.opts.maxSizeBytes > 0 && this.size >= this.opts.maxSizeBytes) await this.rotate();
  }

  private markFirst(): void {
    const rest = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    this.mark();
    this.queue.push(...rest);
  }

  private async openFile(): Promise<void> {
    let fd: number;
    try {
      fd = await fsOpen(this.path, "a");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      await fsMkdir(this.opts.dir, { recursive: true });
      fd = await fsOpen(this.path, "a");
    }
    this.fd = fd;
    this.size = (await fsFstat(fd)).size;
    this.checkedAt = performance.now();
    this.unchecked = 0;
  }

  private async writeAll(buf: Buffer): Promise<void> {
    for (let at = 0; at < buf.length; ) {
      try {
        const { bytesWritten } = await fsWrite(this.fd!, buf, at, buf.length - at, null);
        at += bytesWritten;
        this.size += bytesWritten;
      } catch (err) {
        this.torn ||= at > 0;
        throw err;
      }
    }
  }

  /** `<name>.log` becomes `.1`, `.1` becomes `.2` ... the oldest goes; keep 0 deletes it. */
  private async rotate(): Promise<void> {
    const fd = this.fd!;
    this.fd = null;
    await fsClose(fd);
    const gone = (err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    };
    if (this.opts.keep === 0) await fsUnlink(this.path).catch(gone);
    for (let i = this.opts.keep; i >= 1; i--) await fsRename(i === 1 ? this.path : `${this.path}.${i - 1}`, `${this.path}.${i}`).catch(gone);
    await this.openFile();
  }

  /** Drops what waits, and what was in flight (`inFlight`, the service's bytes of it); tries again in a second. */
  private fail(err: Error, inFlight: number): void {
    this.broken = true;
    this.dropping = false;
    let raw = inFlight;
    for (let i = this.head; i < this.queue.length; i++) raw += this.queue[i]!.raw;
    this.droppedBytes += raw;
    this.queue = [];
    this.head = 0;
    this.backlog = 0;
    if (this.fd !== null) close(this.fd, () => undefined);
    this.fd = null;
    if (!this.reported) this.opts.onError(err);
    this.reported = true;
    if (this.closing !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.broken = false;
      this.mark();
      void this.pump();
    }, RETRY_MS);
    // A broken log must not keep a stopping daemon alive.
    this.retry.unref();
  }
}

/** The complete lines of `chunk` (ending at `ends`), the first one joined to the open line's `parts`. */
function linesOf(parts: Buffer[], chunk: Buffer, ends: number[]): string[] {
  const lines: string[] = [];
  let from = 0;
  for (const end of ends) {
    const text = chunk.toString("utf8", from, end - 1);
    lines.push(from === 0 && parts.length > 0 ? Buffer.concat(parts).toString("utf8") + text : text);
    from = end;
  }
  return lines;
}

function timestamp(): string {
  return new Date().toISOString();
}

function prefix(stamp: string, source: string): string {
  return `${stamp} ${source} | `;
}
