/** Reading a service's log: its last lines, and following it across rotations. */
import { watch } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";

/** How far back to look for the last lines; a log line is short, and `-n` is small. */
const TAIL_WINDOW = 1024 * 1024;

/** The last `lines` lines of the file, and the offset where they end (where following starts). */
export async function lastLines(path: string, lines: number): Promise<{ text: string; end: number }> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - TAIL_WINDOW);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    const all = buf.toString("utf8").split("\n");
    if (all.at(-1) === "") all.pop();
    const kept = lines === 0 ? [] : all.slice(-lines);
    return { text: kept.length > 0 ? `${kept.join("\n")}\n` : "", end: size };
  } finally {
    await fh.close();
  }
}

/**
 * Writes what is appended to `path` from offset `from` on, until `signal`
 * aborts. When the file is rotated (a new inode under the name), the rest of
 * the old file is read first, then the new one from its start: nothing is
 * skipped and nothing repeated.
 */
export async function follow(path: string, from: number, write: (chunk: Buffer) => void, signal: AbortSignal): Promise<void> {
  // Opened at the first check; the file may not exist yet.
  let fh: FileHandle | null = null;
  let ino = -1;
  let pos = from;
  const drain = async (f: FileHandle) => {
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await f.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      write(buf.subarray(0, bytesRead));
    }
  };
  const check = async () => {
    if (fh) await drain(fh);
    const now = await stat(path).catch(() => null);
    if (now === null) return; // not there yet, or between a rotation's rename and the new file
    if (fh === null || now.ino !== ino) {
      const first = fh === null;
      await fh?.close();
      fh = await open(path, "r");
      ino = now.ino;
      if (!first) pos = 0;
    } else if (now.size < pos) {
      pos = 0; // truncated in place
    }
    await drain(fh);
  };
  // Checks run one at a time; events that come meanwhile fold into one more check. A check that
  // fails (the file renamed between stat and open) is retried at the next event.
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = check()
      .catch(() => undefined)
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          schedule();
        }
      });
  };
  const name = basename(path);
  const watcher = watch(dirname(path), (_event, file) => {
    if (file === null || file === name || file.startsWith(`${name}.`)) schedule();
  });
  schedule();
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    stopped = true;
    watcher.close();
    // A check may schedule one more as it ends: wait for the last, then close the file it reads.
    while (running) await running;
    // Assigned in the closures above, which the compiler does not follow.
    await (fh as FileHandle | null)?.close();
  }
}
