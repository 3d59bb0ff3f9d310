/** CURVE on tcp endpoints (CONTRACT.md section 6), over 127.0.0.1 with real clients. */
import { appendFileSync, chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curveClientOptions } from "../../src/client/curve.js";
import { subscribe } from "../../src/client/subscribe.js";
import { request, sendRaw } from "../../src/client/client.js";
import { cli, freePort, startDaemon, tempDir, type RunningDaemon } from "../helpers/daemon.js";

let d: RunningDaemon;
let keys: string;
let serverKey: string;
let tcpControl: string;
let tcpStatus: string;

beforeAll(async () => {
  keys = tempDir();
  tcpControl = `tcp://127.0.0.1:${await freePort()}`;
  tcpStatus = `tcp://127.0.0.1:${await freePort()}`;
  const settings = `settings:
  curve: { secret_key_file: ${keys}/server.key, authorized_keys_file: ${keys}/authorized_keys }
`;
  const manifest = join(keys, "keys.yaml");
  writeFileSync(manifest, `${settings}services: {}\n`);
  serverKey = String((await cli(["keys", "-c", manifest])).stdout).trim();
  const client = String((await cli(["keys", "--client", join(keys, "client.key")])).stdout).trim();
  await cli(["keys", "--client", join(keys, "stranger.key")]);
  writeFileSync(join(keys, "authorized_keys"), "# the test client\n");
  appendFileSync(join(keys, "authorized_keys"), `${client}\n`);
  d = await startDaemon(`${settings}services:\n  a: { command: exec sleep 1000, nowait: true }\n`, [
    "--control",
    tcpControl,
    "--status",
    tcpStatus,
  ]);
});
afterAll(() => d.stop());

const statusOver = (...extra: string[]) => cli(["status", "--json", "--control", tcpControl, ...extra]);

describe("CURVE on tcp endpoints", () => {
  it("serves a client whose key is authorized", async () => {
    const r = await statusOver("--server-key", serverKey, "--key-file", join(keys, "client.key"));
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(String(r.stdout)).services[0].name).toBe("a");
  });

  it("does not serve an unknown key, nor a plain client", async () => {
    // Each waits out the client's 3 s: run them side by side.
    const [stranger, plain] = await Promise.all([
      statusOver("--server-key", serverKey, "--key-file", join(keys, "stranger.key")),
      statusOver(),
    ]);
    expect(stranger.exitCode).toBe(3);
    expect(plain.exitCode).toBe(3);
  });

  it("lets any client that knows the server key subscribe to the status topic", async () => {
    const ac = new AbortController();
    const curve = await curveClientOptions(tcpStatus, { serverKey });
    for await (const m of subscribe(tcpStatus, { topics: ["status"], signal: ac.signal, curve })) {
      expect(m.topic).toBe("status");
      ac.abort();
    }
  });

  it("keeps the ipc endpoints plain", async () => {
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
  });

  it("says when a reload refuses authorized_keys: the reply's warnings, and the CLI exits 1; the old keys stay", async () => {
    const file = join(keys, "authorized_keys");
    expect(await request(d.control, { cmd: "reload" })).toMatchObject({ ok: true, unchanged: ["a"], warnings: [] });
    chmodSync(file, 0o664);
    try {
      const warning = `authorized keys not reloaded, the old ones stay: ${file}: mode 0664 lets other users authorize their own keys; run chmod go-w ${file}`;
      const r = await d.cli("reload");
      expect(r.stdout).toBe("added: -\nremoved: -\nchanged: -\nunchanged: a");
      expect(r.stderr).toBe(`flowinit: ${warning}`);
      expect(r.exitCode).toBe(1);
      expect(await request(d.control, { cmd: "reload" })).toMatchObject({ ok: true, warnings: [warning] });
      const served = await statusOver("--server-key", serverKey, "--key-file", join(keys, "client.key"));
      expect(served.exitCode).toBe(0);
    } finally {
      chmodSync(file, 0o644);
    }
  });

  it("refuses a tcp endpoint without CURVE settings unless insecure_tcp is set", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "s.yaml"), "services: {}\n");
    const r = await cli(["run", "-c", join(dir, "s.yaml"), "--control", `tcp://127.0.0.1:${await freePort()}`]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/^flowinit: tcp:\/\/127\.0\.0\.1:\d+: a tcp endpoint needs settings\.curve/);
  });
});
