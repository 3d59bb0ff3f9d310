import { describe, expect, it } from "vitest";
import { parseDuration, parseSize } from "../../src/manifest/index.js";

describe("parseDuration", () => {
  it.each([
    [0, 0],
    [250, 250],
    ["500ms", 500],
    ["5s", 5000],
    ["1.5s", 1500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["0ms", 0],
    ["10 s", 10_000],
  ])("%j is %d ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([-1, 1.5, Number.NaN, Infinity, "5", "5 seconds", "-5s", "1d", "s", ".5s", "5S", "", null, true, [5], { s: 5 }])(
    "rejects %j",
    (input) => {
      expect(parseDuration(input)).toBeNull();
    },
  );

  it("rounds to whole milliseconds", () => {
    expect(parseDuration("1.5ms")).toBe(2);
  });

  it("rejects values beyond safe integers", () => {
    expect(parseDuration("9999999999999999h")).toBeNull();
  });

  it("goes up to the longest timer Node keeps, 2^31-1 ms, and no further", () => {
    expect(parseDuration(2 ** 31 - 1)).toBe(2 ** 31 - 1);
    expect(parseDuration("596h")).toBe(596 * 3_600_000);
    expect(parseDuration(2 ** 31)).toBeNull();
    expect(parseDuration("600h")).toBeNull();
    expect(parseDuration("2147483.648s")).toBeNull();
  });
});

describe("parseSize", () => {
  it.each([
    [0, 0],
    [4096, 4096],
    ["100B", 100],
    ["1k", 1024],
    ["1K", 1024],
    ["512KiB", 512 * 1024],
    ["1kB", 1000],
    ["1M", 1024 ** 2],
    ["10MiB", 10 * 1024 ** 2],
    ["10MB", 10_000_000],
    ["1.5GiB", 1.5 * 1024 ** 3],
    ["2GB", 2_000_000_000],
    ["10 MiB", 10 * 1024 ** 2],
  ])("%j is %d bytes", (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each([-1, 0.5, "10", "10 potatoes", "10mb", "10Mib", "MiB", "-1MiB", null, false])("rejects %j", (input) => {
    expect(parseSize(input)).toBeNull();
  });

  it("goes up to the largest exact number of bytes", () => {
    expect(parseSize(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseSize("8388607GiB")).toBe(8388607 * 1024 ** 3);
    expect(parseSize("99999999999999999999GB")).toBeNull();
  });
});
