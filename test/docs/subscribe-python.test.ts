/** The Python subscriber of docs/subscribe.md, run as written against a live daemon, where pyzmq is installed. */
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { daemonPerTest } from "../helpers/daemon.js";
import { python, pythonSnippet } from "../helpers/python.js";

const daemons = daemonPerTest();

const title = python ? "docs/subscribe.md, Python" : "docs/subscribe.md, Python: skipped, no python3 with zmq here (apt-get install python3-zmq)";

describe.skipIf(python === undefined)(title, () => {
  it("prints snapshots and events as the doc says", async () => {
    const d = await daemons.start(`settings: { interval: 100ms }\nservices:\n  gated: { command: exec sleep 1000 }\n`);
    const code = pythonSnippet("subscribe.md", "## From Python");
    expect(code).toContain('"ipc://@flowinit/status"');
    const sub = execa(python!, ["-u", "-c", code.replace('"ipc://@flowinit/status"', JSON.stringify(d.status))], { reject: false });
    let out = "";
    sub.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    try {
      // A snapshot printed: the subscription is live.
      await expect.poll(() => out, { interval: 10 }).toContain("{'gated': 'waiting'}");
      await d.flag();
      await expect.poll(() => out, { interval: 10 }).toContain("gated waiting -> starting green flag");
      await expect.poll(() => out, { interval: 10 }).toContain("{'gated': 'running'}");
      expect(out).not.toMatch(/missed/);
    } finally {
      sub.kill("SIGKILL");
      await sub;
    }
  });
});
