/**
 * For tests that drive the supervisor and the runner directly: service specs
 * exactly as a manifest gives them, their logs, and the pids a fixture writes
 * once it is set up.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { parseManifest, type ServiceSpec } from "../../src/manifest/index.js";
import { openServiceLog, type ServiceLog } from "../../src/runner/output.js";

/**
 * The specs of a manifest with these services in `dir` (the folder relative
 * `cwd`s resolve against): defaulted, validated, in dependency order.
 * `settings`: for the gates their `when` names.
 */
export function specsOf(services: Record<string, Record<string, unknown>>, dir: string, settings: Record<string, unknown> = {}): ServiceSpec[] {
  // JSON is YAML: the manifest's own parser fills in the defaults.
  const parsed = parseManifest(JSON.stringify({ settings, services }), join(dir, "services.yaml"));
  if (!parsed.ok) throw new Error(parsed.error.map((d) => d.message).join("\n"));
  return parsed.value.services;
}

export const specOf = (name: string, service: Record<string, unknown>, dir: string): ServiceSpec =>
  specsOf({ [name]: service }, dir)[0]!;

/** The `count` pids a fixture writes to its PIDFILE, once the file holds them. */
export async function pidsIn(file: string, count: number): Promise<number[]> {
  const read = () => {
    try {
      return readFileSync(file, "utf8").trim().split(/\s+/).map(Number).filter((p) => p > 0);
    } catch {
      return [];
    }
  };
  await expect.poll(() => read().length, { timeout: 20_000, interval: 5, message: `pids in ${file}` }).toBe(count);
  return read();
}

/** [stream, text] of each line of a service log file. */
export const logLines = (file: string): [string, string][] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const m = / (out|err|flowinit) \| (.*)$/.exec(l);
      if (m === null) throw new Error(`not a log line: ${JSON.stringify(l)}`);
      return [m[1]!, m[2]!];
    });

/** The log of service `name` under `dir`/logs, never rotated; a write error fails the test run. */
export const logIn = (dir: string, name: string): ServiceLog =>
  openServiceLog({ dir: join(dir, "logs"), name, maxSizeBytes: 0, keep: 1, onError: (e) => { throw e; } });

/** A random source for specs without restart_jitter: nothing may be drawn, so a manifest without it runs as before. */
export const noDraw = (): number => {
  throw new Error("drew a random number without restart_jitter");
};
