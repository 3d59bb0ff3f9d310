/**
 * A service member the daemon may not signal: it became root through a
 * setuid program under a daemon that is not root. The daemon reports it,
 * never hangs on its stop and never crashes on its group.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { BIN, FIXTURES, isAlive, Recorder, state, uniqueEndpoints } from "../helpers/daemon.js";

const OTHER = 4321;

/** Builds the setuid-root helper in a folder every user may enter; null where that cannot be done here. */
function setuidHelper(): string | null {
  if (process.getuid?.() !== 0) return null;
  try {
    execFileSync("setpriv", ["--version"], { stdio: "ignore" });
    const dir = mkdtempSync(join(tmpdir(), "flowinit-eperm-"));
    chmodSync(dir, 0o755);
    const bin = join(dir, "becomes-root");
    execFileSync("cc", ["-o", bin, join(FIXTURES, "native/becomes-root.c")], { stdio: "ignore" });
    chmodSync(bin, 0o4755);
    // A folder mounted nosuid would run it as the caller: check that it works.
    const uid = execFileSync("setpriv", [`--reuid=${OTHER}`, `--regid=${OTHER}`, "--clear-groups", bin, "id", "-ru"], { encoding: "utf8" });
    return uid.trim() === "0" ? bin : null;
  } catch {
    return null;
  }
}

const helper = setuidHelper();
if (helper === null) console.warn("eperm tests skipped: they need root, setpriv, a C compiler and a folder that honours setuid");

const procs: ReturnType<typeof execa>[] = [];
const roots: number[] = [];
afterEach(async () => {
  for (const pid of roots.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  for (const p of procs.splice(0)) {
    p.kill("SIGKILL");
    await p;
  }
});

/** `flowinit run` as user OTHER, in a folder that user may write. */
async function daemonAsOther(services: string) {
  const dir = mkdtempSync(join(tmpdir(), "flowinit-eperm-d-"));
  chmodSync(dir, 0o777);
  const manifest = join(dir, "services.yaml");
  writeFileSync(manifest, `services:\n${services}`);
  chmodSync(manifest, 0o644);
  const { control, status } = uniqueEndpoints();
  const rec = new Recorder(status);
  const proc = execa("setpriv", [`--reuid=${OTHER}`, `--regid=${OTHER}`, "--clear-groups", "node", BIN, "run", "-c", manifest, "--control", control, "--status", status], {
    reject: false,
    all: true,
    env: { HELPER: helper!, DIR: dir, XDG_RUNTIME_DIR: dir },
  });
  procs.push(proc);
  return { dir, control, rec, proc };
}

describe.skipIf(helper === null)("a member the daemon may not signal", () => {
  it("a stop answers, says what was left running, and the daemon goes on", async () => {
    const d = await daemonAsOther(`  su: { command: 'exec "$HELPER" sh -c "echo $$ > $DIR/root.pid; exec sleep 1000"', nowait: true, stop_timeout: 300ms }\n`);
    await d.rec.snapshot((s) => state(s, "su")?.state === "running", "su running");
    // Written once it is root: from then on the daemon may not signal it.
    let pid = 0;
    await expect.poll(() => (pid = Number(readFileSync(join(d.dir, "root.pid"), "utf8").trim() || 0))).toBeGreaterThan(0);
    roots.push(pid);
    const reply = JSON.parse(await sendRaw(d.control, JSON.stringify({ cmd: "stop", service: "su" }), null));
    expect(reply.service.state).toBe("stopped");
    const ev = await d.rec.event("su", "stopped");
    expect(ev.data.reason).toBe("stopped (processes of another user left running)");
    expect(isAlive(pid)).toBe(true);
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
    d.rec.close();
  });

  it("a leader that dies beside such a member: the daemon logs it and lives on", async () => {
    const d = await daemonAsOther(
      `  mixed: { command: '"$HELPER" sh -c "echo \\$\\$ > $DIR/root.pid; exec sleep 1000" & while [ ! -s "$DIR/root.pid" ]; do sleep 0.01; done; exit 1', nowait: true, restart: never }\n`,
    );
    const snap = await d.rec.snapshot((s) => state(s, "mixed")?.state === "exited", "mixed exited");
    expect(state(snap, "mixed")?.exit_code).toBe(1);
    const pid = Number(readFileSync(join(d.dir, "root.pid"), "utf8").trim());
    roots.push(pid);
    expect(isAlive(pid)).toBe(true);
    expect(await sendRaw(d.control, "ping")).toBe("PONG");
    d.proc.kill("SIGTERM");
    const r = await d.proc;
    expect(r.exitCode).toBe(0);
    expect(String(r.all)).toContain("processes of another user");
    d.rec.close();
  });
});
