import { describe, expect, it } from "vitest";
import { systemClock } from "../src/clock.js";

describe("systemClock", () => {
  it("reads whole milliseconds, so uptime_ms is an integer in the snapshot", () => {
    const readings = Array.from({ length: 100 }, () => [systemClock.wall(), systemClock.mono()]).flat();
    expect(readings.every(Number.isSafeInteger)).toBe(true);
  });
});
