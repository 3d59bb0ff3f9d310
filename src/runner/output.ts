/**
 * A service's log file: each line of its stdout and stderr stamped with the
 * time and the stream (`2026-11-23T11:00:00.123Z out | text`), rotated by
 * size with rotating-file-stream (`<name>.log`, then `<name>.log.1` newest ...
 * `<name>.log.<keep>` oldest).
 *
 * A service must never wait for the disk: a child blocked on a full pipe
 * stops working. So the streams given to the child's pipes take every chunk
 * at once into a bounded backlog; past the bound output is dropped, counted,
 * and a `[flowinit: N bytes dropped]` line marks the gap once the disk has
 * caught up.
 */
import { unlink } from "node:fs";
import { basename, join } from "node:path";
import { Writable } from "node:stream";
import { createStream, type Options, type RotatingFileStream } from "rotating-file-stream";

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
  /** The log file cannot be written (the stream is then dead and later output is dropped). */
  onError(err: Error): void;
}

export interface ServiceLog {
  /** The current log file, for `flowinit logs`. */
  readonly path: string;
  /** A writable for one of the child's pipes; it never reports backpressure. The same one on every call. */
  stream(kind: StreamKind): Writable;
  /** Writes out the unterminated last line of each stream, e.g. once a child has ended. */
  flush(): void;
  /** Flushes, waits until everything accepted is on disk, and closes the file. */
  close(): Promise<void>;
}

const DEFAULT_BACKLOG_BYTES = 16 * 1024 * 1024;
/** A line longer than this is written in pieces, so a service that never writes a newline cannot fill memory. */
const MAX_LINE_BYTES = 64 * 1024;
/**
 * Most bytes per write to the file. A fast writer's pipe delivers up to 2 MiB
 * per turn of the event loop while a write completes once per turn, so small
 * writes fall behind. The library rotates only between writes, so a write is
 * also held to a quarter of the rotation size: that is how far a file may
 * exceed it.
 */
const WRITE_BYTES = 4 * 1024 * 1024;
const NEWLINE = Buffer.from("\n");

/** Where the log of service `name` is written, in log folder `dir`. */
export const serviceLogPath = (dir: string, name: string): string => join(dir, `${name}.log`);

export function openServiceLog(opts: ServiceLogOptions): ServiceLog {
  return new RotatingServiceLog(opts);
}

class RotatingServiceLog implements ServiceLog {
  readonly path: string;
  private readonly sink: RotatingFileStream;
  private readonly limit: number;
  private readonly writeBytes: number;
  private readonly streams = new Map<StreamKind, Writable>();
  /** Each stream's unterminated last line, in the pieces it came in: joining on every chunk would be quadratic. */
  private readonly partial = new Map<StreamKind, { parts: Buffer[]; bytes: number }>();
  /** Formatted output waiting for the disk; `head` is the next to write. */
  private queue: Buffer[] = [];
  private head = 0;
  /** Bytes accepted and not yet written, the one write in flight included. */
  private backlog = 0;
  private writing = false;
  private dropping = false;
  private droppedBytes = 0;
  private failed = false;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  constructor(private readonly opts: ServiceLogOptions) {
    this.path = serviceLogPath(opts.dir, opts.name);
    const file = basename(this.path);
    this.limit = opts.backlogBytes ?? DEFAULT_BACKLOG_BYTES;
    this.writeBytes = opts.maxSizeBytes > 0 ? Math.min(WRITE_BYTES, Math.ceil(opts.maxSizeBytes / 4)) : WRITE_BYTES;
    // The library rejects `keep: 0`; keeping one and deleting it gives the same files.
    const options: Options = { path: opts.dir, rotate: Math.max(1, opts.keep) };
    if (opts.maxSizeBytes > 0) options.size = `${opts.maxSizeBytes}B`;
    this.sink = createStream(file, options);
    if (opts.keep === 0) this.sink.on("rotated", (rotated) => unlink(rotated, () => undefined));
    this.sink.on("error", (err) => this.fail(err));
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
    const stamp = timestamp();
    const out: Buffer[] = [];
    let raw = 0;
    for (const [kind, open] of this.partial) {
      if (open.bytes === 0) continue;
      out.push(Buffer.from(prefix(stamp, kind)), ...open.parts, NEWLINE);
      raw += open.bytes;
      this.partial.set(kind, { parts: [], bytes: 0 });
    }
    if (out.length > 0) this.accept(Buffer.concat(out), raw);
  }

  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    this.flush();
    if (this.backlog > 0 && !this.failed) await new Promise<void>((r) => (this.drained = r));
    if (this.failed) return;
    // An error at the end reaches onError through the sink's error listener.
    await new Promise<void>((resolve) => this.sink.end(() => resolve()));
  }

  /** Splits a chunk into stamped lines; an unterminated tail waits for the next chunk. */
  private take(kind: StreamKind, chunk: Buffer): void {
    if (this.closing !== null || this.failed) return;
    const open = this.partial.get(kind) ?? { parts: [], bytes: 0 };
    // One stamp per chunk: its lines arrived together.
    const pre = Buffer.from(prefix(timestamp(), kind));
    const ends: number[] = [];
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, nl + 1)) ends.push(nl + 1);
    const done = ends.at(-1) ?? 0;
    const out: Buffer[] = [];
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
  }

  /** Queues formatted output, or drops it while the backlog is full; `raw` is the service's share of it. */
  private accept(buf: Buffer, raw: number): void {
    if (this.failed) return;
    if (this.dropping || this.backlog + buf.length > this.limit) {
      this.dropping = true;
      this.droppedBytes += raw;
      return;
    }
    this.enqueue(buf);
  }

  private enqueue(buf: Buffer): void {
    this.queue.push(buf);
    this.backlog += buf.length;
    this.pump();
  }

  /** One write in flight: what arrives meanwhile is joined into the next, larger write. */
  private pump(): void {
    if (this.writing || this.failed || this.head === this.queue.length) return;
    const parts: Buffer[] = [];
    let n = 0;
    while (n < this.writeBytes && this.head < this.queue.length) {
      const b = this.queue[this.head++]!;
      parts.push(b);
      n += b.length;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      // Written buffers are still referenced from the front of the queue.
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.writing = true;
    this.sink.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, n), (err) => {
      this.writing = false;
      if (err) return this.fail(err);
      this.backlog -= n;
      // Taking output again only once half has drained: resuming at the first free byte would cut
      // it into many small gaps, each with its own marker.
      if (this.dropping && this.backlog <= this.limit / 2) {
        this.dropping = false;
        this.enqueue(Buffer.from(`${prefix(timestamp(), "flowinit")}[flowinit: ${this.droppedBytes} bytes dropped]\n`));
        this.droppedBytes = 0;
      }
      if (this.backlog === 0) this.drained?.();
      this.pump();
    });
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.queue = [];
    this.head = 0;
    this.backlog = 0;
    this.opts.onError(err);
    this.drained?.();
  }
}

function timestamp(): string {
  return new Date().toISOString();
}

function prefix(stamp: string, source: string): string {
  return `${stamp} ${source} | `;
}
