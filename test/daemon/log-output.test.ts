/** The daemon's own log: a reader that stops reading or a full disk stalls nothing, loses nothing the daemon can hold, and never stops the exit. */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { BIN, Recorder, tempDir, uniqueEndpoints } from "../helpers/daemon.js";

let daemon: ChildProcess | undefined;
let rec: Recorder | undefined;
afterEach(() => {
  rec?.close();
  if (daemon?.exitCode === null) daemon.kill("SIGKILL");
  daemon = rec = undefined;
});

const crashers = Array.from(
  { length: 5 },
  (_, i) => `  c${i}: { command: exit 1, nowait: true, restart_delay: 1ms, restart_delay_max: 5ms, max_restarts: 1000000 }`,
).join("\n");

/** A daemon of five crash-looping services, its stdout as given; resolves once it has restarted them `restarts` times. */
async function crashLooping(stdout: "pipe" | number, restarts: number): Promise<{ control: string }> {
  const dir = tempDir();
  const manifest = join(dir, "services.yaml");
  writeFileSync(manifest, `services:\n${crashers}\n`);
  const { control, status } = uniqueEndpoints();
  rec = new Recorder(status);
  daemon = spawn("node", [BIN, "run", "-c", manifest, "--control", control, "--status", status], { stdio: ["ignore", stdout, "inherit"] });
  // Not read: the pipe (64 KiB) and node's buffer fill after some 120 restarts' worth of lines.
  if (stdout === "pipe") daemon.stdout!.pause();
  await rec.snapshot((s) => s.services.reduce((sum, x) => sum + x.restarts, 0) >= restarts, `${restarts} restarts`, 0, 30_000);
  return { control };
}

const exitCode = () => new Promise<number | null>((r) => daemon!.once("exit", r));

describe("the daemon's own output", () => {
  /** It still answers, and SIGTERM makes it exit 0. */
  async function answersAndStops(control: string): Promise<void> {
    expect(await sendRaw(control, "ping")).toBe("PONG");
    const exited = exitCode();
    daemon!.kill("SIGTERM");
    expect(await exited).toBe(0);
  }

  it("on /dev/full: keeps supervising, answers, and exits 0 on SIGTERM", async () => {
    const full = openSync("/dev/full", "w");
    const { control } = await crashLooping(full, 200);
    closeSync(full);
    await answersAndStops(control);
  }, 40_000);

  it("exits 0 on SIGTERM while nobody ever reads its output", async () => {
    await answersAndStops((await crashLooping("pipe", 400)).control);
  }, 40_000);

  it("keeps supervising while nobody reads it, and writes out what it held once read", async () => {
    const { control } = await crashLooping("pipe", 400);
    expect(await sendRaw(control, "ping")).toBe("PONG");

    let out = "";
    daemon!.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk)).resume();
    const exited = exitCode();
    daemon!.kill("SIGTERM");
    expect(await exited).toBe(0);
    const lines = out.trimEnd().split("\n");
    // Far more than the pipe could hold while it was not read, none of it dropped.
    expect(out.length).toBeGreaterThan(150_000);
    expect(lines.filter((l) => l.includes('"to":"backoff"')).length).toBeGreaterThanOrEqual(400);
    expect(out).not.toMatch(/log lines dropped/);
    expect(JSON.parse(lines.at(-1)!).msg).toBe("stopped");
  }, 40_000);
});
