/** The driver's view, pure: the health rule, and which exits are failures, for every kind of exit. */
import { describe, expect, it } from "vitest";
import { noDraw, specsOf } from "../helpers/specs.js";
import { healthOf, healthReason, isFailure, isUp } from "../../src/supervisor/health.js";
import { initialStatus, transition, type MachineEvent, type ServiceStatus } from "../../src/supervisor/machine.js";
import type { Cause } from "../../src/supervisor/policy.js";
import { endsRun, STATE_NAMES, type State, type StateName } from "../../src/supervisor/states.js";
import type { ServiceView } from "../../src/supervisor/supervisor.js";

const specs = specsOf(
  {
    modeld: { command: "modeld", critical: true },
    plannerd: { command: "plannerd", critical: true },
    logger: { command: "logger" },
    prepare: { command: "prepare", critical: true, oneshot: true },
  },
  "/srv",
);
const spec = (name: string) => specs.find((s) => s.name === name)!;

const stateOf = (name: StateName): State => {
  switch (name) {
    case "running":
      return { name, pid: 7, startedAt: 0 };
    case "backoff":
      return { name, until: 100 };
    case "stopping":
      return { name, pid: 7, then: "stopped" };
    case "fatal":
      return { name, reason: "gave up" };
    default:
      return { name };
  }
};

const view = (name: string, state: StateName, cause: Cause | null = null): ServiceView => ({
  spec: spec(name),
  status: { ...initialStatus(0), state: stateOf(state), cause },
  statusText: null,
});

describe("healthOf", () => {
  it.each(STATE_NAMES.filter((s) => s !== "running"))("a critical service that should run and is %s is down", (state) => {
    expect(healthOf([{ view: view("modeld", state), shouldRun: true }])).toEqual({ ok: false, down: ["modeld"] });
  });

  it("a critical service running is up", () => {
    expect(healthOf([{ view: view("modeld", "running"), shouldRun: true }])).toEqual({ ok: true, down: [] });
  });

  it.each(STATE_NAMES)("a critical service whose gate is closed is not missed, %s", (state) => {
    expect(healthOf([{ view: view("modeld", state), shouldRun: false }])).toEqual({ ok: true, down: [] });
  });

  it.each(STATE_NAMES)("a service that is not critical is never down, %s", (state) => {
    expect(healthOf([{ view: view("logger", state), shouldRun: true }])).toEqual({ ok: true, down: [] });
  });

  it("a critical oneshot that completed is up; one that exited with a failure, or still runs, is as any other", () => {
    expect(isUp(view("prepare", "exited", "exit"))).toBe(true);
    expect(isUp(view("prepare", "exited", "crash"))).toBe(false);
    expect(isUp(view("prepare", "running"))).toBe(true);
    expect(isUp(view("modeld", "exited", "exit"))).toBe(false);
    expect(healthOf([{ view: view("prepare", "fatal", "crash"), shouldRun: true }]).down).toEqual(["prepare"]);
  });

  it("lists what is down in the order given (the manifest's)", () => {
    const services = [
      { view: view("plannerd", "backoff", "killed"), shouldRun: true },
      { view: view("logger", "fatal", "crash"), shouldRun: true },
      { view: view("modeld", "stopped", "stop"), shouldRun: true },
    ];
    expect(healthOf(services)).toEqual({ ok: false, down: ["plannerd", "modeld"] });
  });
});

describe("healthReason", () => {
  it("names each service down, its state and the cause of its last exit", () => {
    const views = [view("modeld", "backoff", "killed"), view("plannerd", "waiting"), view("prepare", "stopping", "crash")];
    expect(healthReason({ ok: false, down: ["modeld", "plannerd", "prepare"] }, views)).toBe("modeld backoff (killed), plannerd waiting, prepare stopping");
  });

  it("says when all is well again", () => {
    expect(healthReason({ ok: true, down: [] }, [])).toBe("every critical service that should run is up");
  });
});

