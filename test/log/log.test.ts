/** The daemon's logger on a real pipe whose reader goes away and comes back. */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { constants, existsSync, openSync, readFileSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { isAlive, ROOT, tempDir } from "../helpers/daemon.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

describe("createLogger", () => {
  it("drops lines past its backlog while nobody reads, and says how many once read again", async () => {
    const fifo = join(tempDir(), "log");
    execFileSync("mkfifo", [fifo]);
    // The read end first: a non-blocking open of the write end needs a reader.
    const reader = new Socket({ fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    reader.pause();
    const log = createLogger({ fd: openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK), backlogBytes: 64 * 1024, pretty: false });

    const total = 5000; // ~750 KB: the pipe, the reader's buffer and the backlog hold a fraction of it
    for (let i = 0; i < total; i++) log.info(`line ${i} ${"x".repeat(100)}`);

    let text = "";
    const warning = await new Promise<string>((resolve) => {
      reader.setEncoding("utf8").on("data", (chunk: string) => {
        text += chunk;
        const m = /"msg":"(\d+) log lines dropped[^"]*"/.exec(text);
        if (m) resolve(m[0]);
      });
      reader.resume();
    });
    reader.destroy();
    const dropped = Number(/(\d+) log lines/.exec(warning)![1]);
    const written = text.split("\n").filter((l) => l.includes('"msg":"line ')).length;
    expect(dropped).toBeGreaterThan(0);
    expect(written).toBeGreaterThan(0);
    // Every line was either written or counted.
    expect(written + dropped).toBe(total);
  });

  it("lets the process end while nobody reads its output", async () => {
    // The child's stdout is a socket; nothing here ever reads it.
    const child = logInChild("");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  }, 20_000);

  it.runIf(existsSync("/usr/bin/script"))("lets the process end while the terminal it writes to takes nothing", async () => {
    // `script` gives the child a terminal and copies what it shows to a pipe that nothing here reads: the terminal
    // fills, as a paused one (Ctrl-S) does. A write blocked in the thread pool would keep the child alive.
    const pidFile = join(tempDir(), "pid");
    const body = childScript(`import("node:fs").then((fs) => fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)));`);
    const term = spawn("script", ["-qec", `node --input-type=module -e '${body.replaceAll("'", "'\\''")}'`, "/dev/null"], { stdio: ["ignore", "pipe", "ignore"] });
    term.stdout.pause();
    children.push(term);
    const pid = await until(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) || null : null));
    await until(() => !isAlive(pid) || null);
  }, 20_000);

  it("does not end the process before a reader that came back has all it held", async () => {
    // Once the reader has taken nothing for stallMs, the child leaves its event loop to its stdin; it asks for the
    // reader only then, and lets the loop go on the reader's answer.
    const child = logInChild(`
      setTimeout(() => process.stderr.write("stalled\\n"), 1000);
      process.stdin.once("data", () => process.stdin.destroy());
    `);
    let err = "";
    await new Promise<void>((resolve) => child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c).includes("stalled") && resolve()));
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c)).resume();
    child.stdin.write("go\n");
    const [code] = await once(child, "exit");
    expect(err).toBe("stalled\n");
    expect(code).toBe(0);
    expect(out.split("\n").filter((l) => l.includes('"msg":"line ')).length).toBe(TOTAL);
  }, 20_000);
});

/** ~750 KB of lines: within the backlog, and more than twice what a socket or pipe holds. */
const TOTAL = 5000;

/** Resolves with what `test` returns once it is not null, tried every 10 ms. */
async function until<T>(test: () => T | null): Promise<T> {
  for (;;) {
    const v = test();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Logs TOTAL lines to stdout, then runs `then`. */
function childScript(then: string): string {
  const log = JSON.stringify(pathToFileURL(join(ROOT, "dist/log.js")).href);
  return `
    const { createLogger } = await import(${log});
    const log = createLogger({ pretty: false, stallMs: 500 });
    for (let i = 0; i < ${TOTAL}; i++) log.info("line " + i + " " + "x".repeat(100));
    ${then}
  `;
}

/**
 * A node process that logs TOTAL lines to its stdout (not read until the test
 * says), then runs `then` and comes to its natural end: the built code, as the
 * daemon runs it.
 */
function logInChild(then: string) {
  const child = spawn("node", ["--input-type=module", "-e", childScript(then)], { stdio: ["pipe", "pipe", "pipe"] });
  child.stdout.pause();
  children.push(child);
  return child;
}
