/**
 * Gates against a real daemon (CONTRACT.md section 10): a thermal gate on a
 * fake /sys (FLOWINIT_DEVICE_ROOT) and on a fake file, a fake battery, an
 * external gate set over the control socket and by the CLI, an offroad-only
 * service (`!flag`), each flip's event and the snapshot's `daemon.gates`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import type { EventMessage, Snapshot } from "../../src/bus/protocol.js";
import { sendRaw } from "../../src/client/client.js";
import { BIN, daemonPerTest, state, tempDir, type Message, type RunningDaemon } from "../helpers/daemon.js";

const daemons = daemonPerTest();

/** A fake /proc and /sys under a folder of its own, for FLOWINIT_DEVICE_ROOT. */
function deviceRoot(files: Record<string, string>): { root: string; write: (path: string, text: string) => void } {
  const root = tempDir();
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  for (const [path, text] of Object.entries(files)) write(path, text);
  return { root, write };
}

const ZONE = "sys/class/thermal/thermal_zone0";
const BATTERY = "sys/class/power_supply/battery";
const json = (d: RunningDaemon, req: object) => sendRaw(d.control, JSON.stringify(req), null).then((r) => JSON.parse(r));
const gates = (s: Snapshot) => s.daemon.gates!;
const isDevice = (test: (m: Record<string, unknown>) => boolean) => (m: Message): m is Message => m.topic === "device" && test(m.data as Record<string, unknown>);

