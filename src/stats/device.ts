/**
 * Device vitals for the `device` topic. Android hides much of /proc and /sys
 * from apps, so every source may be missing: it then reads null (or {}),
 * never an error.
 */
import { readdirSync, readFileSync, statfsSync } from "node:fs";
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
  private batteryFile: string | null | undefined;
  private zones: Zone[] | undefined;

  constructor(opts: DeviceSamplerOptions = {}) {
    this.root = opts.root ?? "/";
  }

  sample(logDir: string): DeviceVitals {
    return {
      cpu_percent: this.cpuPercent(),
      memory_percent: this.memoryPercent(),
      disk_free_percent: diskFreePercent(logDir),
      battery_percent: this.batteryPercent(),
      temperatures_c: this.temperatures(),
    };
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
    if (this.batteryFile === undefined) this.batteryFile = this.findBattery();
    if (this.batteryFile === null) return null;
    const n = Number(readText(this.batteryFile)?.trim() || NaN);
    return Number.isFinite(n) ? n : null;
  }

  private findBattery(): string | null {
    const dir = this.path("sys/class/power_supply");
    for (const supply of list(dir)) {
      if (readText(join(dir, supply, "type"))?.trim() === "Battery") return join(dir, supply, "capacity");
    }
    return null;
  }

  private temperatures(): Record<string, number> {
    this.zones ??= this.findZones();
    const out: Record<string, number> = {};
    for (const z of this.zones) {
      // A disabled zone fails its read (EINVAL, ENODATA): it is left out.
      const milli = Number(readText(z.tempFile)?.trim() || NaN);
      if (Number.isFinite(milli)) out[z.key] = round1(milli / 1000);
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