/** How each kind of exit ends a run, as the machine decides it: the cause, and whether it is a failure. */
describe("the cause of every kind of exit, and which are failures", () => {
  const restart = specsOf({ a: { command: "a", success_exit_codes: [0, 143], max_restarts: 2 } }, "/srv")[0]!;
  const oneshot = specsOf({ a: { command: "a", oneshot: true } }, "/srv")[0]!;
  const NOW = { wall: 1_764_000_000_000, mono: 1_000_000 };
  const running = (patch: Partial<ServiceStatus> = {}): ServiceStatus => ({ ...initialStatus(0), state: { name: "running", pid: 7, startedAt: NOW.mono - 50 }, ...patch });
  const stopping: ServiceStatus = { ...initialStatus(0), state: { name: "stopping", pid: 7, then: "stopped" } };
  const exited = (code: number | null, signal: string | null, extra: Partial<Extract<MachineEvent, { type: "exited" }>> = {}): MachineEvent => ({
    type: "exited",
    exit: { code, signal },
    ...extra,
  });

  it.each([
    ["a success code", restart, running(), exited(0, null), "exit", false],
    ["another success code", restart, running(), exited(143, null), "exit", false],
    ["a failing code", restart, running(), exited(1, null), "crash", true],
    ["a crash past max_restarts (fatal)", restart, running({ streak: 2 }), exited(1, null), "crash", true],
    ["SIGSEGV", restart, running(), exited(null, "SIGSEGV"), "crash", true],
    ["a SIGTERM the daemon did not send", restart, running(), exited(null, "SIGTERM"), "crash", true],
    ["a SIGKILL the daemon did not send", restart, running(), exited(null, "SIGKILL"), "killed", true],
    ["a SIGKILL the daemon did not send, past max_restarts", restart, running({ streak: 9 }), exited(null, "SIGKILL"), "killed", true],
    ["a stop that the stop signal ended", restart, stopping, exited(null, "SIGTERM"), "stop", false],
    ["a stop that its own SIGKILL ended after stop_timeout", restart, stopping, exited(null, "SIGKILL", { escalated: true }), "stop", false],
    ["a command that cannot be spawned", restart, { ...initialStatus(0), state: { name: "starting" } }, { type: "spawn_failed", message: "x: no such file" }, "spawn_failed", true],
    ["a oneshot that completed", oneshot, running(), exited(0, null), "exit", false],
    ["a oneshot that failed", oneshot, running(), exited(2, null), "crash", true],
  ] as const)("%s: cause %s, failure %s", (_, s, from, ev, cause, failure) => {
    const step = transition(s, from, ev as MachineEvent, NOW, noDraw);
    expect(step.change).not.toBeNull();
    expect(endsRun(step.change!.from, step.change!.to)).toBe(true);
    expect(step.status.cause).toBe(cause);
    expect(isFailure(step.change!, step.status.cause)).toBe(failure);
  });

  it.each([
    ["watchdog", true],
    ["not_ready", true],
    ["killed", true],
    ["crash", true],
    ["exit", false],
    ["stop", false],
  ] as const)("a run that ended with cause %s is a failure: %s", (cause, failure) => {
    expect(isFailure({ from: "running", to: "backoff", reason: "" }, cause)).toBe(failure);
    expect(isFailure({ from: "starting", to: "starting", reason: "" }, cause)).toBe(failure);
  });

  it("a change that ends no run is no failure, whatever the cause it carries; going fatal always is", () => {
    expect(isFailure({ from: "starting", to: "running", reason: "spawned" }, "killed")).toBe(false);
    expect(isFailure({ from: "backoff", to: "starting", reason: "backoff elapsed" }, "crash")).toBe(false);
    expect(isFailure({ from: "running", to: "stopping", reason: "stop request" }, "crash")).toBe(false);
    expect(isFailure({ from: "starting", to: "fatal", reason: "cannot spawn" }, "spawn_failed")).toBe(true);
  });
});
