/**
 * The driver's view on a real Supervisor with real children: what an exit
 * costs (no file write, no fork without a hook), the health as gates open,
 * and a flip published before the snapshot that carries it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../src/clock.js";
import { DriverView } from "../src/driver-view.js";
import type { Phase } from "../src/bus/protocol.js";
import { parseManifest } from "../src/manifest/index.js";
import { Supervisor } from "../src/supervisor/supervisor.js";
import type { Change } from "../src/supervisor/machine.js";
import { tempDir } from "./helpers/daemon.js";
import { logIn, logLines } from "./helpers/specs.js";

const open: { sup: Supervisor; view: DriverView }[] = [];
afterEach(async () => {
  for (const { sup, view } of open.splice(0)) {
    await sup.stopAll("test over");
    await view.close();
    await sup.closeLogs();
  }
});

/** A supervisor of this manifest and its driver's view, in a temp dir; every change and every health message. */
function harness(yaml: string) {
  const dir = tempDir();
  const parsed = parseManifest(yaml, join(dir, "services.yaml"));
  if (!parsed.ok) throw new Error(parsed.error.map((e) => e.message).join("\n"));
  const log = pino({ level: "silent" });
  const sup = new Supervisor(parsed.value.services, { shell: "/bin/sh", env: { PATH: process.env.PATH }, output: (s) => logIn(dir, s.name), log, watchdogDir: join(dir, "wd") });
  const changes: (Change & { name: string })[] = [];
  const health: { ok: boolean; down: string[]; reason: string }[] = [];
  let phase: Phase = "running";
  const historyFile = join(dir, "state.history.json");
  const view = new DriverView({
    supervisor: sup,
    settings: () => parsed.value.settings,
    phase: () => phase,
    logDir: join(dir, "logs"),
    log,
    clock: systemClock,
    shell: "/bin/sh",
    env: { PATH: process.env.PATH },
    historyFile,
    stopAction: "true",
    publish: (_, body) => void health.push(body),
  });
  let wake: () => void = () => undefined;
  sup.on("change", ({ name, change }) => {
    changes.push({ name, ...change });
    wake();
  });
  /** Resolves once `name` has gone to `to` `times` times. */
  const reached = async (name: string, to: string, times = 1) => {
    while (changes.filter((c) => c.name === name && c.to === to).length < times) await new Promise<void>((r) => (wake = r));
  };
  open.push({ sup, view });
  return { dir, sup, view, historyFile, health, reached, setPhase: (p: Phase) => (phase = p) };
}

const nextTurn = () => new Promise((r) => setImmediate(r));

describe("DriverView", () => {
  it("an exit of a service without a hook goes into memory only: no file written, nothing spawned, until persisted", async () => {
    const h = harness(`
services:
  crasher: { command: 'echo dying >&2; exit 1', nowait: true, restart_delay: 1ms, max_restarts: 1 }
`);
    h.sup.begin();
    await h.reached("crasher", "fatal");
    await nextTurn();
    expect(h.view.exits("crasher")!.map((e) => [e.cause, e.state, e.stderr_tail])).toEqual([
      ["crash", "fatal", ["dying"]],
      ["crash", "backoff", ["dying"]],
    ]);
    expect(existsSync(h.historyFile)).toBe(false);
    expect(existsSync(join(h.dir, "logs", "on_failure"))).toBe(false);
    h.view.persist();
    await expect.poll(() => existsSync(h.historyFile), { timeout: 20_000, interval: 10 }).toBe(true);
    expect(h.view.exits("nosuch")).toBeUndefined();
  });

  it("runs the service's hook, or the settings' one, on a failure, never on a clean exit", async () => {
    const h = harness(`
settings:
  on_failure: 'echo "default $FLOWINIT_CAUSE"'
services:
  own: { command: exit 2, nowait: true, restart: never, on_failure: 'echo "own $FLOWINIT_EXIT_CODE"' }
  other: { command: exit 3, nowait: true, restart: never }
  clean: { command: exit 0, nowait: true, restart: never }
`);
    h.sup.begin();
    for (const name of ["own", "other", "clean"]) await h.reached(name, "exited");
    const hookLog = (name: string) => join(h.dir, "logs", "on_failure", `${name}.log`);
    await expect.poll(() => existsSync(hookLog("own")) && existsSync(hookLog("other")), { timeout: 20_000, interval: 10 }).toBe(true);
    await h.view.close();
    expect(logLines(hookLog("own"))).toEqual([["out", "own 2"]]);
    expect(logLines(hookLog("other"))).toEqual([["out", "default crash"]]);
    expect(existsSync(hookLog("clean"))).toBe(false);
  });

  it("does not miss a critical service whose own gate closed, nor one that waits for the flag to be down", async () => {
    const h = harness(`
settings:
  gates:
    cool: { temperature_max_c: 45, clear_below_c: 42 }
services:
  modeld: { command: exec sleep 1000, critical: true, when: [cool] }
  uploader: { command: exec sleep 1000, critical: true, when: ["!flag"] }
`);
    h.sup.defineGates(["cool"], () => ({ open: true, reason: "40 C <= 45" }));
    h.sup.begin();
    await h.reached("modeld", "running");
    await h.reached("uploader", "running");
    expect(h.view.health()).toEqual({ ok: true, down: [] });
    const down = [
      ...h.sup.setGate("cool", false, "46.1 C > 45", "gate cool closed: 46.1 C > 45").down,
      ...h.sup.setGate("flag", true, "green flag", "gate flag open: green flag").down,
    ];
    expect(down).toEqual(["modeld", "uploader"]);
    await h.sup.stopServices(down, "gates closed");
    h.sup.rearm(down, "gates closed");
    // Both down, and neither should run: the stack is whole.
    expect(h.view.health()).toEqual({ ok: true, down: [] });
    h.sup.setGate("cool", true, "41 C < 42", "gate cool open: 41 C < 42");
    await h.reached("modeld", "running", 2);
    expect(h.view.health()).toEqual({ ok: true, down: [] });
  });

  it("counts a critical service while its gate is open and the daemon is not stopping; publishes each flip once", async () => {
    const h = harness(`
services:
  modeld: { command: exec sleep 1000, critical: true }
  logger: { command: exec sleep 1000, nowait: true }
`);
    h.sup.begin();
    await h.reached("logger", "running");
    expect(h.view.health()).toEqual({ ok: true, down: [] });
    h.sup.setGate("flag", true, "green flag", "green flag");
    expect(h.view.health()).toEqual({ ok: false, down: ["modeld"] });
    h.view.observe(h.view.health());
    h.view.observe(h.view.health());
    await h.reached("modeld", "running");
    h.view.observe(h.view.health());
    h.setPhase("stopping");
    const stopping = h.sup.stopAll("shutdown");
    expect(h.view.health()).toEqual({ ok: true, down: [] });
    await stopping;
    expect(h.health).toEqual([
      { ok: false, down: ["modeld"], reason: "modeld starting" },
      { ok: true, down: [], reason: "every critical service that should run is up" },
    ]);
  });
});
