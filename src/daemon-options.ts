/**
 * What `flowinit run` is given and what start-up settles from it, in one
 * place: each option from the first source that sets it (command line >
 * environment > manifest `settings` > default, CONTRACT.md sections 1 and 7),
 * the log folder, and CURVE for tcp endpoints.
 */
import { join, dirname } from "node:path";
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import { EXIT, UserError } from "./errors.js";
import type { Manifest, Platform } from "./manifest/spec.js";
import { readAuthorizedKeys, readKeyPair, startZapHandler, type KeyPair, type ZapHandler } from "./bus/auth.js";
import { detectPlatform, isTermux, type Host } from "./platform/platform.js";
import { isTcp, resolveEndpoints } from "./platform/endpoints.js";

/** Options of `flowinit run`; unset fields fall back to env, manifest settings, defaults. */
export interface DaemonOptions {
  /** Manifest path. */
  config: string;
  /** Control endpoints from the command line (highest precedence). */
  control?: string[];
  /** Status endpoints from the command line. */
  status?: string[];
  /** Overrides the detected platform. */
  platform?: Platform;
  /** Behave as if the green flag had arrived at start. */
  noWait?: boolean;
  logDir?: string;
  allowUids?: number[];
  /** Debug logs. */
  verbose?: boolean;
  /** A logger to use instead of the default one on stdout. */
  logger?: Logger;
  /** Facts about the host; default the real one. */
  host?: Host;
  /** Wall time for what people read, monotonic time for durations; default the system clock. */
  clock?: Clock;
  /**
   * Where the device's /proc and /sys are read from (vitals and gates): a
   * fake tree for tests. Default env `FLOWINIT_DEVICE_ROOT`, else `/`.
   */
  deviceRoot?: string;
}

/** What `flowinit run` settles on: each option from the first source that sets it. */
export interface Resolved {
  manifest: Manifest;
  /** `flagPull`: settings.flag_pull, set in the manifest only. */
  endpoints: Endpoints;
  platform: Platform;
  logDir: string;
  /** UIDs allowed on the ipc control socket; null: every local peer. */
  allowUids: number[] | null;
  deviceRoot: string;
}

export interface Endpoints {
  control: string[];
  status: string[];
  flagPull: string[];
}

/**
 * Option precedence, in one place: command line > environment > manifest
 * `settings` > default (CONTRACT.md sections 1 and 7). Endpoints go through
 * `resolveEndpoints`, which clients share.
 */
export function resolveOptions(opts: DaemonOptions, manifest: Manifest, host: Host): Resolved {
  const settings = manifest.settings;
  const allowUids = opts.allowUids?.length ? opts.allowUids : settings.allowUids;
  return {
    manifest,
    endpoints: {
      control: resolveEndpoints("control", { flags: opts.control, manifest: settings.control }, host),
      status: resolveEndpoints("status", { flags: opts.status, manifest: settings.status }, host),
      flagPull: settings.flagPull ?? [],
    },
    platform: opts.platform ?? detectPlatform(host),
    logDir: opts.logDir ?? settings.logDir ?? defaultLogDir(manifest, host),
    allowUids: allowUids === null ? null : [...new Set([process.getuid?.() ?? 0, ...allowUids])],
    deviceRoot: opts.deviceRoot ?? (host.env.FLOWINIT_DEVICE_ROOT || "/"),
  };
}

function defaultLogDir(manifest: Manifest, host: Host): string {
  if (isTermux(host) && host.env.PREFIX) return join(host.env.PREFIX, "var/log/flowinit");
  return join(dirname(manifest.file), "logs");
}

/** The daemon's key pair and the ZAP handler that checks client keys. */
export interface Curve {
  keys: KeyPair;
  zap: ZapHandler;
}

/**
 * CURVE for tcp endpoints (CONTRACT.md section 6). A tcp endpoint without
 * CURVE settings is refused unless `insecure_tcp` says otherwise: a security
 * setting is never silently dropped. The ZAP handler starts before any bind,
 * since a client refused for want of one does not try again.
 */
export async function setUpCurve(m: Manifest, eps: Endpoints, log: Logger): Promise<Curve | null> {
  const tcp = [...eps.control, ...eps.status, ...eps.flagPull].find(isTcp);
  if (tcp === undefined) return null;
  const curve = m.settings.curve;
  if (curve === null) {
    if (m.settings.insecureTcp) return null;
    throw new UserError(`${tcp}: a tcp endpoint needs settings.curve (see flowinit keys), or settings.insecure_tcp: true`, EXIT.usage);
  }
  const keys = await readKeyPair(curve.secretKeyFile);
  const authorized = [...eps.control, ...eps.flagPull].some(isTcp) ? await readAuthorizedKeys(curve.authorizedKeysFile) : new Set<string>();
  return { keys, zap: await startZapHandler({ authorized, log }) };
}

