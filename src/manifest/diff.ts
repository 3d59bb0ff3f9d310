/** What a reload changes: services compared by name, then by every key that affects how they run. */
import type { ServiceSpec } from "./spec.js";

export interface ManifestDiff {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

/**
 * A spec as JSON, every key compared. Specs come out of normalize with one
 * key order; what the manifest may order at will without changing how the
 * service runs (env keys, depends_on, when, platforms, success_exit_codes) is sorted, so that a
 * reordered manifest restarts nothing.
 */
function canonical(s: ServiceSpec): string {
  const env = Object.fromEntries(Object.entries(s.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({
    ...s,
    env,
    dependsOn: [...s.dependsOn].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    when: s.when.map((c) => `${c.open ? "" : "!"}${c.gate}`).sort(),
    platforms: s.platforms && [...s.platforms].sort(),
    successExitCodes: [...s.successExitCodes].sort((a, b) => a - b),
  });
}

const same = (a: ServiceSpec, b: ServiceSpec) => canonical(a) === canonical(b);

export function diffServices(before: ServiceSpec[], after: ServiceSpec[]): ManifestDiff {
  const old = new Map(before.map((s) => [s.name, s]));
  const now = new Set(after.map((s) => s.name));
  const diff: ManifestDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const spec of after) {
    const prev = old.get(spec.name);
    if (prev === undefined) diff.added.push(spec.name);
    else if (same(prev, spec)) diff.unchanged.push(spec.name);
    else diff.changed.push(spec.name);
  }
  for (const spec of before) if (!now.has(spec.name)) diff.removed.push(spec.name);
  return diff;
}
