/** What a reload changes, as data: specs from manifests, compared. */
import { describe, expect, it } from "vitest";
import { diffServices } from "../../src/manifest/index.js";
import { specsOf } from "../helpers/specs.js";

const DIR = "/srv/flow";
const diff = (before: Record<string, Record<string, unknown>>, after: Record<string, Record<string, unknown>>) =>
  diffServices(specsOf(before, DIR), specsOf(after, DIR));

describe("diffServices", () => {
  it("sorts services by name into added, removed, changed and unchanged", () => {
    expect(
      diff(
        { kept: { command: "a" }, edited: { command: "b" }, dropped: { command: "c" } },
        { kept: { command: "a" }, edited: { command: "b2" }, fresh: { command: "d" } },
      ),
    ).toEqual({ added: ["fresh"], removed: ["dropped"], changed: ["edited"], unchanged: ["kept"] });
  });

  it("sees a rename as a removal and an addition", () => {
    expect(diff({ old: { command: "a" } }, { new: { command: "a" } })).toEqual({ added: ["new"], removed: ["old"], changed: [], unchanged: [] });
  });

  it("counts a change of any key that affects how a service runs", () => {
    const changes: Record<string, unknown>[] = [
      { args: ["x"] },
      { env: { A: "1" } },
      { cwd: "sub" },
      { depends_on: ["dep"] },
      { restart: "never" },
      { stop_signal: "SIGINT" },
      { stop_timeout: "1s" },
      { restart_delay: "1s" },
      { restart_delay_max: "1m" },
      { max_restarts: 1 },
      { stable_after: "1m" },
      { nowait: true },
      { nomonitor: true },
      { enabled: false },
      { platforms: ["android"] },
      { success_exit_codes: [0, 143] },
      { restart_jitter: "10%" },
      { when: ["!flag"] },
    ];
    for (const change of changes) {
      const d = diff({ dep: { command: "d" }, svc: { command: "a" } }, { dep: { command: "d" }, svc: { command: "a", ...change } });
      expect(d, JSON.stringify(change)).toEqual({ added: [], removed: [], changed: ["svc"], unchanged: ["dep"] });
    }
  });

  it("compares specs after normalizing: the same meaning written another way is unchanged", () => {
    expect(
      diff(
        { svc: { command: "a", restart: true, stop_timeout: "5s", env: { N: 1 }, cwd: "." }, off: { command: "b", when: ["!flag"] } },
        { svc: { command: "a", restart: "always", stop_timeout: 5000, env: { N: "1" }, when: ["flag"] }, off: { command: "b", when: ["!flag", "!flag"] } },
      ),
    ).toEqual({ added: [], removed: [], changed: [], unchanged: ["svc", "off"] });
  });

  it("does not count a new order of the services as a change", () => {
    expect(diff({ a: { command: "a" }, b: { command: "b" } }, { b: { command: "b" }, a: { command: "a" } })).toEqual({
      added: [],
      removed: [],
      changed: [],
      unchanged: ["b", "a"],
    });
  });

  it("does not count a new order of env keys, depends_on or platforms as a change, but does a new order of args", () => {
    expect(diff({ svc: { command: "a", env: { A: "1", B: "2" } } }, { svc: { command: "a", env: { B: "2", A: "1" } } }).unchanged).toEqual([
      "svc",
    ]);
    const deps = (order: string[], platforms: string[]) => ({ x: { command: "x" }, y: { command: "y" }, svc: { command: "a", depends_on: order, platforms } });
    expect(diff(deps(["x", "y"], ["android", "desktop"]), deps(["y", "x"], ["desktop", "android"])).changed).toEqual([]);
    expect(diff({ svc: { command: "a", args: ["1", "2"] } }, { svc: { command: "a", args: ["2", "1"] } }).changed).toEqual(["svc"]);
  });

  it("counts a new depends_on condition or oneshot as a change, but not the list form written as a mapping of ready, in any order", () => {
    const deps = (depends_on: unknown, oneshot = false) => ({ x: { command: "x", oneshot: true }, y: { command: "y" }, svc: { command: "a", depends_on, oneshot } });
    expect(diff(deps(["x", "y"]), deps({ y: "ready", x: "ready" })).changed).toEqual([]);
    expect(diff(deps({ x: "completed", y: "ready" }), deps({ y: "ready", x: "completed" })).changed).toEqual([]);
    expect(diff(deps({ x: "ready" }), deps({ x: "completed" })).changed).toEqual(["svc"]);
    expect(diff(deps(["x"]), deps(["x"], true)).changed).toEqual(["svc"]);
  });

  it("does not count a new order of success_exit_codes as a change, nor the default written out", () => {
    const codes = (success_exit_codes?: number[]) => ({ svc: { command: "a", ...(success_exit_codes && { success_exit_codes }) } });
    expect(diff(codes([0, 143, 2]), codes([2, 0, 143])).unchanged).toEqual(["svc"]);
    expect(diff(codes(), codes([0])).unchanged).toEqual(["svc"]);
  });
});
