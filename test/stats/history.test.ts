/** The history of exits: a ring of 10 per service, newest first, and its file across daemons. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { HistoryEntry } from "../../src/bus/protocol.js";
import { ExitHistory, HISTORY_LENGTH, historyPath, MAX_TAIL_LINE } from "../../src/stats/history.js";
import { tempDir } from "../helpers/daemon.js";

const exit = (time: number, over: Partial<HistoryEntry> = {}): HistoryEntry => ({
  time,
  cause: "crash",
  uptime_ms: 50,
  exit_code: 1,
  signal: null,
  stderr_tail: [],
  state: "backoff",
  reason: "exited with code 1; restarting in 100ms",
  ...over,
});

const fileIn = () => join(tempDir(), "abc.history.json");

describe("ExitHistory", () => {
  it("keeps the last 10 exits of each service, newest first", () => {
    const h = new ExitHistory(fileIn());
    for (let t = 1; t <= 12; t++) h.record("modeld", exit(t));
    h.record("plannerd", exit(100));
    expect(h.of("modeld").map((e) => e.time)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(h.of("modeld")).toHaveLength(HISTORY_LENGTH);
    expect(h.of("plannerd").map((e) => e.time)).toEqual([100]);
    expect(h.of("logger")).toEqual([]);
  });

  it("cuts a long stderr line short", () => {
    const h = new ExitHistory(fileIn());
    h.record("modeld", exit(1, { stderr_tail: ["x".repeat(70_000), "short"] }));
    expect(h.of("modeld")[0]!.stderr_tail).toEqual([`${"x".repeat(MAX_TAIL_LINE)}...`, "short"]);
  });

  it("writes its file only when persisted, and a new one reads it back", async () => {
    const file = fileIn();
    const h = new ExitHistory(file);
    h.record("modeld", exit(1, { cause: "killed", signal: "SIGKILL", exit_code: null, stderr_tail: ["oom"] }));
    expect(existsSync(file)).toBe(false);
    await h.persist();
    expect(new ExitHistory(file).of("modeld")).toEqual(h.of("modeld"));
    h.record("modeld", exit(2));
    await h.persist();
    expect(new ExitHistory(file).of("modeld").map((e) => e.time)).toEqual([2, 1]);
  });

  it("writes again only what changed since, and what changes during a write goes in the next", async () => {
    const file = fileIn();
    const h = new ExitHistory(file);
    await h.persist();
    expect(existsSync(file)).toBe(false);
    h.record("modeld", exit(1));
    const writing = h.persist();
    h.record("modeld", exit(2));
    await writing;
    expect(new ExitHistory(file).of("modeld").map((e) => e.time)).toEqual([2, 1]);
  });

  it("forgets the services it is told are gone", async () => {
    const file = fileIn();
    const h = new ExitHistory(file);
    h.record("modeld", exit(1));
    h.record("old", exit(1));
    h.retain(new Set(["modeld"]));
    expect(h.of("old")).toEqual([]);
    await h.persist();
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")))).toEqual(["modeld"]);
  });

  it.each([
    ["no file", null],
    ["a truncated file", '{"modeld":[{"time":1,"cau'],
    ["not an object", "[1,2]"],
  ])("starts empty from %s", (_, text) => {
    const file = fileIn();
    if (text !== null) writeFileSync(file, text);
    expect(new ExitHistory(file).of("modeld")).toEqual([]);
  });

  it("keeps what is valid of a tampered file: an entry without time or state goes, a bad field reads as empty", () => {
    const file = fileIn();
    const good = exit(5);
    writeFileSync(
      file,
      JSON.stringify({
        modeld: [good, { ...good, time: "soon" }, { ...good, state: "dancing" }, { ...good, time: 3, cause: "boom", signal: 9, stderr_tail: ["a", 2, "b"], uptime_ms: -1 }, "x"],
        plannerd: "nope",
      }),
    );
    expect(new ExitHistory(file).of("modeld")).toEqual([good, { ...good, time: 3, cause: null, signal: null, stderr_tail: ["a", "b"], uptime_ms: null }]);
    expect(new ExitHistory(file).of("plannerd")).toEqual([]);
  });
});

describe("historyPath", () => {
  it("lies beside the state file", () => {
    expect(historyPath("/run/flowinit-1000/0123abcd.json")).toBe("/run/flowinit-1000/0123abcd.history.json");
  });
});
