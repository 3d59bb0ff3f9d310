/** The PUSH snippet of docs/android-client.md (as FlowPilot's launcher sends the flag), run as written against a live daemon. */
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { daemonPerTest, freePort, state } from "../helpers/daemon.js";
import { python, pythonSnippet } from "../helpers/python.js";

const daemons = daemonPerTest();

const title = python ? "docs/android-client.md, the launcher's PUSH" : "docs/android-client.md, PUSH: skipped, no python3 with zmq here (apt-get install python3-zmq)";

describe.skipIf(python === undefined)(title, () => {
  it("raises the flag through flag_pull, as the doc says", async () => {
    const code = pythonSnippet("android-client.md", "## 4. FlowPilot's launcher");
    expect(code).toContain('"tcp://127.0.0.1:6004"');
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const d = await daemons.start(`settings:\n  flag_pull: ${endpoint}\n  insecure_tcp: true\nservices:\n  modeld: { command: exec sleep 1000 }\n`);
    const mark = d.rec.mark;
    const r = await execa(python!, ["-c", code.replace('"tcp://127.0.0.1:6004"', JSON.stringify(endpoint))], { reject: false, timeout: 20_000 });
    expect(r.exitCode).toBe(0);
    const s = await d.rec.snapshot((s) => state(s, "modeld")?.state === "running", "modeld running", mark);
    expect(s.daemon.flag).toBe(true);
  });
});