describe("a thermal gate", () => {
  it("stops the heavy service above 45 C, dependents first, and starts it again only below 42 C", async () => {
    const dev = deviceRoot({ [`${ZONE}/type`]: "cpu-0\n", [`${ZONE}/temp`]: "40000\n" });
    const d = await daemons.start(
      `settings:
  interval: 50ms
  gates:
    cool: {temperature_max_c: 45, clear_below_c: 42}
services:
  camerad: { command: exec sleep 1000 }
  modeld: { command: exec sleep 1000, when: [flag, cool] }
  planner: { command: exec sleep 1000, when: [flag, cool], depends_on: [modeld] }
`,
      [],
      { FLOWINIT_DEVICE_ROOT: dev.root },
    );
    const watch = execa("node", [BIN, "watch", "--status", d.status], { reject: false });
    let frames = "";
    watch.stdout!.on("data", (c: Buffer) => (frames += c.toString()));
    try {
      // Its first frame with a snapshot: it hears what follows.
      await expect.poll(() => frames, { timeout: 20_000 }).toContain("NAME");
      await d.flag();
      await d.rec.snapshot((s) => ["camerad", "modeld", "planner"].every((n) => state(s, n)?.state === "running"), "all running");
      expect(gates(await d.rec.snapshot(() => true, "a snapshot", d.rec.mark - 1)).cool).toMatchObject({ open: true, reason: "40 C <= 45" });

      const hot = d.rec.mark;
      dev.write(`${ZONE}/temp`, "46100\n");
      const flip = await d.rec.gate("cool", "closed", hot);
      expect(flip.data).toMatchObject({ service: null, gate: "cool", open: false, from: "open", to: "closed", reason: "46.1 C > 45" });
      const waiting = await d.rec.event("modeld", "waiting", hot);
      expect(waiting.data.reason).toBe("gate cool closed: 46.1 C > 45");
      const events = d.rec.messages.slice(hot).filter((m) => m.topic === "event").map((m) => m.data as EventMessage);
      const at = (service: string, to: string) => events.findIndex((e) => e.service === service && e.to === to);
      expect(at("planner", "stopped")).toBeLessThan(at("modeld", "stopping"));
      expect(d.rec.messages.indexOf(flip)).toBeLessThan(d.rec.messages.findIndex((m, i) => i >= hot && m.topic === "event" && (m.data as EventMessage).service === "planner"));
      expect(events.find((e) => e.service === "modeld" && e.to === "stopping")?.reason).toBe("gate cool closed: 46.1 C > 45");
      expect(events.some((e) => e.service === "camerad")).toBe(false);

      // Below the limit, not below the clear: a few ticks later, still closed.
      const warm = d.rec.mark;
      dev.write(`${ZONE}/temp`, "43000\n");
      const read = await d.rec.waitFor(isDevice((m) => (m.temperatures_c as Record<string, number>)["cpu-0"] === 43), "43 C read", warm);
      const after = await d.rec.snapshot(() => true, "the snapshot after", d.rec.messages.indexOf(read) + 1);
      expect(gates(after).cool).toMatchObject({ open: false });
      expect(state(after, "modeld")?.state).toBe("waiting");

      const cool = d.rec.mark;
      dev.write(`${ZONE}/temp`, "41500\n");
      expect((await d.rec.gate("cool", "open", cool)).data.reason).toBe("41.5 C < 42");
      const starting = await d.rec.event("modeld", "starting", cool);
      expect(starting.data.reason).toBe("gate cool open: 41.5 C < 42");
      // The flip comes first on the topic, then what it starts.
      expect(d.rec.messages.indexOf(await d.rec.gate("cool", "open", cool))).toBeLessThan(d.rec.messages.indexOf(starting));
      await d.rec.event("planner", "running", cool);

      // What a user sees in `flowinit watch`.
      await expect.poll(() => frames, { timeout: 20_000 }).toContain("gate cool open -> closed: 46.1 C > 45");
      expect(frames).toContain("modeld stopped -> waiting: gate cool closed: 46.1 C > 45");
      expect(frames).toContain("gates  flag open  cool closed (46.1 C > 45)");
      await expect.poll(() => frames, { timeout: 20_000 }).toContain("gate cool closed -> open: 41.5 C < 42");
    } finally {
      watch.kill("SIGTERM");
      await watch;
    }
  });

  it("reads the file it names instead of the thermal zones; a service of its own only waits at start while too hot", async () => {
    const dir = tempDir();
    const file = join(dir, "temp");
    writeFileSync(file, "50000\n");
    const d = await daemons.start(
      `settings:
  interval: 50ms
  gates:
    cool: {temperature_max_c: 45, clear_below_c: 42, file: ${file}}
services:
  fan: { command: exec sleep 1000, when: [cool] }
`,
      [],
      { FLOWINIT_DEVICE_ROOT: tempDir() },
    );
    const first = await d.rec.snapshot(() => true, "a snapshot");
    expect(gates(first)).toMatchObject({ flag: { open: false }, cool: { open: false, reason: "50 C > 45" } });
    expect(state(first, "fan")?.state).toBe("waiting");
    const mark = d.rec.mark;
    writeFileSync(file, "30000\n");
    await d.rec.event("fan", "running", mark);
  });
});

describe("a reading gate and a reload", () => {
  it("a flip decided while reloads wait runs after them, and the next readings go on from it", async () => {
    const dev = deviceRoot({ [`${ZONE}/type`]: "cpu-0\n", [`${ZONE}/temp`]: "46000\n" });
    const manifest = (slow: string) => `settings:
  interval: 50ms
  gates:
    cool: {temperature_max_c: 45, clear_below_c: 42}
services:
  slow: { command: ${slow}, nowait: true, stop_timeout: 60s }
  fan: { command: exec sleep 1000, when: [cool] }
`;
    const d = await daemons.start(manifest("PIDFILE=$DIR/slow.pid $SERVICES/ignores-term.sh"), [], { FLOWINIT_DEVICE_ROOT: dev.root });
    const pids = () => readFileSync(join(d.dir, "slow.pid"), "utf8").trim().split(/\s+/).map(Number);
    await expect.poll(() => pids().length, { timeout: 20_000 }).toBe(2);
    expect(gates(await d.rec.snapshot(() => true, "a snapshot")).cool).toMatchObject({ open: false, reason: "46 C > 45" });
    // A reload that waits on slow's stop, which ignores SIGTERM.
    const mark = d.rec.mark;
    writeFileSync(d.manifest, manifest("exec sleep 1000"));
    const reload = json(d, { cmd: "reload" });
    await d.rec.event("slow", "stopping", mark);
    // A second reload, queued: it reads the gates again before the flip queued behind it runs.
    const second = json(d, { cmd: "reload" });
    dev.write(`${ZONE}/temp`, "41000\n");
    await d.rec.waitFor(isDevice((m) => (m.temperatures_c as Record<string, number>)["cpu-0"] === 41), "41 C read", mark);
    expect(d.rec.messages.slice(mark).some((m) => m.topic === "event" && (m.data as { gate?: string }).gate === "cool")).toBe(false);
    for (const pid of pids()) process.kill(pid, "SIGKILL");
    expect((await reload).ok).toBe(true);
    expect((await second).ok).toBe(true);
    await d.rec.gate("cool", "open", mark);
    await d.rec.event("fan", "running", mark);
    // In the band, then hot again: the gate closes, decided from its open state.
    const hot = d.rec.mark;
    dev.write(`${ZONE}/temp`, "43000\n");
    await d.rec.waitFor(isDevice((m) => (m.temperatures_c as Record<string, number>)["cpu-0"] === 43), "43 C read", hot);
    dev.write(`${ZONE}/temp`, "46000\n");
    expect((await d.rec.gate("cool", "closed", hot)).data.reason).toBe("46 C > 45");
    await d.rec.event("fan", "waiting", hot);
  });
});

