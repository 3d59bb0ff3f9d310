import { describe, expect, it } from "vitest";
import { type GraphNode, checkGraph, dependencyOrder } from "../../src/manifest/graph.js";
import type { Dependency } from "../../src/manifest/spec.js";

/** Names are the list form (`ready`); a Dependency is the mapping form's entry. */
const node = (name: string, dependsOn: (string | Dependency)[] = [], flags: Partial<GraphNode> = {}): GraphNode => ({
  name,
  dependsOn: dependsOn.map((d) => (typeof d === "string" ? { name: d, condition: "ready" } : d)),
  when: [{ gate: "flag", open: true }],
  nomonitor: false,
  oneshot: false,
  ...flags,
});

/** What `nowait: true` means to the graph. */
const NOWAIT: Partial<GraphNode> = { when: [] };

const names = (nodes: readonly GraphNode[]) => dependencyOrder(nodes).map((n) => n.name);

describe("dependencyOrder", () => {
  it("keeps file order without dependencies", () => {
    expect(names([node("c"), node("a"), node("b")])).toEqual(["c", "a", "b"]);
  });

  it("moves a service after its dependencies, the rest staying in file order", () => {
    expect(names([node("c", ["b"]), node("a"), node("b")])).toEqual(["a", "b", "c"]);
  });

  it("places each service as early as its dependencies allow", () => {
    const nodes = [node("ui", ["modeld", "camerad"]), node("camerad"), node("logger"), node("modeld", ["camerad"])];
    expect(names(nodes)).toEqual(["camerad", "logger", "modeld", "ui"]);
  });

  it("handles chains declared backwards", () => {
    expect(names([node("a", ["b"]), node("b", ["c"]), node("c")])).toEqual(["c", "b", "a"]);
  });

  it("is total even with cycles, unknown and self dependencies", () => {
    const order = names([node("x", ["missing"]), node("a", ["b"]), node("b", ["a"]), node("s", ["s"])]);
    expect([...order].sort()).toEqual(["a", "b", "s", "x"]);
  });
});

