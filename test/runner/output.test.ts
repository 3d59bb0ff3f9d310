/** Service log files: stamped lines, split chunks, rotation without loss, and no backpressure. */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { openServiceLog, type ServiceLog, type ServiceLogOptions } from "../../src/runner/output.js";
import { tempDir } from "../helpers/daemon.js";

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (out|err|flowinit) \| (.*)$/;

function open(opts: Partial<ServiceLogOptions> = {}) {
  const errors: Error[] = [];
  const dir = join(tempDir(), "logs", "svc");
  const log = openServiceLog({ dir, name: "svc", maxSizeBytes: 0, keep: 3, onError: (e) => errors.push(e), ...opts });
  return { log, dir, errors };
}

/** [stream, text] of every line of a file. */
function lines(file: string): [string, string][] {
  const text = readFileSync(file, "utf8");
  // Empty right after a rotation.
  if (text === "") return [];
  expect(text.endsWith("\n")).toBe(true);
  return text
    .slice(0, -1)
    .split("\n")
    .map((l) => {
      const m = LINE.exec(l);
      if (!m) throw new Error(`not a log line: ${JSON.stringify(l)}`);
      return [m[1]!, m[2]!];
    });
}

/** Oldest first: svc.log.N ... svc.log.1, svc.log. */
function logFiles(dir: string): string[] {
  const rotated = readdirSync(dir)
    .map((f) => /^svc\.log\.(\d+)$/.exec(f)?.[1])
    .filter((n) => n !== undefined)
    .map(Number)
    .sort((a, b) => b - a)
    .map((n) => join(dir, `svc.log.${n}`));
  return [...rotated, join(dir, "svc.log")];
}

const write = (w: NodeJS.WritableStream, s: string | Buffer) => w.write(s);

