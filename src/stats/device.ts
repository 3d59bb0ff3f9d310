/**
 * Device vitals for the `device` topic, and in the same pass what the gates
 * (supervisor/gates.ts) read besides: a temperature file that is not a
 * thermal zone's, whether the battery charges, the free space of another
 * path, whether a file exists (one stat per such gate per tick). Android
 * hides much of /proc and /sys from apps, so every source may be missing: it
 * then reads null (or {}), never an error.
 */
import { existsSync, readdirSync, readFileSync, statfsSync } from "node:fs";
import { join } from "node:path";

export interface DeviceVitals {
  /** All cores busy since the previous sample, 0-100; null on the first sample or without /proc/stat. */
  cpu_percent: number | null;
  /** 100 * (MemTotal - MemAvailable) / MemTotal. */
  memory_percent: number | null;
  /** Free space, for unprivileged users, of the file system holding the log directory. */
  disk_free_percent: number | null;
  /** Charge of the first power supply of type Battery. */
  battery_percent: number | null;
  /** Thermal zone type -> degrees Celsius; a repeated type gets `.N`, N its zone number. */
  temperatures_c: Record<string, number>;
}

export interface DeviceSamplerOptions {
  /** Prefix for /proc and /sys, so tests can point at a fake tree. Default `/`. */
  root?: string;
}

/** What to read beyond the device topic's figures. */
export interface Probes {
  /** Files of millidegrees Celsius; a thermal zone's own file is not read twice. */
  temperatureFiles: readonly string[];
  /** Whether the battery charges (its `status`). */
  charging: boolean;
  /** Paths whose file system's free space to read. */
  diskPaths: readonly string[];
  /** Paths whose existence to check. */
  exists: readonly string[];
}

export const NO_PROBES: Probes = { temperatureFiles: [], charging: false, diskPaths: [], exists: [] };

/** What the probes read, keyed by their paths. */
export interface Probed {
  /** Degrees Celsius; null: unreadable. */
  temperatures: ReadonlyMap<string, number | null>;
  /** null: no battery, or its status unreadable. */
  charging: boolean | null;
  diskFree: ReadonlyMap<string, number | null>;
  exists: ReadonlyMap<string, boolean>;
}

export interface DeviceSample {
  /** The device topic's body. */
  vitals: DeviceVitals;
  probed: Probed;
}

interface CpuTimes {
  busy: number;
  total: number;
}

interface Zone {
  key: string;
  tempFile: string;
}

export class DeviceSampler {
  private readonly root: string;
  private prevCpu: CpuTimes | null = null;
  // What a device has does not change while it runs: looked up on the first sample only.
  private batteryDir: string | null | undefined;
  private zones: Zone[] | undefined;

  constructor(opts: DeviceSamplerOptions = {}) {
    this.root = opts.root ?? "/";
  }

  sample(logDir: string, probes: Probes = NO_PROBES): DeviceSample {
    const zoneReadings = new Map<string, number | null>();
    const vitals: DeviceVitals = {
      cpu_percent: this.cpuPercent(),
      memory_percent: this.memoryPercent(),
      disk_free_percent: diskFreePercent(logDir),
      battery_percent: this.batteryPercent(),
      temperatures_c: this.temperatures(zoneReadings),
    };
    const temperatures = new Map<string, number | null>();
    for (const file of probes.temperatureFiles) temperatures.set(file, zoneReadings.has(file) ? zoneReadings.get(file)! : celsius(file));
    const diskFree = new Map<string, number | null>();
    for (const path of probes.diskPaths) diskFree.set(path, path === logDir ? vitals.disk_free_percent : diskFreePercent(path));
    const exists = new Map<string, boolean>();
    for (const path of probes.exists) exists.set(path, existsSync(path));
    return { vitals, probed: { temperatures, charging: probes.charging ? this.charging() : null, diskFree, exists } };
  }

  private path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  private cpuPercent(): number | null {
    const text = readText(this.path("proc/stat"));
    if (text === null || !text.startsWith("cpu ")) return null;
    // user nice system idle iowait irq softirq steal; guest time is already inside user.
    const t = text.slice(4, text.indexOf("\n")).trim().split(/\s+/).slice(0, 8).map(Number);
    if (t.length < 5 || t.some((n) => !Number.isFinite(n))) return null;
    const total = t.reduce((a, b) => a + b, 0);
    const now = { busy: total - t[3]! - t[4]!, total };
    const prev = this.prevCpu;
    this.prevCpu = now;
    if (prev === null || now.total <= prev.total) return null;
    return round1((100 * (now.busy - prev.busy)) / (now.total - prev.total));
  }

  private memoryPercent(): number | null {
    const text = readText(this.path("proc/meminfo"));
    if (text === null) return null;
    const total = meminfoKb(text, "MemTotal");
    const available = meminfoKb(text, "MemAvailable");
    if (total === null || available === null || total === 0) return null;
    return round1((100 * (total - available)) / total);
  }

  private batteryPercent(): number | null {
    if (this.batteryDir === undefined) this.batteryDir = this.findBattery();
    if (this.batteryDir === null) return null;
    const n = Number(readText(join(this.batteryDir, "capacity"))?.trim() || NaN);
    return Number.isFinite(n) ? n : null;
  }

  /** `Full` counts: the charger is plugged in. */
  private charging(): boolean | null {
    if (this.batteryDir === null || this.batteryDir === undefined) return null;
    const status = readText(join(this.batteryDir, "status"))?.trim();
    return status === undefined ? null : status === "Charging" || status === "Full";
  }

  private findBattery(): string | null {
    const dir = this.path("sys/class/power_supply");
    for (const supply of list(dir)) {
      if (readText(join(dir, supply, "type"))?.trim() === "Battery") return join(dir, supply);
    }
    return null;
  }

  /** `byFile`: each zone's reading by its file, for a gate that names one. */
  private temperatures(byFile: Map<string, number | null>): Record<string, number> {
    this.zones ??= this.findZones();
    const out: Record<string, number> = {};
    for (const z of this.zones) {
      // A disabled zone fails its read (EINVAL, ENODATA): it is left out.
      const c = celsius(z.tempFile);
      byFile.set(z.tempFile, c);
      if (c !== null) out[z.key] = c;
    }
    return out;
  }

  private findZones(): Zone[] {
    const dir = this.path("sys/class/thermal");
    const numbered = list(dir)
      .map((name) => ({ name, n: /^thermal_zone(\d+)$/.exec(name)?.[1] }))
      .filter((z): z is { name: string; n: string } => z.n !== undefined)
      .sort((a, b) => Number(a.n) - Number(b.n));
    const zones: Zone[] = [];
    const keys = new Set<string>();
    for (const { name, n } of numbered) {
      const type = readText(join(dir, name, "type"))?.trim();
      if (!type) continue;
      const key = keys.has(type) ? `${type}.${n}` : type;
      keys.add(key);
      zones.push({ key, tempFile: join(dir, name, "temp") });
    }
    return zones;
  }
}

/** A thermal zone's `temp`: millidegrees Celsius. */
function celsius(file: string): number | null {
  const milli = Number(readText(file)?.trim() || NaN);
  return Number.isFinite(milli) ? round1(milli / 1000) : null;
}

function diskFreePercent(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.blocks > 0 ? round1((100 * s.bavail) / s.blocks) : null;
  } catch {
    return null;
  }
}

function meminfoKb(text: string, key: string): number | null {
  const m = new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : null;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** One decimal: the status topic carries these every tick. */
function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
