/** `flowinit service install` as a user on Termux runs it, against a PREFIX and HOME in a temp dir. */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { BIN, tempDir, uniqueEndpoints } from "../helpers/daemon.js";

interface Phone {
  prefix: string;
  home: string;
  manifest: string;
  sv: string;
  boot: string;
}

/** A fake Termux: an empty PREFIX and HOME, and a manifest beside them. */
function phone(): Phone {
  const root = tempDir();
  const prefix = join(root, "usr");
  const home = join(root, "home");
  mkdirSync(home);
  const manifest = join(home, "services.yaml");
  writeFileSync(manifest, "services:\n  idle:\n    command: exec sleep 1000\n    nowait: true\n");
  return { prefix, home, manifest, sv: join(prefix, "var/service/flowinit"), boot: join(home, ".termux/boot/flowinit") };
}

const install = (p: Phone | null, ...args: string[]) =>
  execa("node", [BIN, "service", "install", ...args], {
    reject: false,
    // Without the parent's PREFIX: a Termux running the tests must not get files in its real one. The code
    // cache stays in the test run's cache folder, out of the HOME whose files are checked.
    extendEnv: false,
    env: { PATH: process.env.PATH, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, ...(p === null ? {} : { PREFIX: p.prefix, HOME: p.home }) },
    timeout: 20_000,
  });

const mode = (path: string) => statSync(path).mode & 0o777;

/** Every file under `dir`, relative. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

describe("service install", () => {
  it("writes the runit service and the Termux:Boot script with their modes", async () => {
    const p = phone();
    const r = await install(p, "-c", p.manifest, "--boot");
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      `wrote ${p.sv}/down`,
      `wrote ${p.sv}/log/run`,
      `wrote ${p.sv}/run`,
      `wrote ${p.boot}`,
      "start it with `sv up flowinit`; `sv-enable flowinit` starts it now and whenever termux-services starts",
    ]);
    expect(tree(p.prefix)).toEqual(["var/service/flowinit/down", "var/service/flowinit/log/run", "var/service/flowinit/run"]);
    expect(tree(p.home)).toEqual([".termux/boot/flowinit", "services.yaml"]);
    expect([mode(`${p.sv}/down`), mode(`${p.sv}/log/run`), mode(`${p.sv}/run`), mode(p.boot)]).toEqual([0o644, 0o755, 0o755, 0o755]);

    const run = readFileSync(`${p.sv}/run`, "utf8");
    expect(run.startsWith(`#!${p.prefix}/bin/sh\n`)).toBe(true);
    expect(run).toContain(`\nexec ${process.execPath} ${BIN} run -c ${p.manifest}\n`);
    expect(readFileSync(`${p.sv}/log/run`, "utf8")).toContain(`\nexec svlogd ${p.prefix}/var/log/sv/flowinit\n`);
    const boot = readFileSync(p.boot, "utf8");
    expect(boot).toContain(`\n${p.prefix}/bin/termux-wake-lock\n`);
    expect(boot).toContain(`\n. ${p.prefix}/etc/profile\n`);
    expect(boot).toContain(`${p.prefix}/bin/sv up ${p.sv};`);
  });

  it("leaves out the boot script without --boot", async () => {
    const p = phone();
    expect((await install(p, "-c", p.manifest)).exitCode).toBe(0);
    expect(existsSync(p.boot)).toBe(false);
  });

  it("refuses to overwrite without --force, in one line naming the file, and changes nothing", async () => {
    const p = phone();
    await install(p, "-c", p.manifest);
    writeFileSync(`${p.sv}/run`, "mine\n");
    const r = await install(p, "-c", p.manifest, "--boot");
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([1, "", `flowinit: ${p.sv}/log/run exists; --force replaces it`]);
    expect(readFileSync(`${p.sv}/run`, "utf8")).toBe("mine\n");
    expect(existsSync(p.boot)).toBe(false);
  });

  it("--force overwrites, restores the mode, and keeps the enabled state", async () => {
    const p = phone();
    await install(p, "-c", p.manifest);
    writeFileSync(`${p.sv}/run`, "mine\n", { mode: 0o600 });
    // What sv-enable does.
    rmSync(`${p.sv}/down`);
    const r = await install(p, "-c", p.manifest, "--force");
    expect(r.exitCode).toBe(0);
    expect(readFileSync(`${p.sv}/run`, "utf8")).toContain(`run -c ${p.manifest}\n`);
    expect(mode(`${p.sv}/run`)).toBe(0o755);
    expect(existsSync(`${p.sv}/down`)).toBe(false);
    expect(tree(p.sv)).toEqual(["log/run", "run"]);
  });

  it("--print prints each file under a header line and writes nothing", async () => {
    const p = phone();
    const r = await install(p, "-c", p.manifest, "--boot", "--print");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("==> "))).toEqual([
      `==> ${p.sv}/down (mode 0644) <==`,
      `==> ${p.sv}/log/run (mode 0755) <==`,
      `==> ${p.sv}/run (mode 0755) <==`,
      `==> ${p.boot} (mode 0755) <==`,
    ]);
    expect(r.stdout).toContain(`exec ${process.execPath} ${BIN} run -c ${p.manifest}`);
    expect(existsSync(p.prefix)).toBe(false);
    expect(tree(p.home)).toEqual(["services.yaml"]);
  });

  it("without PREFIX: --print shows Termux's standard paths; writing exits 2 in one line", async () => {
    const p = phone();
    const printed = await install(null, "-c", p.manifest, "--print");
    expect(printed.exitCode).toBe(0);
    expect(printed.stdout).toContain("==> /data/data/com.termux/files/usr/var/service/flowinit/run (mode 0755) <==\n#!/data/data/com.termux/files/usr/bin/sh\n");
    const r = await install(null, "-c", p.manifest);
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([2, "", "flowinit: PREFIX is unset: this is not Termux (--print shows the files anyway)"]);
  });

  it("refuses a manifest that does not validate, with exit 2", async () => {
    const p = phone();
    writeFileSync(p.manifest, "services:\n  a:\n    command: sleep 1\n    restart: sometimes\n");
    const r = await install(p, "-c", p.manifest);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${p.manifest}:4:\\d+: services\\.a\\.restart`));
    expect(existsSync(p.prefix)).toBe(false);
  });

  it("run starts the daemon with no PATH at all, and SIGTERM (sv down) stops it with exit 0", async () => {
    const p = phone();
    await install(p, "-c", p.manifest);
    const { control, status } = uniqueEndpoints();
    // runsv would run it from the service directory; sh stands in for Termux's sh, absent here.
    const daemon = execa("/bin/sh", [`${p.sv}/run`], {
      reject: false,
      all: true,
      cwd: p.sv,
      extendEnv: false,
      env: { FLOWINIT_CONTROL: control, FLOWINIT_STATUS: status },
    });
    try {
      let reply = "";
      for (let i = 0; i < 100 && reply !== "PONG" && daemon.exitCode === null; i++) {
        reply = await sendRaw(control, "ping", 200).catch(() => "");
      }
      expect(reply).toBe("PONG");
    } finally {
      daemon.kill("SIGTERM");
    }
    const r = await daemon;
    expect(r.exitCode).toBe(0);
  });
});
