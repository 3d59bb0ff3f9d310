/** Device vitals: the real machine, and a fake /proc and /sys for what it lacks. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { DeviceSampler } from "../../src/stats/device.js";
import { tempDir } from "../helpers/daemon.js";

function tree(files: Record<string, string>): string {
  const root = tempDir();
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const percent = (v: number | null) => v === null || (v >= 0 && v <= 100);

describe("DeviceSampler", () => {
  it("reads this machine: every number in range or null", async () => {
    const s = new DeviceSampler();
    const first = s.sample(tempDir()).vitals;
    expect(first.cpu_percent).toBeNull();
    await new Promise((r) => setTimeout(r, 50));
    const v = s.sample(tempDir()).vitals;
    for (const key of ["cpu_percent", "memory_percent", "disk_free_percent", "battery_percent"] as const) {
      expect(percent(v[key]), `${key} = ${v[key]}`).toBe(true);
    }
    for (const t of Object.values(v.temperatures_c)) expect(Number.isFinite(t)).toBe(true);
  });

  it("parses battery, thermal zones, memory and CPU from a fake tree", () => {
    const stat = (user: number, idle: number) => `cpu  ${user} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 1 2 3 4\n`;
    const root = tree({
      "proc/stat": stat(100, 100),
      "proc/meminfo": "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n",
      "sys/class/power_supply/AC/type": "Mains\n",
      "sys/class/power_supply/battery/type": "Battery\n",
      "sys/class/power_supply/battery/capacity": "57\n",
      "sys/class/thermal/thermal_zone0/type": "cpu-0\n",
      "sys/class/thermal/thermal_zone0/temp": "41500\n",
      // Disabled: no readable temperature.
      "sys/class/thermal/thermal_zone1/type": "modem\n",
      "sys/class/thermal/cooling_device0/type": "fan\n",
    });
    const s = new DeviceSampler({ root });
    expect(s.sample(root).vitals).toEqual({
      cpu_percent: null,
      memory_percent: 75,
      disk_free_percent: expect.any(Number),
      battery_percent: 57,
      temperatures_c: { "cpu-0": 41.5 },
    });
    writeFileSync(join(root, "proc/stat"), stat(130, 170));
    expect(s.sample(root).vitals.cpu_percent).toBe(30);
  });

  it("names a repeated zone type after its zone", () => {
    const root = tree({
      "sys/class/thermal/thermal_zone2/type": "acpitz\n",
      "sys/class/thermal/thermal_zone2/temp": "30000\n",
      "sys/class/thermal/thermal_zone10/type": "acpitz\n",
      "sys/class/thermal/thermal_zone10/temp": "45000\n",
    });
    expect(new DeviceSampler({ root }).sample(root).vitals.temperatures_c).toEqual({ acpitz: 30, "acpitz.10": 45 });
  });

  it("turns every missing source into null or {}", () => {
    const root = tempDir();
    const s = new DeviceSampler({ root });
    const empty = {
      cpu_percent: null,
      memory_percent: null,
      disk_free_percent: null,
      battery_percent: null,
      temperatures_c: {},
    };
    expect(s.sample(join(root, "no-such-dir")).vitals).toEqual(empty);
    expect(s.sample(join(root, "no-such-dir")).vitals).toEqual(empty);
  });

  it("reads what the gates probe in the same pass: a zone's file, another file, charging, free space, existence", () => {
    const root = tree({
      "sys/class/power_supply/battery/type": "Battery\n",
      "sys/class/power_supply/battery/capacity": "15\n",
      "sys/class/power_supply/battery/status": "Charging\n",
      "sys/class/thermal/thermal_zone0/type": "cpu-0\n",
      "sys/class/thermal/thermal_zone0/temp": "46100\n",
      "fake/temp": "38000\n",
      "present": "",
    });
    const zone = join(root, "sys/class/thermal/thermal_zone0/temp");
    const s = new DeviceSampler({ root });
    const probes = {
      temperatureFiles: [zone, join(root, "fake/temp"), join(root, "missing/temp")],
      charging: true,
      diskPaths: [root, join(root, "no-such-dir")],
      exists: [join(root, "present"), join(root, "absent")],
    };
    const { vitals, probed } = s.sample(root, probes);
    expect(vitals).toMatchObject({ battery_percent: 15, temperatures_c: { "cpu-0": 46.1 } });
    expect(probed.temperatures).toEqual(new Map([[zone, 46.1], [join(root, "fake/temp"), 38], [join(root, "missing/temp"), null]]));
    expect(probed.charging).toBe(true);
    expect(probed.diskFree.get(root)).toBe(vitals.disk_free_percent);
    expect(probed.diskFree.get(join(root, "no-such-dir"))).toBeNull();
    expect(probed.exists).toEqual(new Map([[join(root, "present"), true], [join(root, "absent"), false]]));
    writeFileSync(join(root, "sys/class/power_supply/battery/status"), "Discharging\n");
    expect(s.sample(root, probes).probed.charging).toBe(false);
    // Nothing probed, nothing read: no battery status asked for.
    expect(s.sample(root).probed.charging).toBeNull();
  });
});