describe("checkGraph", () => {
  it("accepts a valid graph", () => {
    expect(checkGraph([node("a"), node("b", ["a"]), node("n", [], NOWAIT), node("m", ["n"], NOWAIT)])).toEqual(
      [],
    );
  });

  it("reports unknown targets with the known names", () => {
    expect(checkGraph([node("a", ["nope"]), node("b")])).toEqual([
      { service: "a", dependency: "nope", message: 'unknown service "nope", expected one of b' },
    ]);
  });

  it("lists at most ten known names, and says how many more there are", () => {
    const others = Array.from({ length: 12 }, (_, i) => node(`s${i}`));
    expect(checkGraph([node("a", ["nope"]), ...others])[0]!.message).toBe(
      'unknown service "nope", expected one of s0, s1, s2, s3, s4, s5, s6, s7, s8, s9 (and 2 more)',
    );
  });

  it("reports a self dependency once, not as a cycle too", () => {
    expect(checkGraph([node("a", ["a", "a"])])).toEqual([
      { service: "a", dependency: "a", message: 'a service cannot depend on itself, got "a"' },
    ]);
  });

  it("reports a cycle once, at the entry leaving its first service", () => {
    expect(checkGraph([node("x"), node("a", ["x", "b"]), node("b", ["c"]), node("c", ["a"])])).toEqual([
      { service: "a", dependency: "b", message: "dependency cycle a -> b -> c -> a" },
    ]);
  });

  it("reports a two-service cycle as a -> b -> a", () => {
    expect(checkGraph([node("a", ["b"]), node("b", ["a"])]).map((i) => i.message)).toEqual([
      "dependency cycle a -> b -> a",
    ]);
  });

  it("walks a chain of 20,000 services without overflowing the stack", () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => node(`s${i}`, [`s${(i + 1) % 20_000}`]));
    const [issue, ...more] = checkGraph(chain);
    expect(more).toEqual([]);
    expect(issue).toMatchObject({ service: "s0", dependency: "s1" });
    expect(issue?.message).toMatch(/^dependency cycle s0 -> s1 -> .* -> s19999 -> s0$/);
  });

  it("reports each cycle of one walk, as the recursive walk did", () => {
    const nodes = [node("a", ["b", "c"]), node("b", ["a"]), node("c", ["a", "b"])];
    expect(checkGraph(nodes).map((i) => i.message)).toEqual([
      "dependency cycle a -> b -> a",
      "dependency cycle a -> c -> a",
    ]);
  });

  it("reports a dependency on a nomonitor service", () => {
    const issues = checkGraph([node("app", [], { nomonitor: true }), node("a", ["app"])]);
    expect(issues).toEqual([
      { service: "a", dependency: "app", message: '"app" is nomonitor: it has no running state to wait for' },
    ]);
  });

  it("reports a nowait service depending on a flag-gated one", () => {
    const issues = checkGraph([node("gated"), node("early", ["gated"], NOWAIT)]);
    expect(issues.map((i) => [i.service, i.dependency])).toEqual([["early", "gated"]]);
    expect(issues[0]?.message).toContain("waits for the green flag");
  });

  it("reports `completed` on a service that is not oneshot, and only that condition", () => {
    const issues = checkGraph([
      node("svc"),
      node("task", [], { oneshot: true }),
      node("app", [{ name: "svc", condition: "completed" }, { name: "task", condition: "completed" }, { name: "svc", condition: "started" }]),
    ]);
    expect(issues).toEqual([
      { service: "app", dependency: "svc", condition: true, message: '"svc" is not oneshot: it never completes; expected started or ready' },
    ]);
  });

  it("checks the mapping form's names as the list form's: unknown, nowait on gated, cycles", () => {
    const issues = checkGraph([
      node("a", [{ name: "b", condition: "started" }, { name: "nope", condition: "ready" }], NOWAIT),
      node("b", [{ name: "a", condition: "completed" }], { oneshot: true }),
    ]);
    expect(issues.map((i) => [i.service, i.dependency, i.message.split(",")[0]])).toEqual([
      ["a", "b", '"a" is nowait but "b" waits for the green flag; expected a nowait service'.split(",")[0]],
      ["a", "nope", 'unknown service "nope"'],
      ["b", "a", '"a" is not oneshot: it never completes; expected started or ready'.split(",")[0]],
      ["a", "b", "dependency cycle a -> b -> a"],
    ]);
  });

  it("lets a flag-gated service depend on a nowait one", () => {
    expect(checkGraph([node("early", [], NOWAIT), node("gated", ["early"])])).toEqual([]);
  });

  describe("gates", () => {
    const when = (...entries: string[]) => ({ when: entries.map((e) => ({ gate: e.replace(/^!/, ""), open: !e.startsWith("!") })) });

    it("lets a service depend on one whose gates are among its own", () => {
      expect(checkGraph([node("camerad"), node("modeld", ["camerad"], when("flag", "cool")), node("up", [], when("!flag")), node("sync", ["up"], when("space", "!flag"))])).toEqual([]);
    });

    it("reports a dependency on a service that waits for a gate the dependent does not", () => {
      const issues = checkGraph([node("modeld", [], when("flag", "cool")), node("ui", ["modeld"])]);
      expect(issues).toEqual([
        { service: "ui", dependency: "modeld", message: '"modeld" runs only while gate cool is open, which "ui" does not wait for; expected cool in the when of "ui" too' },
      ]);
    });

    it("reports a dependency that waits for the opposite of the dependent's gate", () => {
      const issues = checkGraph([node("uploader", [], when("!flag")), node("ui", ["uploader"])]);
      expect(issues[0]?.message).toBe('"uploader" runs only while gate flag is closed, and "ui" only while it is not: it could never wait for it');
    });
  });
});
