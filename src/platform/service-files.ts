/**
 * The files that run the daemon under termux-services (runit) and start it
 * at boot with Termux:Boot. Pure: every path comes in through `ServiceEnv`,
 * so the command, `--print` and the tests share one source of the text.
 */
import { join } from "node:path";

/** The runit service's name: `sv up flowinit`, `sv-enable flowinit`. */
export const SERVICE_NAME = "flowinit";

/** Termux's standard layout, for previewing the files (`--print`) where PREFIX is unset. */
export const TERMUX_DEFAULTS = {
  prefix: "/data/data/com.termux/files/usr",
  home: "/data/data/com.termux/files/home",
} as const;

export interface ServiceEnv {
  /** Termux's `$PREFIX`, e.g. /data/data/com.termux/files/usr. */
  prefix: string;
  /** `$HOME`: Termux:Boot reads `~/.termux/boot`. */
  home: string;
  /** Absolute path of the manifest the daemon runs. */
  manifest: string;
  /** Absolute path of node: runsvdir's PATH is whatever the shell that started it had. */
  node: string;
  /** Absolute path of bin/flowinit.js. */
  bin: string;
}

export interface ServiceFileOptions {
  /** Also write the Termux:Boot script. */
  boot: boolean;
  /**
   * The service directory does not exist yet. Only then is a `down` file
   * written: a new service stays down until `sv-enable` or `sv up`, as
   * termux-services' packages do, and a reinstall keeps what
   * `sv-enable`/`sv-disable` chose since.
   */
  fresh: boolean;
}

export interface ServiceFile {
  path: string;
  content: string;
  mode: number;
}

/** Single-quotes a word for sh unless it is plainly safe. */
export function shQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The service directory, `$PREFIX/var/service/flowinit`. */
export const serviceDir = (prefix: string): string => join(prefix, "var/service", SERVICE_NAME);

/**
 * In the order to write them: runsvdir may look at the directory between two
 * writes, and must find `down` (so it does not start the daemon) and
 * `log/run` (so output has somewhere to go) before `run`.
 */
export function serviceFiles(env: ServiceEnv, opts: ServiceFileOptions): ServiceFile[] {
  const dir = serviceDir(env.prefix);
  const sh = `#!${join(env.prefix, "bin/sh")}`;
  const logDir = join(env.prefix, "var/log/sv", SERVICE_NAME);
  const files: ServiceFile[] = [];

  if (opts.fresh) files.push({ path: join(dir, "down"), content: "", mode: 0o644 });

  files.push({
    path: join(dir, "log/run"),
    content: [
      sh,
      "# svlogd keeps the daemon's output in current and rotates it. No -tt: each line is",
      "# JSON with its own time, and a timestamp in front would keep jq from reading it.",
      `mkdir -p ${shQuote(logDir)}`,
      `exec svlogd ${shQuote(logDir)}`,
      "",
    ].join("\n"),
    mode: 0o755,
  });

  files.push({
    path: join(dir, "run"),
    content: [
      sh,
      "# Written by `flowinit service install`. runsv restarts the daemon whenever it exits,",
      "# after `flowinit shutdown` too; `sv -w 10 down flowinit` sends SIGTERM, on which it",
      "# stops every service and exits, and waits until it has.",
      "exec 2>&1",
      "# Open files: the soft limit up to the hard one, since libzmq aborts the daemon when it runs out",
      "# (docs/supervision.md, Open files) and Node cannot raise its own.",
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null',
      `exec ${[env.node, env.bin, "run", "-c", env.manifest].map(shQuote).join(" ")}`,
      "",
    ].join("\n"),
    mode: 0o755,
  });

  if (opts.boot) {
    const bin = (name: string) => shQuote(join(env.prefix, "bin", name));
    files.push({
      path: join(env.home, ".termux/boot", SERVICE_NAME),
      content: [
        sh,
        "# Termux:Boot runs this once Android has booted. Written by `flowinit service install --boot`.",
        "# Without the wake lock Android suspends Termux's processes when the screen goes off.",
        bin("termux-wake-lock"),
        "# Termux's profile starts runsvdir (termux-services' service-daemon) in the background.",
        `. ${shQuote(join(env.prefix, "etc/profile"))}`,
        "# sv fails until runsvdir has started runsv for the service: try for a while.",
        "i=0",
        `until ${bin("sv")} up ${shQuote(dir)}; do`,
        "  i=$((i + 1))",
        '  [ "$i" -ge 30 ] && exit 1',
        "  sleep 1",
        "done",
        "",
      ].join("\n"),
      mode: 0o755,
    });
  }
  return files;
}
