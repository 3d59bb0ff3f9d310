/** The gates' pure rules: readings -> open or closed, with hysteresis; probes; `when`. */
import { describe, expect, it } from "vitest";
import type { GateSpec } from "../../src/manifest/spec.js";
import { decideGate, flipReason, probesFor, whenHolds, type ReadingGate, type Readings } from "../../src/supervisor/gates.js";

const FILE = "/fake/thermal/temp";
const LOGS = "/data/logs";

const cool: ReadingGate = { name: "cool", kind: "temperature", maxC: 45, clearBelowC: 42, file: null };
const coolFile: ReadingGate = { ...cool, file: FILE };
const power: ReadingGate = { name: "power", kind: "battery", minPercent: 20, orCharging: true };
const strict: ReadingGate = { name: "strict", kind: "battery", minPercent: 20, orCharging: false };
const full: ReadingGate = { name: "full", kind: "battery", minPercent: 99, orCharging: false };
const space: ReadingGate = { name: "space", kind: "disk", minFreePercent: 5, path: null };
const spaceAt: ReadingGate = { name: "space", kind: "disk", minFreePercent: 5, path: LOGS };
const parked: ReadingGate = { name: "parked", kind: "file_exists", path: "/run/parked" };

interface Given {
  zones?: Record<string, number>;
  file?: number | null;
  battery?: number | null;
  charging?: boolean | null;
  disk?: number | null;
  diskAt?: number | null;
  exists?: boolean;
}

const readings = (g: Given): Readings => ({
  vitals: {
    cpu_percent: null,
    memory_percent: null,
    disk_free_percent: g.disk ?? null,
    battery_percent: g.battery ?? null,
    temperatures_c: g.zones ?? {},
  },
  probed: {
    temperatures: new Map(g.file === undefined ? [] : [[FILE, g.file]]),
    charging: g.charging ?? null,
    diskFree: new Map(g.diskAt === undefined ? [] : [[LOGS, g.diskAt]]),
    exists: new Map(g.exists === undefined ? [] : [["/run/parked", g.exists]]),
  },
});

/** gate, what it was (null: the first reading), the readings -> open, reason. */
const TABLE: [string, ReadingGate, boolean | null, Given, boolean, string][] = [
  ["temperature: first reading below the limit", cool, null, { zones: { cpu: 30, gpu: 44 } }, true, "44 C <= 45"],
  ["temperature: first reading inside the band opens", cool, null, { zones: { cpu: 43 } }, true, "43 C <= 45"],
  ["temperature: first reading above the limit", cool, null, { zones: { cpu: 46.1 } }, false, "46.1 C > 45"],
  ["temperature: the hottest zone counts", cool, true, { zones: { cpu: 40, battery: 46.1, modem: 20 } }, false, "46.1 C > 45"],
  ["temperature: at the limit stays open", cool, true, { zones: { cpu: 45 } }, true, "45 C <= 45"],
  ["temperature: closed, below the limit but not below the clear stays closed", cool, false, { zones: { cpu: 43 } }, false, "43 C >= 42"],
  ["temperature: closed, at the clear stays closed", cool, false, { zones: { cpu: 42 } }, false, "42 C >= 42"],
  ["temperature: closed, below the clear opens", cool, false, { zones: { cpu: 41.9 } }, true, "41.9 C < 42"],
  ["temperature: no zone keeps it open", cool, true, {}, true, "no temperature readable (no thermal zone)"],
  ["temperature: no zone keeps it closed", cool, false, {}, false, "no temperature readable (no thermal zone)"],
  ["temperature: no zone at the first reading opens", cool, null, {}, true, "no temperature readable (no thermal zone)"],
  ["temperature: its own file, not the zones", coolFile, true, { zones: { cpu: 80 }, file: 44 }, true, "44 C <= 45"],
  ["temperature: its own file above the limit", coolFile, true, { zones: { cpu: 20 }, file: 50 }, false, "50 C > 45"],
  ["temperature: its file unreadable keeps it", coolFile, false, { zones: { cpu: 20 }, file: null }, false, `no temperature readable in ${FILE}`],
  ["battery: above the minimum", strict, null, { battery: 57 }, true, "battery 57% >= 20%"],
  ["battery: at the minimum stays open", strict, true, { battery: 20 }, true, "battery 20% >= 20%"],
  ["battery: below the minimum closes", strict, true, { battery: 19 }, false, "battery 19% < 20%"],
  ["battery: closed, back at the minimum stays closed", strict, false, { battery: 20 }, false, "battery 20% < 22%"],
  ["battery: closed, at the margin opens", strict, false, { battery: 22 }, true, "battery 22% >= 22%"],
  ["battery: charging does not count without or_charging", strict, true, { battery: 10, charging: true }, false, "battery 10% < 20%"],
  ["battery: charging opens with or_charging", power, false, { battery: 10, charging: true }, true, "charging"],
  ["battery: not charging closes with or_charging", power, true, { battery: 10, charging: false }, false, "battery 10% < 20%, not charging"],
  ["battery: status unreadable counts as not charging", power, true, { battery: 10, charging: null }, false, "battery 10% < 20%, not charging"],
  ["battery: none readable keeps it", strict, false, { battery: null }, false, "no battery readable"],
  ["battery: a minimum near 100 opens again at 100", full, false, { battery: 100 }, true, "battery 100% >= 100%"],
  ["disk: the log folder's free space", space, null, { disk: 80 }, true, "80% free >= 5%"],
  ["disk: below the minimum closes", space, true, { disk: 4.9 }, false, "4.9% free < 5%"],
  ["disk: closed, above the minimum but below the margin stays closed", space, false, { disk: 6.9 }, false, "6.9% free < 7%"],
  ["disk: closed, at the margin opens", space, false, { disk: 7 }, true, "7% free >= 7%"],
  ["disk: another path's free space", spaceAt, true, { disk: 80, diskAt: 3 }, false, "3% free < 5%"],
  ["disk: unreadable keeps it", spaceAt, true, { disk: 80, diskAt: null }, true, `no free space readable for ${LOGS}`],
  ["file_exists: there", parked, false, { exists: true }, true, "/run/parked exists"],
  ["file_exists: gone", parked, true, { exists: false }, false, "no /run/parked"],
];

