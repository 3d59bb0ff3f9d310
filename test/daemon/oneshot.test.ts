/** oneshot and the depends_on conditions end to end: a real daemon, real children, the status topic. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { daemonPerTest } from "../helpers/daemon.js";

const daemons = daemonPerTest();

describe("oneshot", () => {
  it("runs a gated oneshot, then its dependent, at each green flag", async () => {
    // app runs only if prepare has run: started too early, it would crash.
    const d = await daemons.start(`
services:
  app: { command: 'test -e "$DIR/runs" && exec sleep 1000', depends_on: {prepare: completed} }
  prepare: { command: 'echo run >> "$DIR/runs"', oneshot: true }
`);
    /** prepare's exit, then app's start and run, after `mark`, in that order. */
    const chain = async (mark: number) => {
      const running = await d.rec.event("app", "running", mark);
      const exited = await d.rec.event("prepare", "exited", mark);
      const starting = await d.rec.event("app", "starting", mark);
      expect(exited.data).toMatchObject({ from: "running", cause: "exit", reason: "exited with code 0" });
      expect(starting.data.reason).toBe("prepare is exited");
      const at = (m: unknown) => d.rec.messages.indexOf(m as (typeof d.rec.messages)[number]);
      expect(at(exited)).toBeLessThan(at(starting));
      expect(at(starting)).toBeLessThan(at(running));
    };

    await d.flag();
    await chain(0);
    expect(readFileSync(join(d.dir, "runs"), "utf8")).toBe("run\n");

    const stopped = d.rec.mark;
    expect(await sendRaw(d.control, "stop_flag")).toBe("ACK");
    await d.rec.event("app", "waiting", stopped);
    expect((await d.rec.event("prepare", "waiting", stopped)).data).toMatchObject({ from: "exited", reason: "waiting for the green flag" });

    const again = d.rec.mark;
    expect(await sendRaw(d.control, "green_flag")).toBe("ACK");
    await chain(again);
    expect(readFileSync(join(d.dir, "runs"), "utf8")).toBe("run\nrun\n");
    expect(d.rec.messages.some((m) => m.topic === "event" && (m.data as { to: string }).to === "backoff")).toBe(false);
  });
});
