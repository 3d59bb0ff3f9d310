/**
 * settings.flag_pull against a real daemon: an independent PUSH client
 * (pyzmq, test/fixtures/clients/push.py, as FlowPilot's launcher sends its
 * words) over abstract ipc and loopback tcp, CURVE on tcp, tcp refused at
 * start without CURVE or insecure_tcp, allow_uids on ipc.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa, execaSync } from "execa";
import { describe, expect, it } from "vitest";
import { BIN, cli, daemonPerTest, FIXTURES, freePort, tempDir, type RunningDaemon } from "../helpers/daemon.js";
import { python } from "../helpers/python.js";

const PUSH = join(FIXTURES, "clients/push.py");
const push = (endpoint: string, word: string, ...curve: string[]) => execa(python!, [PUSH, endpoint, word, ...curve], { reject: false, timeout: 20_000 });

const daemons = daemonPerTest();

const SERVICES = `services:\n  modeld: { command: exec sleep 1000 }\n`;

/** Raises the flag with start_flag, then lowers it with stop_flag, each from a PUSH of its own. */
async function raiseAndLower(d: RunningDaemon, endpoint: string, ...curve: string[]): Promise<void> {
  const mark = d.rec.mark;
  expect((await push(endpoint, "start_flag", ...curve)).exitCode).toBe(0);
  await d.rec.event("modeld", "running", mark);
  const down = d.rec.mark;
  expect((await push(endpoint, "stop_flag", ...curve)).exitCode).toBe(0);
  await d.rec.event("modeld", "waiting", down);
  await d.rec.snapshot((s) => !s.daemon.flag, "flag down", down);
}

const title = python ? "flag_pull" : "flag_pull: skipped, no python3 with zmq here (apt-get install python3-zmq)";

describe.skipIf(python === undefined)(title, () => {
  it("takes the words of a PUSH over abstract ipc and over loopback tcp (insecure_tcp, with the warning)", async () => {
    const id = Math.random().toString(36).slice(2);
    const ipc = `ipc://@flowinit-test-${id}/6004`;
    const tcp = `tcp://127.0.0.1:${await freePort()}`;
    const d = await daemons.start(`settings:\n  flag_pull: [${ipc}, ${tcp}]\n  insecure_tcp: true\n${SERVICES}`);
    await raiseAndLower(d, ipc);
    await raiseAndLower(d, tcp);
    // green_flag works too, and anything else is dropped without a word back.
    const mark = d.rec.mark;
    expect((await push(ipc, "ping")).exitCode).toBe(0);
    expect((await push(ipc, '{"cmd": "shutdown"}')).exitCode).toBe(0);
    expect((await push(ipc, "green_flag")).exitCode).toBe(0);
    await d.rec.event("modeld", "running", mark);
    expect(d.proc.exitCode).toBeNull();
    d.proc.kill("SIGTERM");
    const { all } = await d.proc;
    expect(all).toContain(`${tcp} is plain TCP (insecure_tcp): anyone who can reach it may use it`);
  });

  it("refuses a tcp endpoint at start without CURVE or insecure_tcp", async () => {
    const dir = tempDir();
    const manifest = join(dir, "services.yaml");
    const tcp = `tcp://127.0.0.1:${await freePort()}`;
    writeFileSync(manifest, `settings:\n  flag_pull: ${tcp}\n${SERVICES}`);
    const r = await execa("node", [BIN, "run", "-c", manifest, "--control", `ipc://@flowinit-test-${Math.random()}/c`, "--status", `ipc://@flowinit-test-${Math.random()}/s`], {
      reject: false,
      timeout: 20_000,
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`flowinit: ${tcp}: a tcp endpoint needs settings.curve (see flowinit keys), or settings.insecure_tcp: true`);
  });

  it("over tcp with CURVE, takes the words of an authorized key only", async () => {
    const keys = tempDir();
    const tcp = `tcp://127.0.0.1:${await freePort()}`;
    const curve = `  curve: { secret_key_file: ${keys}/server.key, authorized_keys_file: ${keys}/authorized_keys }\n`;
    const manifest = join(keys, "keys.yaml");
    writeFileSync(manifest, `settings:\n${curve}services: {}\n`);
    const serverKey = String((await cli(["keys", "-c", manifest])).stdout).trim();
    const client = String((await cli(["keys", "--client", join(keys, "client.key")])).stdout).trim();
    await cli(["keys", "--client", join(keys, "stranger.key")]);
    writeFileSync(join(keys, "authorized_keys"), "");
    appendFileSync(join(keys, "authorized_keys"), `${client}\n`);
    const d = await daemons.start(`settings:\n  flag_pull: ${tcp}\n${curve}${SERVICES}`);
    let out = "";
    d.proc.all!.on("data", (c: Buffer) => (out += c.toString()));
    // A refused word is silent, and the push would linger 5 s for it: it is ended once the daemon said it refused the key.
    const stranger = push(tcp, "start_flag", serverKey, join(keys, "stranger.key"));
    await expect.poll(() => out, { timeout: 20_000 }).toMatch(/"domain":"flowinit.flag_pull".*refused a client: key not authorized/);
    stranger.kill("SIGKILL");
    await stranger;
    await raiseAndLower(d, tcp, serverKey, join(keys, "client.key"));
    d.proc.kill("SIGTERM");
    const { all } = await d.proc;
    expect(all).toMatch(/"domain":"flowinit.flag_pull".*refused a client: key not authorized/);
    // The stranger's word never raised the flag: the only flag up was the authorized one.
    expect(all.match(/gate flag open/g)).toHaveLength(1);
  });
});

const OTHER = 4321;
const canSwitch = python !== undefined && process.getuid?.() === 0 && execaSync("setpriv", ["--version"], { reject: false }).exitCode === 0;

describe.skipIf(!canSwitch)("flag_pull and allow_uids", () => {
  const pushAs = (uid: number, endpoint: string, word: string) =>
    execa("setpriv", [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", python!, PUSH, endpoint, word], { reject: false, timeout: 20_000 });

  it("drops a sender whose UID is not listed, and takes one that is", async () => {
    const ipc = `ipc://@flowinit-test-${Math.random().toString(36).slice(2)}/6004`;
    let d = await daemons.start(`settings:\n  flag_pull: ${ipc}\n  allow_uids: [${OTHER + 1}]\n${SERVICES}`);
    let out = "";
    d.proc.all!.on("data", (c: Buffer) => (out += c.toString()));
    // Its word waits for a connection that is refused each time it tries: it is ended once the daemon said so.
    const refused = pushAs(OTHER, ipc, "start_flag");
    await expect.poll(() => out, { timeout: 20_000 }).toContain(`refused a connection on ${ipc}: a UID not in allow_uids`);
    refused.kill("SIGKILL");
    await refused;
    await d.stop();
    expect((await d.proc).all).not.toContain("gate flag open");

    d = await daemons.start(`settings:\n  flag_pull: ${ipc}\n  allow_uids: [${OTHER}]\n${SERVICES}`);
    const mark = d.rec.mark;
    expect((await pushAs(OTHER, ipc, "start_flag")).exitCode).toBe(0);
    await d.rec.event("modeld", "running", mark);
  });
});
