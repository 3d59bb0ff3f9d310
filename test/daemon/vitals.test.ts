/** Vitals on the status topic: per-service CPU and memory, and the device topic. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaemon, state, type RunningDaemon } from "../helpers/daemon.js";

let d: RunningDaemon;
beforeAll(async () => {
  d = await startDaemon(`
settings: { interval: 100ms }
services:
  busy: { command: 'while :; do :; done', nowait: true }
  idle: { command: exec sleep 1000, nowait: true }
  waits: { command: exec sleep 1000 }
`);
});
afterAll(() => d.stop());

describe("vitals", () => {
  it("shows a busy loop well above an idle sleep, memory for both, null for what does not run", async () => {
    const snap = await d.rec.snapshot(
      (s) => (state(s, "busy")?.cpu_percent ?? 0) > 20 && state(s, "idle")?.cpu_percent !== null,
      "busy above 20% with idle measured",
    );
    expect(state(snap, "idle")!.cpu_percent).toBeLessThan(5);
    expect(state(snap, "busy")!.rss_bytes).toBeGreaterThan(0);
    expect(state(snap, "idle")!.rss_bytes).toBeGreaterThan(0);
    expect(state(snap, "busy")!.uptime_ms).toBeGreaterThanOrEqual(0);
    expect(state(snap, "waits")).toMatchObject({ cpu_percent: null, rss_bytes: null, uptime_ms: null });
  });

  it("publishes device vitals every interval, null where unreadable", async () => {
    const m = (await d.rec.waitFor(
      (m): m is { topic: "device"; data: { seq: number } } => m.topic === "device",
      "a device message",
    )) as { data: Record<string, unknown> };
    expect(Object.keys(m.data).sort()).toEqual(
      ["seq", "time", "cpu_percent", "memory_percent", "disk_free_percent", "battery_percent", "temperatures_c"].sort(),
    );
    for (const k of ["memory_percent", "disk_free_percent"]) {
      expect(m.data[k]).toBeGreaterThanOrEqual(0);
      expect(m.data[k]).toBeLessThanOrEqual(100);
    }
    expect(typeof m.data.temperatures_c).toBe("object");
  });
});
