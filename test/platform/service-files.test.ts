/** The termux-services and Termux:Boot files, as text: no runit needed. */
import { describe, expect, it } from "vitest";
import { serviceFiles, shQuote, type ServiceEnv } from "../../src/platform/service-files.js";

const env: ServiceEnv = {
  prefix: "/data/data/com.termux/files/usr",
  home: "/data/data/com.termux/files/home",
  manifest: "/data/data/com.termux/files/home/flowpilot/services.yaml",
  node: "/data/data/com.termux/files/usr/bin/node",
  bin: "/data/data/com.termux/files/home/flowinit/bin/flowinit.js",
};
const SV = "/data/data/com.termux/files/usr/var/service/flowinit";

const byPath = (files: ReturnType<typeof serviceFiles>) => new Map(files.map((f) => [f.path, f]));

describe("serviceFiles", () => {
  it("writes down, log/run and run, in that order, for a fresh install without --boot", () => {
    const files = serviceFiles(env, { boot: false, fresh: true });
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      [`${SV}/down`, 0o644],
      [`${SV}/log/run`, 0o755],
      [`${SV}/run`, 0o755],
    ]);
    expect(files[0]!.content).toBe("");
  });

  it("leaves down alone when the service exists: sv-enable's choice stands", () => {
    const paths = serviceFiles(env, { boot: true, fresh: false }).map((f) => f.path);
    expect(paths).toEqual([`${SV}/log/run`, `${SV}/run`, "/data/data/com.termux/files/home/.termux/boot/flowinit"]);
  });

  it("run: Termux's sh, stderr into the log, the daemon by absolute paths", () => {
    const run = byPath(serviceFiles(env, { boot: false, fresh: false })).get(`${SV}/run`)!;
    const lines = run.content.split("\n");
    expect(lines[0]).toBe("#!/data/data/com.termux/files/usr/bin/sh");
    const code = lines.filter((l) => l !== "" && !l.startsWith("#"));
    expect(code).toEqual([
      "exec 2>&1",
      // libzmq aborts a daemon out of open files; Node cannot raise its own limit.
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null',
      `exec ${env.node} ${env.bin} run -c ${env.manifest}`,
    ]);
    expect(run.content.endsWith("\n")).toBe(true);
  });

  it("log/run: svlogd into $PREFIX/var/log/sv/flowinit, without timestamps, so the lines stay JSON", () => {
    const log = byPath(serviceFiles(env, { boot: false, fresh: false })).get(`${SV}/log/run`)!;
    const lines = log.content.split("\n");
    expect(lines[0]).toBe("#!/data/data/com.termux/files/usr/bin/sh");
    expect(lines.filter((l) => l !== "" && !l.startsWith("#"))).toEqual([
      "mkdir -p /data/data/com.termux/files/usr/var/log/sv/flowinit",
      "exec svlogd /data/data/com.termux/files/usr/var/log/sv/flowinit",
    ]);
  });

  it("boot: wake lock, Termux's profile (which starts runsvdir), then sv up until runsv answers", () => {
    const boot = byPath(serviceFiles(env, { boot: true, fresh: false })).get("/data/data/com.termux/files/home/.termux/boot/flowinit")!;
    expect(boot.mode).toBe(0o755);
    const code = boot.content.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    expect(code.slice(0, 3)).toEqual([
      "/data/data/com.termux/files/usr/bin/termux-wake-lock",
      ". /data/data/com.termux/files/usr/etc/profile",
      "i=0",
    ]);
    expect(code).toContain(`until /data/data/com.termux/files/usr/bin/sv up ${SV}; do`);
  });

  it("quotes paths the shell would split", () => {
    const files = serviceFiles({ ...env, manifest: "/home/me/my services/it's.yaml" }, { boot: false, fresh: false });
    expect(byPath(files).get(`${SV}/run`)!.content).toContain(`run -c '/home/me/my services/it'\\''s.yaml'\n`);
  });
});

describe("shQuote", () => {
  it.each([
    ["/data/data/com.termux/files/usr/bin/node", "/data/data/com.termux/files/usr/bin/node"],
    ["a b", "'a b'"],
    ["$HOME", "'$HOME'"],
    ["it's", "'it'\\''s'"],
    ["", "''"],
  ])("%s -> %s", (word, quoted) => {
    expect(shQuote(word)).toBe(quoted);
  });
});
