/** Reading /proc/PID/stat, and the kernel's page size, without a child process. */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pageSize, pageSizeFrom, readStat } from "../../src/platform/process.js";
import { tempDir } from "../helpers/daemon.js";

/** A /proc of one process whose stat is `line`. */
function fakeProc(line: string): string {
  const dir = tempDir();
  mkdirSync(join(dir, "1234"));
  writeFileSync(join(dir, "1234", "stat"), line);
  return dir;
}

// Fields 3 to 24, then the rest of a real line: state, ppid 1, pgrp 1234, ..., utime 7, stime 3, cutime 2,
// cstime 1, priority -21, nice -20 (a real-time process), ..., starttime 5555, vsize, rss 42.
const FIELDS = "S 1 1234 1234 0 -1 4194560 100 0 0 0 7 3 2 1 -21 -20 1 0 5555 1000000 42";
const TAIL = " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

describe("readStat", () => {
  it("takes the fields after the command name, whatever spaces and parentheses the name holds", () => {
    const proc = fakeProc(`1234 (a b) (c)) ${FIELDS}${TAIL}`);
    expect(readStat(1234, proc)).toEqual({ state: "S", ppid: 1, pgrp: 1234, ticks: 13, starttime: 5555, rssPages: 42 });
  });

  it("tells a zombie", () => {
    expect(readStat(1234, fakeProc(`1234 (sh) Z${FIELDS.slice(1)}${TAIL}`))?.state).toBe("Z");
  });

  it("is null for a line cut short, and for no such process", () => {
    expect(readStat(1234, fakeProc(`1234 (sh) ${FIELDS.slice(0, FIELDS.lastIndexOf(" "))}`))).toBeNull();
    expect(readStat(1234, fakeProc(""))).toBeNull();
    expect(readStat(99, fakeProc(`1234 (sh) ${FIELDS}${TAIL}`))).toBeNull();
  });
});

describe.runIf(process.platform === "linux" || process.platform === "android")("readStat of a live process", () => {
  it("agrees with the fields of its stat line", () => {
    const f = execFileSync("cat", [`/proc/${process.pid}/stat`], { encoding: "latin1" }).split(") ")[1]!.split(" ");
    const st = readStat(process.pid);
    expect(st).toMatchObject({ ppid: Number(f[1]), pgrp: Number(f[2]), starttime: Number(f[19]) });
    expect(st!.ticks).toBeGreaterThanOrEqual(Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
  });
});

describe("pageSizeFrom", () => {
  it("takes the known page size nearest to bytes per page", () => {
    expect(pageSizeFrom(1000 * 4096, 1000)).toBe(4096);
    expect(pageSizeFrom(1000 * 16384, 1000)).toBe(16384);
    expect(pageSizeFrom(1000 * 65536, 1000)).toBe(65536);
  });

  it("is not thrown off by pages touched between the two readings", () => {
    expect(pageSizeFrom(1000 * 16384 + 37 * 16384, 1000)).toBe(16384);
    expect(pageSizeFrom(3000 * 4096, 3100)).toBe(4096);
  });

  it("falls back to 4096 with nothing to go on", () => {
    expect(pageSizeFrom(0, 0)).toBe(4096);
    expect(pageSizeFrom(123456, 0)).toBe(4096);
  });
});

describe.runIf(process.platform === "linux" || process.platform === "android")("pageSize", () => {
  it("agrees with getconf", () => {
    expect(pageSize()).toBe(Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim()));
  });
});
