/** When the daemon's logger writes: after the turn that logged, all of the turn's lines at once. */
import { openSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { tempDir } from "../helpers/daemon.js";

// The real write(2), counted: what is asserted is how many there are and when.
const writes = vi.hoisted(() => [] as string[]);
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const write = (fd: number, buf: Buffer, ...rest: unknown[]) => {
    writes.push(buf.toString());
    return (fs.write as (...a: unknown[]) => void)(fd, buf, ...rest);
  };
  return { ...fs, write, default: { ...fs, write } };
});
const { createLogger } = await import("../../src/log.js");

describe("createLogger", () => {
  it("writes nothing in the turn that logs (a line on the way to a restart costs its spawn no write), then the turn's lines in one write", async () => {
    const log = createLogger({ fd: openSync(join(tempDir(), "log"), "a"), pretty: false });
    log.info("one");
    log.info("two");
    log.info("three");
    expect(writes).toEqual([]);
    await vi.waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0]!.match(/"msg":"(one|two|three)"/g)).toEqual(['"msg":"one"', '"msg":"two"', '"msg":"three"']);
  });
});
