/** The daemon's logger on a real pipe whose reader goes away and comes back. */
import { execFileSync } from "node:child_process";
import { constants, openSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { tempDir } from "../helpers/daemon.js";

describe("createLogger", () => {
  it("drops lines past its backlog while nobody reads, and says how many once read again", async () => {
    const fifo = join(tempDir(), "log");
    execFileSync("mkfifo", [fifo]);
    // The read end first: a non-blocking open of the write end needs a reader.
    const reader = new Socket({ fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    reader.pause();
    const log = await createLogger({ fd: openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK), backlogBytes: 64 * 1024, pretty: false });

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
});
