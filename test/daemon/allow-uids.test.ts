/** The peer-UID allowlist on the ipc control socket, checked with a client of another UID. */
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { BIN, daemonPerTest } from "../helpers/daemon.js";

const OTHER = 4321;
const canSwitch = process.getuid?.() === 0 && (await execa("setpriv", ["--version"], { reject: false })).exitCode === 0;
if (!canSwitch) console.warn("allow_uids tests skipped: they need root and setpriv to run a client under another UID");

/** `flowinit status` run as `uid`. */
const statusAs = (uid: number, control: string) =>
  execa("setpriv", [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "node", BIN, "status", "--json", "--control", control], {
    reject: false,
  });

const daemons = daemonPerTest();

describe.skipIf(!canSwitch)("allow_uids", () => {
  it("refuses a peer whose UID is not listed, and serves the daemon's own UID", async () => {
    const d = await daemons.start(`services: {}\n`, ["--allow-uid", "9999"]);
    const r = await statusAs(OTHER, d.control);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe(`flowinit: no daemon answers at ${d.control}`);
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
    d.proc.kill("SIGTERM");
    const { all } = await d.proc;
    expect(all).toContain(`refused a connection on ${d.control}: a UID not in allow_uids`);
  });

  it("serves a listed UID (settings.allow_uids)", async () => {
    const d = await daemons.start(`settings: { allow_uids: [${OTHER}] }\nservices: {}\n`);
    const r = await statusAs(OTHER, d.control);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).daemon.pid).toBeGreaterThan(0);
  });

  it("accepts every local peer without an allowlist", async () => {
    const d = await daemons.start(`services: {}\n`);
    expect((await statusAs(OTHER, d.control)).exitCode).toBe(0);
  });
});