describe("a battery gate", () => {
  it("closes below its minimum while not charging, and opens while charging", async () => {
    const dev = deviceRoot({ [`${BATTERY}/type`]: "Battery\n", [`${BATTERY}/capacity`]: "50\n", [`${BATTERY}/status`]: "Discharging\n" });
    const d = await daemons.start(
      `settings:
  interval: 50ms
  gates:
    power: {battery_min_percent: 20, or_charging: true}
services:
  modeld: { command: exec sleep 1000, when: [power] }
`,
      [],
      { FLOWINIT_DEVICE_ROOT: dev.root },
    );
    await d.rec.snapshot((s) => state(s, "modeld")?.state === "running", "modeld running");
    const low = d.rec.mark;
    dev.write(`${BATTERY}/capacity`, "10\n");
    expect((await d.rec.gate("power", "closed", low)).data.reason).toBe("battery 10% < 20%, not charging");
    expect((await d.rec.event("modeld", "waiting", low)).data.reason).toBe("gate power closed: battery 10% < 20%, not charging");
    const plugged = d.rec.mark;
    dev.write(`${BATTERY}/status`, "Charging\n");
    expect((await d.rec.gate("power", "open", plugged)).data.reason).toBe("charging");
    await d.rec.event("modeld", "running", plugged);
  });
});

