/**
 * Facts about where the daemon runs. Decisions take the environment as an
 * argument so they can be tested without an Android device.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Platform } from "../manifest/spec.js";

export interface Host {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  tmpdir: string;
}

export const currentHost = (): Host => ({ platform: process.platform, env: process.env, tmpdir: tmpdir() });

/** Termux reports `android`; a Termux-like PREFIX counts too (some builds report linux). */
export function isTermux(host: Host): boolean {
  return host.platform === "android" || (host.env.PREFIX ?? "").includes("/com.termux/");
}

export function detectPlatform(host: Host): Platform {
  return isTermux(host) ? "android" : "desktop";
}

/** The shell for string commands: Termux has no /bin/sh. */
export function shellFor(host: Host): string {
  return isTermux(host) && host.env.PREFIX ? join(host.env.PREFIX, "bin/sh") : "/bin/sh";
}

/** Linux and Android have the abstract namespace; others fall back to files in the temp dir. */
export function hasAbstractNamespace(host: Host): boolean {
  return host.platform === "linux" || host.platform === "android";
}

export function defaultEndpoints(host: Host): { control: string; status: string } {
  if (hasAbstractNamespace(host)) return { control: "ipc://@flowinit/control", status: "ipc://@flowinit/status" };
  return { control: `ipc://${join(host.tmpdir, "flowinit-control")}`, status: `ipc://${join(host.tmpdir, "flowinit-status")}` };
}

/**
 * Where runtime state goes: `$PREFIX/var/run` under Termux (its tmp is wiped
 * when the app restarts), else `$XDG_RUNTIME_DIR`, else the temp dir.
 */
export function runtimeDir(host: Host): string {
  if (isTermux(host) && host.env.PREFIX) return join(host.env.PREFIX, "var/run");
  return host.env.XDG_RUNTIME_DIR || host.tmpdir;
}
