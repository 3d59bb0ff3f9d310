/**
 * External gates across a daemon killed with SIGKILL: the next daemon on the
 * same endpoint opens again those the dead one had open, as its new manifest
 * still declares them, and decides each service's `when` as the dead one did.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sendRaw } from "../../src/client/client.js";
import { currentHost, runtimeDir } from "../../src/platform/platform.js";
import { StateFile } from "../../src/runner/recover.js";
import { daemonPerTest, state, type RunningDaemon } from "../helpers/daemon.js";

const daemons = daemonPerTest();

const gate = (d: RunningDaemon, name: string, open: boolean) =>
  sendRaw(d.control, JSON.stringify({ cmd: "gate", name, open, reason: "set by the test" }), null).then((r) => JSON.parse(r));

/** Kills `d`'s daemon with SIGKILL; returns its pid. Its services live on, for the next daemon to stop. */
async function kill(d: RunningDaemon): Promise<number> {
  const pid = d.proc.pid!;
  d.proc.kill("SIGKILL");
  await d.proc;
  return pid;
}

describe("external gates after the daemon is killed", () => {
  it("are as the dead daemon left them, before anything starts; a clean stop then forgets them", async () => {
    const d = await daemons.start(`settings:
  gates:
    started: {external: true}
    ignition: {external: true}
    parked: {external: true}
services:
  onroad: { command: exec sleep 1000, when: [started] }
  offroad: { command: exec sleep 1000, when: ["!started"] }
  drive: { command: exec sleep 1000, when: [flag, started] }
  unkeyed: { command: "touch $DIR/unkeyed.ran; exec sleep 1000", when: [started, "!ignition"] }
  resting: { command: exec sleep 1000, when: [parked] }
`);
    await d.flag();
    // ignition before started: unkeyed never holds.
    for (const [name, open] of [["ignition", true], ["started", true], ["parked", true], ["parked", false]] as const) {
      expect(await gate(d, name, open)).toMatchObject({ ok: true });
    }
    await d.rec.snapshot((s) => ["onroad", "drive"].every((n) => state(s, n)?.state === "running") && state(s, "offroad")?.state === "waiting", "onroad and drive running");
    // On disk by the time each reply came: a kill right after it loses nothing.
    expect(new StateFile(runtimeDir(currentHost()), d.control).read()).toMatchObject({ flag: true, gates: { started: true, ignition: true, parked: false } });
    const dead = await kill(d);

    const next = await daemons.again(d);
    // No gate request and no flag: the new daemon opens them again by itself.
    const snap = await next.rec.snapshot((s) => ["onroad", "drive"].every((n) => state(s, n)?.state === "running"), "onroad and drive running again");
    expect(snap.daemon).toMatchObject({ flag: true, recovered_from: dead });
    const gates = snap.daemon.gates!;
    for (const name of ["started", "ignition"]) expect(gates[name]).toMatchObject({ open: true, reason: `recovered: open when daemon pid ${dead} died` });
    expect(gates.parked).toMatchObject({ open: false, reason: "not opened yet" });
    for (const name of ["offroad", "unkeyed", "resting"]) expect(state(snap, name)?.state, name).toBe("waiting");
    // Decided on every gate at once: not started on the first one restored, only to be stopped on the next.
    expect(existsSync(join(d.dir, "unkeyed.ran"))).toBe(false);

    await next.stop();
    expect((await next.proc).exitCode).toBe(0);
    const fresh = await (await daemons.again(d)).rec.snapshot((s) => state(s, "offroad")?.state === "running", "offroad running after a clean stop");
    expect(fresh.daemon).toMatchObject({ flag: false, recovered_from: null });
    expect(fresh.daemon.gates!.started).toMatchObject({ open: false, reason: "not opened yet" });
    expect(state(fresh, "onroad")?.state).toBe("waiting");
  });

  it("are restored only where the new manifest still declares them external; a new gate starts as its kind does", async () => {
    const d = await daemons.start(`settings:
  gates:
    started: {external: true}
    gone: {external: true}
    parked: {external: true}
services:
  onroad: { command: exec sleep 1000, when: [started] }
  old: { command: exec sleep 1000, when: [gone] }
  resting: { command: exec sleep 1000, when: [parked] }
`);
    for (const name of ["started", "gone", "parked"]) expect(await gate(d, name, true)).toMatchObject({ ok: true });
    await d.rec.snapshot((s) => ["onroad", "old", "resting"].every((n) => state(s, n)?.state === "running"), "all three running");
    const dead = await kill(d);

    // Between the two daemons: `gone` is no longer declared, `parked` is read from a file that is not there, `fresh` is new.
    writeFileSync(d.manifest, `settings:
  gates:
    started: {external: true}
    parked: {file_exists: ${join(d.dir, "absent")}}
    fresh: {external: true}
services:
  onroad: { command: exec sleep 1000, when: [started] }
  resting: { command: exec sleep 1000, when: [parked] }
  later: { command: exec sleep 1000, when: [fresh] }
`);
    const snap = await (await daemons.again(d)).rec.snapshot((s) => state(s, "onroad")?.state === "running", "onroad running again");
    expect(snap.daemon.recovered_from).toBe(dead);
    const gates = snap.daemon.gates!;
    expect(Object.keys(gates)).toEqual(["flag", "started", "parked", "fresh"]);
    expect(gates.started).toMatchObject({ open: true, reason: `recovered: open when daemon pid ${dead} died` });
    expect(gates.parked).toMatchObject({ open: false, reason: `no ${join(d.dir, "absent")}` });
    expect(gates.fresh).toMatchObject({ open: false, reason: "not opened yet" });
    expect(state(snap, "resting")?.state).toBe("waiting");
    expect(state(snap, "later")?.state).toBe("waiting");
  });

  it("are as the last reload left them: a gate it took away is not restored, even where the next manifest declares it again", async () => {
    // No service waits for gone: its going stops nothing, and tells the state file nothing else.
    const both = `settings:
  gates:
    started: {external: true}
    gone: {external: true}
services:
  onroad: { command: exec sleep 1000, when: [started] }
`;
    const d = await daemons.start(both);
    for (const name of ["started", "gone"]) expect(await gate(d, name, true)).toMatchObject({ ok: true });
    writeFileSync(d.manifest, `settings:
  gates:
    started: {external: true}
services:
  onroad: { command: exec sleep 1000, when: [started] }
`);
    expect((await d.cli("reload")).exitCode).toBe(0);
    const dead = await kill(d);

    writeFileSync(d.manifest, both);
    const snap = await (await daemons.again(d)).rec.snapshot((s) => state(s, "onroad")?.state === "running", "onroad running again");
    expect(snap.daemon.recovered_from).toBe(dead);
    expect(snap.daemon.gates!.gone).toMatchObject({ open: false, reason: "not opened yet" });
  });
});
