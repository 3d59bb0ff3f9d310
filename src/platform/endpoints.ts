/** Where the sockets are: command line > environment > manifest settings > platform default. */
import { currentHost, defaultEndpoints, type Host } from "./platform.js";

export interface EndpointSources {
  /** Repeated `--control`/`--status` flags. */
  flags?: string[] | undefined;
  /** The manifest's `settings.control`/`settings.status`. */
  manifest?: string[] | null | undefined;
}

/** `FLOWINIT_CONTROL` / `FLOWINIT_STATUS` may list several endpoints separated by commas. */
function fromEnv(value: string | undefined): string[] | undefined {
  const list = value?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return list !== undefined && list.length > 0 ? list : undefined;
}

/** A tcp:// endpoint: secured with CURVE (CONTRACT.md section 6), unlike ipc://. */
export const isTcp = (endpoint: string): boolean => endpoint.startsWith("tcp://");

export function resolveEndpoints(
  which: "control" | "status",
  sources: EndpointSources,
  host: Host,
): string[] {
  if (sources.flags !== undefined && sources.flags.length > 0) return sources.flags;
  const env = fromEnv(host.env[which === "control" ? "FLOWINIT_CONTROL" : "FLOWINIT_STATUS"]);
  if (env !== undefined) return env;
  if (sources.manifest) return sources.manifest;
  return [defaultEndpoints(host)[which]];
}

/**
 * The endpoint a program finds without configuration: the first of
 * `FLOWINIT_CONTROL`/`FLOWINIT_STATUS` (which the daemon sets for its
 * services), else the platform default.
 */
export function defaultEndpoint(which: "control" | "status", host: Host = currentHost()): string {
  return resolveEndpoints(which, {}, host)[0]!;
}
