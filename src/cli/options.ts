/** Options several commands share, and how a client finds the daemon. */
import { existsSync } from "node:fs";
import { InvalidArgumentError, Option, type Command } from "commander";
import { EXIT, InvalidManifest, UserError } from "../errors.js";
import type { Manifest } from "../manifest/spec.js";
import { currentHost, type Host } from "../platform/platform.js";
import { resolveEndpoints } from "../platform/endpoints.js";
import { Client } from "../client/client.js";
import { curveClientOptions, type CurveOptions } from "../client/curve.js";

/** Collects a repeatable option into an array. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError("expected a non-negative integer");
  }
  return Number(value);
}

export function parsePositiveInt(value: string): number {
  const n = parseNonNegativeInt(value);
  if (n === 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

const defaultConfig = (env: NodeJS.ProcessEnv): string => env.FLOWINIT_CONFIG || "./services.yaml";

/**
 * The manifest at `file`, or its diagnostics thrown for the CLI to render.
 * The parser is loaded here, on demand, so that client commands do not pay
 * for it.
 */
export async function loadManifestOrThrow(file: string): Promise<Manifest> {
  const { loadManifest } = await import("../manifest/index.js");
  const loaded = await loadManifest(file);
  if (!loaded.ok) throw new InvalidManifest(loaded.error);
  return loaded.value;
}

export const configOption = () =>
  new Option("-c, --config <file>", "the manifest").default(defaultConfig(process.env), "$FLOWINIT_CONFIG, else ./services.yaml");

export interface EndpointFlags extends CurveOptions {
  control?: string[];
  status?: string[];
}

/** `--control`/`--status`, and for a client also its CURVE keys (the daemon has its own in the manifest). */
export function addEndpointOptions(cmd: Command, role: "client" | "daemon" = "client"): Command {
  cmd.option("--control <ep>", "control endpoint (repeatable)", collect).option("--status <ep>", "status endpoint (repeatable)", collect);
  if (role === "daemon") return cmd;
  return cmd
    .option("--server-key <key>", "the daemon's CURVE public key, for tcp:// endpoints (flowinit keys prints it)")
    .option("--key-file <file>", "this client's CURVE key pair (flowinit keys --client FILE writes one)");
}

/** The client of the daemon these flags name, with CURVE on a tcp:// endpoint. */
export async function clientFor(flags: EndpointFlags): Promise<Client> {
  const control = await clientEndpoint("control", flags);
  return new Client({ control, curve: await curveClientOptions(control, flags) });
}

const ENV = { control: "FLOWINIT_CONTROL", status: "FLOWINIT_STATUS" } as const;

/**
 * The endpoint a client talks to: flag > environment > the manifest's
 * settings > platform default, and the first of several. The manifest is
 * read only when neither flag nor environment decides, and any problem with
 * it is ignored: a client must still reach a daemon from anywhere.
 */
export async function clientEndpoint(
  which: "control" | "status",
  flags: EndpointFlags,
  host: Host = currentHost(),
): Promise<string> {
  const decided = (flags[which]?.length ?? 0) > 0 || (host.env[ENV[which]] ?? "").trim() !== "";
  const manifest = decided ? undefined : await manifestEndpoints(which, host);
  const [first] = resolveEndpoints(which, { flags: flags[which], manifest }, host);
  if (first === undefined) throw new UserError(`no ${which} endpoint is configured`, EXIT.usage);
  // ZeroMQ's own complaint about a malformed address is a bare "Invalid argument".
  if (!/^[a-z]+:\/\/./.test(first)) {
    throw new UserError(`${which} endpoint ${first} is not a ZeroMQ address (expected ipc://... or tcp://...)`, EXIT.usage);
  }
  return first;
}

async function manifestEndpoints(which: "control" | "status", host: Host): Promise<string[] | null | undefined> {
  const file = defaultConfig(host.env);
  if (!existsSync(file)) return undefined;
  // Loaded on demand: the manifest's parser is not worth loading for every client call.
  const { loadManifest } = await import("../manifest/index.js");
  const loaded = await loadManifest(file);
  return loaded.ok ? loaded.value.settings[which] : undefined;
}