describe("an external gate", () => {
  // A short tick: a request that flips nothing is seen in the next tick's snapshot.
  const MANIFEST = `settings:
  interval: 50ms
  gates:
    started: {external: true}
    cool: {temperature_max_c: 45, clear_below_c: 42}
services:
  bridge: { command: exec sleep 1000, when: [started] }
`;

  it("is set by the gate request and by flowinit gate; flowinit status shows it", async () => {
    const d = await daemons.start(MANIFEST, [], { FLOWINIT_DEVICE_ROOT: tempDir() });
    expect(gates(await d.rec.snapshot(() => true, "a snapshot")).started).toMatchObject({ open: false, reason: "not opened yet" });
    const mark = d.rec.mark;
    const reply = await json(d, { cmd: "gate", name: "started", open: true, reason: "ignition on" });
    expect(reply).toMatchObject({ ok: true, gate: { open: true, reason: "ignition on" } });
    expect((await d.rec.gate("started", "open", mark)).data.reason).toBe("ignition on");
    expect((await d.rec.event("bridge", "starting", mark)).data.reason).toBe("gate started open: ignition on");
    await d.rec.event("bridge", "running", mark);

    const status = await d.cli("status");
    expect(status.stdout.split("\n")[2]).toBe("gates  flag closed (no green flag yet)  started open  cool open");

    // Answered once what it stops is down.
    const close = await d.cli("gate", "started", "close");
    expect(close).toMatchObject({ exitCode: 0, stdout: "", stderr: "" });
    const now = await json(d, { cmd: "status" });
    expect(now.status.daemon.gates.started).toMatchObject({ open: false, reason: "gate request (close)" });
    expect(state(now.status, "bridge")?.state).toBe("waiting");

    // The same state again: answered, nothing flips.
    const again = d.rec.mark;
    expect(await json(d, { cmd: "gate", name: "started", open: false })).toMatchObject({ ok: true, gate: { open: false } });
    await d.rec.snapshot(() => true, "a snapshot", again);
    expect(d.rec.messages.slice(again).some((m) => m.topic === "event")).toBe(false);
  });

  it("refuses a gate it does not know, one its readings decide, and the flag's", async () => {
    const d = await daemons.start(MANIFEST, [], { FLOWINIT_DEVICE_ROOT: tempDir() });
    expect(await json(d, { cmd: "gate", name: "strated", open: true })).toEqual({
      ok: false,
      error: { code: "unknown_gate", message: "no gate named strated; external gates: started" },
    });
    const unknown = await d.cli("gate", "strated", "open");
    expect(unknown).toMatchObject({ exitCode: 1, stderr: "flowinit: no gate named strated; external gates: started" });
    const reading = await d.cli("gate", "cool", "close");
    expect(reading).toMatchObject({ exitCode: 2, stderr: "flowinit: cool is not external: its readings open and close it" });
    expect((await json(d, { cmd: "gate", name: "flag", open: true })).error.message).toBe("flag is the green flag's gate: send green_flag or stop_flag");
    expect((await json(d, { cmd: "gate", name: "started", open: "yes" })).error).toEqual({ code: "bad_request", message: "gate: open: expected true or false" });
    const usage = await d.cli("gate", "started", "ajar");
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain("'ajar' is invalid");
  });
});

describe("an offroad-only service (when: [\"!flag\"])", () => {
  it("runs while the flag is down, stops at the green flag, and runs again after the stop flag", async () => {
    const d = await daemons.start(`services:
  uploader: { command: exec sleep 1000, when: ["!flag"] }
  modeld: { command: exec sleep 1000 }
`);
    await d.rec.snapshot((s) => state(s, "uploader")?.state === "running" && state(s, "modeld")?.state === "waiting", "uploader running");
    const mark = d.rec.mark;
    expect(await d.flag()).toBe("ACK");
    const flip = await d.rec.gate("flag", "open", mark);
    expect(flip.data.reason).toBe("green flag");
    expect((await d.rec.event("uploader", "stopping", mark)).data.reason).toBe("gate flag open: green flag");
    expect((await d.rec.event("uploader", "waiting", mark)).data.reason).toBe("gate flag open: green flag");
    await d.rec.snapshot((s) => state(s, "modeld")?.state === "running" && state(s, "uploader")?.state === "waiting" && s.daemon.flag, "onroad");
    const down = d.rec.mark;
    expect(await json(d, { cmd: "stop_flag" })).toEqual({ ok: true });
    expect((await d.rec.event("uploader", "starting", down)).data.reason).toBe("gate flag closed: stop flag");
    expect((await d.rec.event("modeld", "waiting", down)).data.reason).toBe("waiting for the green flag");
    await d.rec.snapshot((s) => state(s, "uploader")?.state === "running" && state(s, "modeld")?.state === "waiting", "offroad again", down);
  });

  it("never starts under --no-wait", async () => {
    const d = await daemons.start(`services:\n  uploader: { command: exec sleep 1000, when: ["!flag"] }\n  modeld: { command: exec sleep 1000 }\n`, ["--no-wait"]);
    await d.rec.snapshot((s) => state(s, "modeld")?.state === "running", "modeld running");
    d.proc.kill("SIGTERM");
    const { all } = await d.proc;
    expect(all).toContain('"service":"modeld","from":"waiting","to":"starting"');
    expect(all).not.toContain('"service":"uploader","from":"waiting","to":"starting"');
  });
});
