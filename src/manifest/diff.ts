/** What a reload changes: services compared by name, then by every key that affects how they run. */
import type { ServiceSpec } from "./spec.js";

export interface ManifestDiff {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

// Specs come out of normalize with one key order, so their JSON compares every key.
const same = (a: ServiceSpec, b: ServiceSpec) => JSON.stringify(a) === JSON.stringify(b);

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