describe("openServiceLog", () => {
  it("prefixes each line with the time and the stream", async () => {
    const { log, dir, errors } = open();
    expect(log.path).toBe(join(dir, "svc.log"));
    write(log.stream("out"), "hello\nworld\n");
    write(log.stream("err"), "oops\n");
    await log.close();
    expect(lines(log.path)).toEqual([
      ["out", "hello"],
      ["out", "world"],
      ["err", "oops"],
    ]);
    expect(errors).toEqual([]);
  });

  it("joins lines split across chunks, per stream, and writes an unterminated tail on close", async () => {
    const { log } = open();
    const out = log.stream("out");
    const err = log.stream("err");
    write(out, "hel");
    write(err, "warn");
    write(out, "lo\nwor");
    write(err, "ing\n");
    write(out, Buffer.from("ld\nlast"));
    await log.close();
    expect(lines(log.path)).toEqual([
      ["out", "hello"],
      ["err", "warning"],
      ["out", "world"],
      ["out", "last"],
    ]);
  });

  it("flush() ends the pending partial lines, e.g. when a child has exited", async () => {
    const { log } = open();
    write(log.stream("out"), "no newline");
    log.flush();
    write(log.stream("out"), "next run\n");
    await log.close();
    expect(lines(log.path)).toEqual([
      ["out", "no newline"],
      ["out", "next run"],
    ]);
  });

  it("takes output a byte at a time", async () => {
    const { log } = open();
    for (const c of "ab\n\ncd\n") write(log.stream("out"), c);
    await log.close();
    expect(lines(log.path)).toEqual([
      ["out", "ab"],
      ["out", ""],
      ["out", "cd"],
    ]);
  });

  it("cuts a line that never ends into 64 KiB pieces", async () => {
    const { log } = open();
    const piece = "x".repeat(1000);
    for (let i = 0; i < 150; i++) write(log.stream("out"), piece);
    write(log.stream("out"), "\n");
    await log.close();
    expect(lines(log.path).map(([, t]) => t.length)).toEqual([65536, 65536, 150_000 - 2 * 65536]);
  });

  it("keeps the last 20 complete stderr lines, whatever the chunks, and none of stdout", async () => {
    const { log } = open();
    const err = log.stream("err");
    expect(log.stderr.lines()).toEqual([]);
    write(err, "first\nsec");
    write(log.stream("out"), "not stderr\n");
    write(err, "ond\r\nthi");
    expect(log.stderr.lines()).toEqual(["first", "second"]);
    write(err, "rd\n");
    expect(log.stderr.lines()).toEqual(["first", "second", "third"]);
    write(err, Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join("") + "unfinished");
    expect(log.stderr.lines()).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i + 10}`));
    write(err, " now\nlast\n");
    expect(log.stderr.lines().slice(-3)).toEqual(["line 29", "unfinished now", "last"]);
    expect(log.stderr.lines()).toHaveLength(20);
    await log.close();
  });

  it("gives the stderr lines since a mark: those of one run", async () => {
    const { log } = open();
    const err = log.stream("err");
    write(err, "run 1\nrun 1 ends\n");
    const mark = log.stderr.count;
    expect(log.stderr.lines(mark)).toEqual([]);
    write(err, "run 2\n");
    expect(log.stderr.lines(mark)).toEqual(["run 2"]);
    for (let i = 0; i < 50; i++) write(err, `${i}\n`);
    expect(log.stderr.lines(mark)).toEqual(Array.from({ length: 20 }, (_, i) => `${i + 30}`));
    await log.close();
  });

  it("rotates by size without losing a line", async () => {
    const { log, dir, errors } = open({ maxSizeBytes: 2000, keep: 50 });
    const n = 500;
    for (let i = 0; i < n; i++) write(log.stream(i % 2 ? "err" : "out"), `line ${i}\n`);
    await log.close();
    const files = logFiles(dir);
    expect(files.length).toBeGreaterThan(5);
    const all = files.flatMap(lines).map(([, t]) => t);
    expect(all).toEqual(Array.from({ length: n }, (_, i) => `line ${i}`));
    expect(errors).toEqual([]);
  });

  it("keeps `keep` rotated files, the newest output in svc.log", async () => {
    const { log, dir } = open({ maxSizeBytes: 200, keep: 2 });
    for (let i = 0; i < 100; i++) write(log.stream("out"), `line ${i}\n`);
    await log.close();
    expect(readdirSync(dir).sort()).toEqual(["svc.log", "svc.log.1", "svc.log.2"]);
    const kept = logFiles(dir).flatMap(lines);
    expect(kept.at(-1)).toEqual(["out", "line 99"]);
  });

  it("keep 0 deletes a rotated file", async () => {
    const { log, dir } = open({ maxSizeBytes: 200, keep: 0 });
    for (let i = 0; i < 20; i++) write(log.stream("out"), `line ${i}\n`);
    await log.close();
    // The deletion runs beside the close.
    await expect.poll(() => readdirSync(dir), { interval: 10 }).toEqual(["svc.log"]);
  });

  it("drops what exceeds the backlog, counts it, and marks the gap", async () => {
    const { log } = open({ backlogBytes: 4096 });
    const n = 1000;
    const text = (i: number) => `line ${String(i).padStart(4, "0")} ${"y".repeat(88)}`;
    // All in one tick: the disk cannot keep up.
    for (let i = 0; i < n; i++) write(log.stream("out"), `${text(i)}\n`);
    await log.close();
    const got = lines(log.path);
    const marker = got.at(-1)!;
    expect(marker[0]).toBe("flowinit");
    const dropped = Number(/^\[flowinit: (\d+) bytes dropped\]$/.exec(marker[1])?.[1]);
    const kept = got.slice(0, -1).map(([, t]) => t);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => text(i)));
    expect(dropped).toBe((n - kept.length) * (text(0).length + 1));
  });

  it("reports an unwritable file once, then takes and drops output", async () => {
    const file = join(tempDir(), "not-a-dir");
    writeFileSync(file, "");
    const { log, errors } = open({ dir: file });
    write(log.stream("out"), "lost\n");
    await new Promise((r) => setTimeout(r, 50));
    write(log.stream("err"), "lost too\n");
    await log.close();
    expect(errors).toHaveLength(1);
  }, 20_000);

  it("never reports backpressure, whatever the chunk size", async () => {
    const { log } = open();
    expect(log.stream("out").write(Buffer.alloc(1024 * 1024, 97))).toBe(true);
    await log.close();
  });

  it("takes a child's fast output in full", async () => {
    const { log, errors } = open({ maxSizeBytes: 1024 * 1024, keep: 20 });
    const n = 50_000;
    const child = execa("node", ["-e", `process.stdout.write(Array.from({length: ${n}}, (_, i) => "line " + i + " " + "z".repeat(90) + "\\n").join(""))`], {
      buffer: false,
    });
    child.stdout.pipe(log.stream("out"), { end: false });
    await child;
    await log.close();
    const all = logFiles(log.path.slice(0, -"/svc.log".length)).flatMap(lines);
    expect(all.length).toBe(n);
    expect(all.at(-1)?.[1]).toMatch(new RegExp(`^line ${n - 1} z+$`));
    expect(errors).toEqual([]);
  });
});

describe("openServiceLog when its file fails", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const text = (i: number) => `line ${i}`;

  async function until(test: () => boolean): Promise<void> {
    while (!test()) await sleep(10);
  }

  /** Writes the lines from `from` on, one every 10 ms, at least one, until `done()`; the next line's number. */
  async function writeUntil(log: ServiceLog, from: number, done: () => boolean): Promise<number> {
    let i = from;
    do {
      write(log.stream("out"), `${text(i++)}\n`);
      await sleep(10);
    } while (!done());
    return i;
  }

  const marked = (file: string) => existsSync(file) && readFileSync(file, "utf8").includes(" bytes dropped]");

  /** The file holds the marker, then the last of the `n` lines in order; the marker counts the bytes of all the others. */
  function expectGap(file: string, n: number): void {
    const [marker, ...rest] = lines(file);
    expect(marker?.[0]).toBe("flowinit");
    const dropped = Number(/^\[flowinit: (\d+) bytes dropped\]$/.exec(marker![1])?.[1]);
    const first = n - rest.length;
    expect(first).toBeGreaterThan(0);
    expect(rest.map(([, t]) => t)).toEqual(Array.from({ length: rest.length }, (_, i) => text(first + i)));
    expect(dropped).toBe(Array.from({ length: first }, (_, i) => text(i).length + 1).reduce((a, b) => a + b));
  }

  it("a folder removed: made again, with what went to the file it removed counted", async () => {
    const { log, dir, errors } = open();
    await until(() => existsSync(log.path));
    rmSync(dir, { recursive: true });
    // The file, without a name now, takes writes until the log looks (at most once a second).
    let n = await writeUntil(log, 0, () => marked(log.path));
    n = await writeUntil(log, n, () => true);
    await log.close();
    expectGap(log.path, n);
    expect(errors).toEqual([]);
  }, 20_000);

  it("a folder replaced by a file: output dropped and counted until it can be made again, then the marker", async () => {
    const { log, dir, errors } = open();
    await until(() => existsSync(log.path));
    rmSync(dir, { recursive: true });
    writeFileSync(dir, "");
    let n = await writeUntil(log, 0, () => errors.length > 0);
    n = await writeUntil(log, n, () => true); // while broken
    rmSync(dir);
    n = await writeUntil(log, n, () => marked(log.path));
    n = await writeUntil(log, n, () => true);
    await log.close();
    expectGap(log.path, n);
    expect(errors).toHaveLength(1);
  }, 20_000);

  it("a full disk: output dropped and counted while it is full, then the marker once there is room", async (ctx) => {
    const mnt = tempDir();
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], { stdio: "pipe" });
    } catch (e) {
      ctx.skip(`cannot mount a small tmpfs to fill (needs root): ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
    }
    ctx.onTestFinished(() => void execFileSync("umount", ["-l", mnt]));
    const { log, errors } = open({ dir: join(mnt, "logs") });
    await until(() => existsSync(log.path));
    // Full, the log file empty: no write can take a byte, so none is half written.
    const filler = join(mnt, "filler");
    const fd = openSync(filler, "w");
    try {
      for (;;) writeSync(fd, Buffer.alloc(4096));
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe("ENOSPC");
    }
    closeSync(fd);
    let n = await writeUntil(log, 0, () => errors.length > 0);
    n = await writeUntil(log, n, () => true);
    rmSync(filler);
    n = await writeUntil(log, n, () => marked(log.path));
    n = await writeUntil(log, n, () => true);
    await log.close();
    expectGap(log.path, n);
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(["ENOSPC"]);
  }, 20_000);
});
