/** `flowinit keys` as users meet it: a real process, the files it writes, its output and exit code. */
import { appendFileSync, chmodSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { readAuthorizedKeys, readKeyPair } from "../../src/bus/auth.js";
import { BIN, ROOT, tempDir } from "../helpers/daemon.js";

const run = (args: string[]) => execa("node", [BIN, ...args], { reject: false, env: { NO_COLOR: "1" }, cwd: ROOT, timeout: 20_000 });
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/** A manifest in a fresh folder whose curve settings point next to it. */
function manifestWithCurve(): { manifest: string; keyFile: string; authorizedKeys: string } {
  const dir = tempDir();
  const manifest = join(dir, "services.yaml");
  writeFileSync(manifest, "settings:\n  curve:\n    secret_key_file: ./keys/daemon.key\n    authorized_keys_file: ./authorized_keys\nservices: {}\n");
  return { manifest, keyFile: join(dir, "keys/daemon.key"), authorizedKeys: join(dir, "authorized_keys") };
}

describe("keys", () => {
  it("creates the daemon's key pair with mode 0600 and prints its public key, the same on every run", async () => {
    const { manifest, keyFile } = manifestWithCurve();
    const first = await run(["keys", "-c", manifest]);
    expect([first.exitCode, first.stderr]).toEqual([0, `flowinit: created ${keyFile} (mode 0600)`]);
    expect(first.stdout).toMatch(Z85_KEY);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect((await readKeyPair(keyFile)).publicKey).toBe(first.stdout);

    const second = await run(["keys", "-c", manifest]);
    expect([second.exitCode, second.stdout, second.stderr]).toEqual([0, first.stdout, ""]);
  });

  it("exits 2 with one line when settings.curve is not set", async () => {
    const manifest = join(tempDir(), "services.yaml");
    writeFileSync(manifest, "services: {}\n");
    const r = await run(["keys", "-c", manifest]);
    expect([r.exitCode, r.stdout]).toEqual([2, ""]);
    expect(r.stderr).toBe(`flowinit: ${manifest}: settings.curve is not set (it names secret_key_file and authorized_keys_file)`);
  });

  it("exits 2 with FILE:LINE:COL for an invalid manifest", async () => {
    const manifest = join(tempDir(), "services.yaml");
    writeFileSync(manifest, "settings:\n  curve:\n    secret_key_file: ./k\nservices: {}\n");
    const r = await run(["keys", "-c", manifest]);
    expect([r.exitCode, r.stdout]).toEqual([2, ""]);
    expect(r.stderr).toMatch(new RegExp(`^${manifest}:\\d+:\\d+: settings\\.curve`));
  });

  it("refuses a key pair that other users can read", async () => {
    const { manifest, keyFile } = manifestWithCurve();
    await run(["keys", "-c", manifest]);
    chmodSync(keyFile, 0o640);
    const r = await run(["keys", "-c", manifest]);
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([
      2,
      "",
      `flowinit: ${keyFile}: mode 0640 lets other users read the secret key; run chmod 600 ${keyFile}`,
    ]);
  });

  it("--client writes a client key pair whose printed key authorizes it when appended to authorized_keys", async () => {
    const { authorizedKeys } = manifestWithCurve();
    const clientFile = join(tempDir(), "phone.key");
    const r = await run(["keys", "--client", clientFile]);
    expect([r.exitCode, r.stderr]).toEqual([0, `flowinit: created ${clientFile} (mode 0600)`]);
    expect(statSync(clientFile).mode & 0o777).toBe(0o600);
    appendFileSync(authorizedKeys, `${r.stdout}\n`);
    expect(await readAuthorizedKeys(authorizedKeys)).toEqual(new Set([(await readKeyPair(clientFile)).publicKey]));
  });
});
