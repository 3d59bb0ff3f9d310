/** Reading the kernel's page size without a child process. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { pageSize, pageSizeFrom } from "../../src/platform/process.js";

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
