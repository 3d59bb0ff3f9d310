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
    ];
    for (const change of changes) {
      const d = diff({ dep: { command: "d" }, svc: { command: "a" } }, { dep: { command: "d" }, svc: { command: "a", ...change } });
      expect(d, JSON.stringify(change)).toEqual({ added: [], removed: [], changed: ["svc"], unchanged: ["dep"] });
    }
  });

  it("compares specs after normalizing: the same meaning written another way is unchanged", () => {
    expect(
      diff(
        { svc: { command: "a", restart: true, stop_timeout: "5s", env: { N: 1 }, cwd: "." } },
        { svc: { command: "a", restart: "always", stop_timeout: 5000, env: { N: "1" } } },
      ),
    ).toEqual({ added: [], removed: [], changed: [], unchanged: ["svc"] });
  });

  it("does not count a new order of the services as a change", () => {
    expect(diff({ a: { command: "a" }, b: { command: "b" } }, { b: { command: "b" }, a: { command: "a" } })).toEqual({
      added: [],
      removed: [],
      changed: [],
      unchanged: ["b", "a"],
    });
  });

  // BUG (src/manifest/diff.ts): specs are compared by their JSON, so the same env written in another
  // order counts as a change, and a reload restarts the service for nothing.
  it.fails("does not count a new order of the env keys as a change", () => {
    expect(diff({ svc: { command: "a", env: { A: "1", B: "2" } } }, { svc: { command: "a", env: { B: "2", A: "1" } } }).unchanged).toEqual([
      "svc",
    ]);
  });
});
