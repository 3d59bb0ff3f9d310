/** A service that writes as fast as it can neither stalls nor wedges the daemon. */
import { describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { daemonPerTest } from "../helpers/daemon.js";

const daemons = daemonPerTest();

describe("a service flooding its output", () => {
  it("writes 50 MB to the end while the control socket keeps answering", async () => {
    const d = await daemons.start(`
settings: { log_max_size: 4MiB, log_keep: 2 }
services:
  flood: { command: "head -c 50000000 /dev/zero | tr '\\\\0' x | fold -w 99", restart: never }
`);
    const mark = d.rec.mark;
    await d.flag();
    await d.rec.event("flood", "running", mark);
    let answered = 0;
    let exited = false;
    const done = d.rec.event("flood", "exited", mark, 60_000).then((e) => {
      exited = true;
      return e;
    });
    while (!exited) {
      expect(await sendRaw(d.control, "ping")).toBe("PONG");
      answered++;
    }
    expect((await done).data.exit_code).toBe(0);
    expect(answered).toBeGreaterThan(0);
  }, 70_000);
});
