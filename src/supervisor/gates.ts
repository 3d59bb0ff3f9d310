/**
 * Gates (CONTRACT.md section 10), as pure functions: what one tick's device
 * readings say of each gate of `settings.gates`, given whether it was open,
 * and whether a service's `when` holds. No clock, no file: the daemon reads
 * the device once per tick (stats/device.ts) and hands the readings in.
 *
 * Every reading gate has a band in which it stays as it was, so that a
 * reading that hovers at the limit does not flap:
 *
 *   temperature   closes above temperature_max_c, opens below clear_below_c
 *   battery       closes below battery_min_percent (unless charging, with
 *                 or_charging), opens at REOPEN_MARGIN_PERCENT above it
 *   disk          closes below disk_free_min_percent free, opens at
 *                 REOPEN_MARGIN_PERCENT above it
 *   file_exists   open while the path exists (a file appears or not: no band)
 *
 * A gate with nothing to read (Android hides much of /sys) stays as it was,
 * and starts open: a device that cannot be read is no reason never to run.
 */
import type { GateCondition, GateSpec } from "../manifest/spec.js";
import type { DeviceVitals, Probed, Probes } from "../stats/device.js";

/** A gate the device's readings decide; external gates are set by requests. */
export type ReadingGate = Exclude<GateSpec, { kind: "external" }>;

/** Battery and disk gates open again only this many points above their minimum (at most 100). */
export const REOPEN_MARGIN_PERCENT = 2;

/** A gate as the services see it, and as the snapshot shows it. */
export interface GateView {
  open: boolean;
  /** What decided it: the reading (`46.1 C > 45`), or who set it. */
  reason: string;
  /** ms since the epoch of the last flip (wall clock: people read it). */
  since: number;
}

export interface Decision {
  open: boolean;
  reason: string;
}

/** One tick's readings: the device topic's, and what the gates asked the sampler for besides. */
export interface Readings {
  vitals: DeviceVitals;
  probed: Probed;
}

/** What the sampler must read for these gates beyond the device topic's figures. */
export function probesFor(gates: readonly GateSpec[]): Probes {
  const probes = { temperatureFiles: [] as string[], charging: false, diskPaths: [] as string[], exists: [] as string[] };
  for (const g of gates) {
    if (g.kind === "temperature" && g.file !== null) probes.temperatureFiles.push(g.file);
    if (g.kind === "battery" && g.orCharging) probes.charging = true;
    if (g.kind === "disk" && g.path !== null) probes.diskPaths.push(g.path);
    if (g.kind === "file_exists") probes.exists.push(g.path);
  }
  return probes;
}

/** Whether `gate` is open after this tick's readings; `was` null: the first reading. */
export function decideGate(gate: ReadingGate, r: Readings, was: boolean | null): Decision {
  const held = (reason: string): Decision => ({ open: was ?? true, reason });
  switch (gate.kind) {
    case "temperature": {
      const c = gate.file === null ? hottest(r.vitals.temperatures_c) : (r.probed.temperatures.get(gate.file) ?? null);
      if (c === null) return held(`no temperature readable${gate.file === null ? " (no thermal zone)" : ` in ${gate.file}`}`);
      if (was === false) return c < gate.clearBelowC ? { open: true, reason: `${c} C < ${gate.clearBelowC}` } : { open: false, reason: `${c} C >= ${gate.clearBelowC}` };
      return c > gate.maxC ? { open: false, reason: `${c} C > ${gate.maxC}` } : { open: true, reason: `${c} C <= ${gate.maxC}` };
    }
    case "battery": {
      if (gate.orCharging && r.probed.charging === true) return { open: true, reason: "charging" };
      const p = r.vitals.battery_percent;
      if (p === null) return held("no battery readable");
      const unplugged = gate.orCharging ? ", not charging" : "";
      return band(was, p, gate.minPercent, (v, op, limit) => `battery ${v}% ${op} ${limit}%${op === "<" ? unplugged : ""}`);
    }
    case "disk": {
      const f = gate.path === null ? r.vitals.disk_free_percent : (r.probed.diskFree.get(gate.path) ?? null);
      if (f === null) return held(`no free space readable${gate.path === null ? " for the log folder" : ` for ${gate.path}`}`);
      return band(was, f, gate.minFreePercent, (v, op, limit) => `${v}% free ${op} ${limit}%`);
    }
    case "file_exists":
      return r.probed.exists.get(gate.path) === true ? { open: true, reason: `${gate.path} exists` } : { open: false, reason: `no ${gate.path}` };
  }
}

/** Closes below `min`; once closed, opens only at the margin above it. */
function band(was: boolean | null, v: number, min: number, say: (v: number, op: "<" | ">=", limit: number) => string): Decision {
  if (was === false) {
    const reopen = Math.min(min + REOPEN_MARGIN_PERCENT, 100);
    return v >= reopen ? { open: true, reason: say(v, ">=", reopen) } : { open: false, reason: say(v, "<", reopen) };
  }
  return v < min ? { open: false, reason: say(v, "<", min) } : { open: true, reason: say(v, ">=", min) };
}

function hottest(zones: Record<string, number>): number | null {
  let max: number | null = null;
  for (const c of Object.values(zones)) if (max === null || c > max) max = c;
  return max;
}

/** Whether every condition of a `when` holds. */
export function whenHolds(when: readonly GateCondition[], isOpen: (gate: string) => boolean): boolean {
  return when.every((c) => isOpen(c.gate) === c.open);
}

/** What a flip tells the services it stops or starts: `gate cool closed: 46.1 C > 45`. */
export function flipReason(gate: string, open: boolean, reason: string): string {
  return `gate ${gate} ${open ? "open" : "closed"}: ${reason}`;
}
