/** `flowinit logs` against a live daemon: last lines, and following across rotations. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { BIN, daemonPerTest, state } from "../helpers/daemon.js";

const daemons = daemonPerTest();

describe("flowinit logs", () => {
  it("prints the last lines of a service's log, each with its time and stream", async () => {
    const d = await daemons.start(`
services:
  talker: { command: 'for i in 1 2 3 4 5; do echo "line $i"; done; echo oops >&2; exec sleep 1000' }
`);
    await d.flag();
    await d.rec.snapshot((s) => state(s, "talker")?.state === "running", "talker running");
    // stdout and stderr are two pipes: wait until both have reached the log.
    const all = async () => (await d.cli("logs", "talker", "-n", "10")).stdout;
    await expect.poll(async () => (await all()).split("\n").length).toBe(6);
    const r = await d.cli("logs", "talker", "-n", "3");
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 2).map((l) => l.replace(/^\S+ /, ""))).toEqual(["out | line 4", "out | line 5"]);
    expect(lines[2]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z err \| oops$/);
    expect((await d.cli("logs", "nope")).stderr).toBe("flowinit: no service named nope");
  });

  it("follows a log across rotations without losing or repeating a line", async () => {
    const d = await daemons.start(`
settings: { log_max_size: 2048, log_keep: 50 }
services:
  chatty:
    command: 'echo ready; while [ ! -e "$DIR/go" ]; do sleep 0.01; done; i=0; while [ $i -lt 300 ]; do echo "line $i"; i=$((i+1)); [ $((i % 20)) -eq 0 ] && sleep 0.02; done; exec sleep 1000'
`);
    const follower = execa("node", [BIN, "logs", "chatty", "-f", "-n", "1000", "--control", d.control], { reject: false });
    let out = "";
    follower.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    await d.flag();
    // The follower has seen the first line: it is following. Only then does the service go on.
    await expect.poll(() => out.includes("out | ready"), { interval: 10 }).toBe(true);
    writeFileSync(join(d.dir, "go"), "");
    await expect.poll(() => out.includes("line 299"), { interval: 20 }).toBe(true);
    follower.kill("SIGINT");
    expect((await follower).exitCode).toBe(0);
    const got = out.trim().split("\n").map((l) => l.replace(/^\S+ out \| /, "")).slice(1);
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => `line ${i}`));
  });
});
