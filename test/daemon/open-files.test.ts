/** The daemon's own file descriptors under a low RLIMIT_NOFILE: a service of many processes leaves room for connections. */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { BIN, groupSize, Recorder, state, tempDir, uniqueEndpoints } from "../helpers/daemon.js";

const LIMIT = 256;
const FORKS = 300;

let daemon: ChildProcess | undefined;
let rec: Recorder | undefined;
let group: number | undefined;
afterEach(() => {
  rec?.close();
  if (daemon?.exitCode === null) daemon.kill("SIGKILL");
  // A daemon that aborted leaves its service behind.
  if (group !== undefined) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  daemon = rec = group = undefined;
});

/** What the process's descriptors point at. */
function openFiles(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch {
      return []; // closed meanwhile
    }
  });
}

describe.runIf(process.platform === "linux")("the daemon's open files", () => {
  it(`keeps answering with a service of ${FORKS} processes under ulimit -n ${LIMIT}, its stat files capped`, async () => {
    const dir = tempDir();
    const manifest = join(dir, "services.yaml");
    writeFileSync(
      manifest,
      `settings: { interval: 100ms }\nservices:\n  many: { command: 'for i in $(seq ${FORKS}); do sleep 1000 & done; wait', nowait: true }\n`,
    );
    const { control, status } = uniqueEndpoints();
    rec = new Recorder(status);
    const run = `ulimit -n ${LIMIT} && exec node "$0" run -c "$1" --control "$2" --status "$3"`;
    daemon = spawn("sh", ["-c", run, BIN, manifest, control, status], { stdio: ["ignore", "ignore", "inherit"] });
    const snap = await rec.snapshot((s) => state(s, "many")?.state === "running", "many running");
    group = state(snap, "many")!.pid!;
    for (let i = 0; i < 3000 && groupSize(group) < FORKS + 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(groupSize(group)).toBe(FORKS + 1);
    // Two ticks after: the sampler has been through every member at least once.
    const from = rec.mark;
    await rec.snapshot(() => true, "a tick", from);
    await rec.snapshot(() => true, "another tick", rec.mark);

    for (let i = 0; i < 20; i++) expect(await sendRaw(control, "ping")).toBe("PONG");
    const files = openFiles(daemon.pid!);
    expect(files.filter((f) => /^\/proc\/\d+\/stat$/.test(f)).length).toBeLessThanOrEqual(LIMIT / 4);
    expect(files.length).toBeLessThan(LIMIT / 2);

    const exited = new Promise<number | null>((r) => daemon!.once("exit", r));
    daemon.kill("SIGTERM");
    expect(await exited).toBe(0);
    group = undefined;
  }, 60_000);
});
