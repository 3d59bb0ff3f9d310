import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { systemClock, type Clock } from "../../src/clock.js";
import { openServiceLog } from "../../src/runner/output.js";
import { Supervisor, type ServiceView } from "../../src/supervisor/supervisor.js";
import { tempDir } from "../helpers/daemon.js";
import { specOf } from "../helpers/specs.js";

const HOUR = 3_600_000;

const crasher = specOf(
  "crasher",
  // Far above any run of `exit 1`, however busy the machine, stable_after: only a leaping clock could reach it.
  { command: "sh", args: ["-c", "exit 1"], nowait: true, restart_delay: 1, restart_delay_max: 4, max_restarts: 3, stable_after: "60s" },
  tempDir(),
);

describe("Supervisor with a wall clock that leaps", () => {
  it("still makes a crash loop fatal after max_restarts: uptime is read on the monotonic clock", async () => {
    // As when a phone sets its clock from the network at boot: each reading an hour past the last.
    let wall = systemClock.wall();
    const clock: Clock = { wall: () => (wall += HOUR), mono: systemClock.mono };
    const logs = tempDir();
    const sup = new Supervisor([crasher], {
      shell: "/bin/sh",
      env: process.env,
      output: (spec) => openServiceLog({ dir: logs, name: spec.name, maxSizeBytes: 0, keep: 0, onError: () => {} }),
      log: pino({ level: "silent" }),
      clock,
      watchdogDir: join(logs, "wd"),
    });
    // Settles on fatal, or as soon as the service has restarted more often than allowed.
    const outcome = new Promise<ServiceView>((resolve) =>
      sup.on("change", ({ name }) => {
        const service = sup.get(name)!;
        if (service.status.state.name === "fatal" || service.status.restarts > crasher.maxRestarts) resolve(service);
      }),
    );
    sup.begin();
    const svc = await outcome;
    try {
      expect(svc.status.state).toMatchObject({ name: "fatal", reason: expect.stringMatching(/gave up after 3 restarts/) });
      expect(svc.status.restarts).toBe(crasher.maxRestarts);
      // `since` comes from the injected wall clock, hours ahead of the real one.
      expect(svc.status.since).toBeGreaterThan(systemClock.wall() + HOUR);
    } finally {
      await sup.stop(crasher.name, "test over");
      await sup.closeLogs();
    }
  });
});
