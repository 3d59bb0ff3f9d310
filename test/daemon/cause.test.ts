/** The cause of each exit, end to end: a real daemon, real children, a real kill -9 from outside. */
import { describe, expect, it } from "vitest";
import type { EventMessage } from "../../src/bus/protocol.js";
import { daemonPerTest, state, type Message } from "../helpers/daemon.js";

const daemons = daemonPerTest();

describe("cause", () => {
  it("tells a kill -9 from outside, a stop, a crash and a clean exit apart, in events and entries", async () => {
    const d = await daemons.start(`
services:
  victim: { command: exec sleep 1000 }
  stopped: { command: exec sleep 1000 }
  crasher: { command: exit 3, restart: never }
  clean: { command: exit 0, restart: never }
`);
    const mark = d.rec.mark;
    await d.flag();
    const up = await d.rec.event("victim", "running", mark);
    expect(up.data.cause).toBeNull();
    await d.rec.event("stopped", "running", mark);

    expect((await d.rec.event("crasher", "exited", mark)).data).toMatchObject({ exit_code: 3, cause: "crash" });
    expect((await d.rec.event("clean", "exited", mark)).data).toMatchObject({ exit_code: 0, cause: "exit" });

    const killedAt = d.rec.mark;
    process.kill(up.data.pid!, "SIGKILL");
    // backoff after a quick crash, starting after a stable run: either way it leaves running.
    const leaves = (m: Message): m is { topic: "event"; data: EventMessage } =>
      m.topic === "event" && (m.data as EventMessage).service === "victim" && (m.data as EventMessage).from === "running";
    const killed = await d.rec.waitFor(leaves, "victim leaves running", killedAt);
    expect(killed.data).toMatchObject({ signal: "SIGKILL", cause: "killed" });

    const stopAt = d.rec.mark;
    expect((await d.cli("stop", "stopped")).exitCode).toBe(0);
    expect((await d.rec.event("stopped", "stopped", stopAt)).data).toMatchObject({ signal: "SIGTERM", cause: "stop" });

    const snap = await d.rec.snapshot((s) => state(s, "stopped")?.state === "stopped", "stopped in a snapshot", stopAt);
    expect(Object.fromEntries(snap.services.map((s) => [s.name, s.cause]))).toEqual({
      victim: "killed",
      stopped: "stop",
      crasher: "crash",
      clean: "exit",
    });
  });
});
