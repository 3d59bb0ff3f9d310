/** examples/: the Python sensor and the TypeScript subscriber, supervised together as services.yaml wires them. */
import { join } from "node:path";
import { execa, execaSync } from "execa";
import { describe, expect, it } from "vitest";
import { BIN, daemonPerTest, ROOT, state } from "./helpers/daemon.js";

const hasPython = execaSync("python3", ["-c", ""], { reject: false }).exitCode === 0;

const daemons = daemonPerTest();

describe.skipIf(!hasPython)("the end-to-end example", () => {
  it("the subscriber reports the sensor started by the flag and stopped cleanly", async () => {
    const d = await daemons.start(`services:
  sensor:
    command: python3
    args: [${join(ROOT, "examples/sensor.py")}]
    env: { SENSOR_HZ: "50" }
  subscriber:
    command: node
    args: [${join(ROOT, "examples/build/subscriber.js")}]
    nowait: true
`);
    const follower = execa("node", [BIN, "logs", "subscriber", "-f", "--control", d.control], { reject: false });
    let out = "";
    follower.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    try {
      // Its opening snapshot: from here on it misses nothing.
      await expect.poll(() => out, { interval: 10 }).toMatch(/subscriber: now sensor=waiting subscriber=running/);
      await d.flag();
      await expect.poll(() => out, { interval: 10 }).toMatch(/sensor: starting -> running \(spawned\)/);
      // Its first reading comes after its SIGTERM handler is in place.
      await expect.poll(async () => (await d.cli("logs", "sensor", "-n", "1000")).stdout, { interval: 50 }).toMatch(/"n": 1,/);

      expect((await d.cli("stop", "sensor")).exitCode).toBe(0);
      await expect.poll(() => out, { interval: 10 }).toMatch(/sensor: stopping -> stopped/);
      // The sensor answered SIGTERM by closing: exit code 0, not death by signal.
      expect(state(await d.rec.snapshot((s) => state(s, "sensor")?.state === "stopped", "sensor stopped"), "sensor")).toMatchObject({ exit_code: 0, signal: null });
      const sensorLog = await d.cli("logs", "sensor", "-n", "100");
      expect(sensorLog.stdout).toMatch(/out \| \{"n": 1, "time": [\d.]+, "speed": [\d.]+\}/);
      expect(sensorLog.stdout).toMatch(/out \| sensor: SIGTERM, device closed/);
    } finally {
      follower.kill("SIGINT");
      await follower;
    }
  });

  it("the sensor is ready after its first reading, and its watchdog restarts it when it hangs", async () => {
    const d = await daemons.start(`settings: { interval: 50ms }
services:
  sensor:
    command: python3
    args: [${join(ROOT, "examples/sensor.py")}]
    env: { SENSOR_HZ: "50", SENSOR_HANG_AFTER: "3" }
    ready: { fd: 3 }
    watchdog: 300ms
    restart_delay: 10ms
    # Hung, it blocks SIGTERM: the stop after the test need not wait the default 5 s for it.
    stop_timeout: 100ms
`);
    await d.flag();
    const ready = await d.rec.event("sensor", "running");
    expect(ready.data).toMatchObject({ from: "starting", reason: "ready: READY=1" });
    await d.rec.snapshot((s) => /^reading \d+: [\d.]+ m\/s$/.test(state(s, "sensor")?.status_text ?? ""), "the sensor's STATUS=");
    const hung = await d.rec.event("sensor", "backoff", d.rec.messages.indexOf(ready));
    expect(hung.data).toMatchObject({ pid: ready.data.pid, cause: "watchdog", signal: "SIGKILL" });
    const log = await d.cli("logs", "sensor", "-n", "100");
    expect(log.stdout).toMatch(/out \| sensor: hanging \(SENSOR_HANG_AFTER\)/);
    await d.rec.event("sensor", "running", d.rec.messages.indexOf(hung));
  });
});
