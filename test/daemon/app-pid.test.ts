/** The Android app's PID (CONTRACT.md section 5): listed while it lives, never signalled. */
import { writeFileSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { daemonPerTest, isAlive, state } from "../helpers/daemon.js";

const daemons = daemonPerTest();

describe("green flag with the app's pid", () => {
  it("lists the app as an external service while its process lives, then exited", async () => {
    const d = await daemons.start(`settings: { interval: 100ms }\nservices:\n  gated: { command: exec sleep 1000 }\n`);
    const app = execa("sleep", ["1000"], { reject: false });
    const r = await d.cli("flag", "green", "--pid", String(app.pid));
    expect(r.exitCode).toBe(0);
    const snap = await d.rec.snapshot((s) => state(s, "app")?.state === "running", "app running");
    expect(state(snap, "app")).toMatchObject({ pid: app.pid, external: true });
    expect(state(snap, "gated")).toBeDefined();

    const mark = d.rec.mark;
    app.kill("SIGKILL");
    await app;
    const ev = await d.rec.event("app", "exited", mark);
    expect(ev.data.reason).toMatch(/ended/);
  });

  it("uses the request's name, refuses a name of the manifest, and never signals the app", async () => {
    const d = await daemons.start(`services:\n  gated: { command: exec sleep 1000 }\n`);
    const app = execa("sleep", ["1000"], { reject: false });
    const taken = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "green_flag", pid: app.pid, name: "gated" })));
    expect(taken.error.code).toBe("bad_request");
    expect(JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "green_flag", pid: app.pid, name: "ui" }))).ok).toBe(true);
    await d.rec.snapshot((s) => state(s, "ui")?.external === true, "ui listed");
    // Another app takes over: the one it replaces is reported gone, once.
    const other = execa("sleep", ["1000"], { reject: false });
    const mark = d.rec.mark;
    expect((await d.cli("flag", "green", "--pid", String(other.pid), "--name", "ui2")).exitCode).toBe(0);
    expect((await d.rec.event("ui", "exited", mark)).data.reason).toBe(`replaced by pid ${other.pid}`);
    const snap = await d.rec.snapshot((s) => state(s, "ui2")?.state === "running", "ui2 running", mark);
    expect(state(snap, "ui")).toBeUndefined();
    other.kill("SIGKILL");
    await d.cli("flag", "stop");
    d.proc.kill("SIGTERM");
    expect((await d.proc).exitCode).toBe(0);
    expect(isAlive(app.pid!)).toBe(true);
    app.kill("SIGKILL");
  });

  it("refuses a reload that gives a living app's name to a service, and allows it once the app has ended", async () => {
    const d = await daemons.start(`settings: { interval: 100ms }\nservices:\n  gated: { command: exec sleep 1000 }\n`);
    const app = execa("sleep", ["1000"], { reject: false });
    expect((await d.cli("flag", "green", "--pid", String(app.pid))).exitCode).toBe(0);
    await d.rec.snapshot((s) => state(s, "app")?.external === true, "app listed");
    writeFileSync(d.manifest, `services:\n  gated: { command: exec sleep 1000 }\n  app: { command: exec sleep 1000, nowait: true }\n`);
    const refused = await d.cli("reload");
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toBe(
      `${d.manifest}: services.app: the name is the Android app's (pid ${app.pid}, listed by a green flag); rename the service, or raise the flag with another --name`,
    );

    const mark = d.rec.mark;
    app.kill("SIGKILL");
    await app;
    await d.rec.event("app", "exited", mark);
    const applied = await d.cli("reload");
    expect(applied.stdout).toContain("added: app");
    // Snapshots from before the app ended list it running too: wait for the manifest's own.
    const snap = await d.rec.snapshot((s) => state(s, "app")?.state === "running" && !state(s, "app")?.external, "the manifest's app running", mark);
    expect(snap.services.filter((s) => s.name === "app")).toHaveLength(1);
    expect(state(snap, "app")?.external).toBeUndefined();
  });
});