describe("decideGate", () => {
  for (const [name, gate, was, given, open, reason] of TABLE) {
    it(name, () => {
      expect(decideGate(gate, readings(given), was)).toEqual({ open, reason });
    });
  }

  it("a temperature that hovers at the limit flips once each way, not on every tick", () => {
    const series = [44, 45.2, 44.8, 45.1, 44.9, 43, 42.5, 42, 41.9, 42.1, 44.9, 45, 42.1];
    let open: boolean | null = null;
    const flips: string[] = [];
    for (const c of series) {
      const d = decideGate(cool, readings({ zones: { cpu: c } }), open);
      if (open !== null && d.open !== open) flips.push(d.reason);
      open = d.open;
    }
    expect(flips).toEqual(["45.2 C > 45", "41.9 C < 42"]);
  });

  it("a battery that hovers at its minimum flips once", () => {
    let open: boolean | null = null;
    const flips: string[] = [];
    for (const p of [21, 20, 19, 20, 19, 20, 21, 20, 21]) {
      const d = decideGate(strict, readings({ battery: p }), open);
      if (open !== null && d.open !== open) flips.push(d.reason);
      open = d.open;
    }
    expect(flips).toEqual(["battery 19% < 20%"]);
  });
});

describe("probesFor", () => {
  it("asks only for what the device topic does not read already", () => {
    const gates: GateSpec[] = [cool, coolFile, power, strict, space, spaceAt, parked, { name: "started", kind: "external" }];
    expect(probesFor(gates)).toEqual({ temperatureFiles: [FILE], charging: true, diskPaths: [LOGS], exists: ["/run/parked"] });
    expect(probesFor([cool, strict, space])).toEqual({ temperatureFiles: [], charging: false, diskPaths: [], exists: [] });
  });
});

describe("whenHolds", () => {
  const open = new Set(["flag", "cool"]);
  const isOpen = (g: string) => open.has(g);
  it.each([
    [[], true],
    [[{ gate: "flag", open: true }], true],
    [[{ gate: "flag", open: true }, { gate: "cool", open: true }], true],
    [[{ gate: "flag", open: true }, { gate: "power", open: true }], false],
    [[{ gate: "flag", open: false }], false],
    [[{ gate: "power", open: false }, { gate: "cool", open: true }], true],
  ])("%j -> %s", (when, holds) => {
    expect(whenHolds(when, isOpen)).toBe(holds);
  });

  it("names the gate, its new state and the reading in a flip's reason", () => {
    expect(flipReason("cool", false, "46.1 C > 45")).toBe("gate cool closed: 46.1 C > 45");
    expect(flipReason("flag", true, "green flag")).toBe("gate flag open: green flag");
  });
});
