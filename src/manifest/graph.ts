/**
 * The depends_on graph: what may depend on what, and the start order.
 */
import { FLAG_GATE, type Dependency, type GateCondition } from "./spec.js";

/** What the graph needs to know of a service. */
export interface GraphNode {
  readonly name: string;
  readonly dependsOn: readonly Dependency[];
  /** The gates it runs while (normalize.ts's `whenOf`). */
  readonly when: readonly GateCondition[];
  readonly nomonitor: boolean;
  readonly oneshot: boolean;
}

/** A bad depends_on entry: `service` lists `dependency`; `condition`: the fault is the condition, not the name. */
export interface GraphIssue {
  service: string;
  dependency: string;
  message: string;
  condition?: true;
}

const names = (node: GraphNode) => [...new Set(node.dependsOn.map((d) => d.name))];

/**
 * Unknown targets, self dependencies, dependencies that can never be
 * satisfied (on a nomonitor service, or on a service that waits for a gate
 * the dependent does not wait for, which would stop it under a dependent
 * still running) and cycles. Each issue names the depends_on entry to blame.
 */
export function checkGraph(nodes: readonly GraphNode[]): GraphIssue[] {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const issues: GraphIssue[] = [];
  for (const node of nodes) {
    for (const dependency of names(node)) {
      const message = edgeProblem(node, dependency, byName);
      if (message !== null) issues.push({ service: node.name, dependency, message });
    }
    for (const { name, condition } of node.dependsOn) {
      const target = byName.get(name);
      if (condition === "completed" && target !== undefined && !target.nomonitor && !target.oneshot) {
        issues.push({ service: node.name, dependency: name, condition: true, message: `"${name}" is not oneshot: it never completes; expected started or ready` });
      }
    }
  }
  return [...issues, ...findCycles(nodes, byName)];
}

/** How many known names an unknown dependency's message lists. */
const MAX_LISTED = 10;

function edgeProblem(
  node: GraphNode,
  dependency: string,
  byName: ReadonlyMap<string, GraphNode>,
): string | null {
  const target = byName.get(dependency);
  if (dependency === node.name) return `a service cannot depend on itself, got "${dependency}"`;
  if (target === undefined) {
    const others = [...byName.keys()].filter((name) => name !== node.name);
    // A long list helps nobody, and a thousand bad entries would repeat it a thousand times.
    const shown = others.length > MAX_LISTED ? `${others.slice(0, MAX_LISTED).join(", ")} (and ${others.length - MAX_LISTED} more)` : others.join(", ");
    const known = others.length > 0 ? `expected one of ${shown}` : "there are no other services";
    return `unknown service "${dependency}", ${known}`;
  }
  if (target.nomonitor) {
    return `"${dependency}" is nomonitor: it has no running state to wait for`;
  }
  const missing = target.when.find((c) => !node.when.some((n) => n.gate === c.gate && n.open === c.open));
  if (missing === undefined) return null;
  if (node.when.length === 0 && missing.gate === FLAG_GATE && missing.open) {
    return `"${node.name}" is nowait but "${dependency}" waits for the green flag; expected a nowait service`;
  }
  const entry = `${missing.open ? "" : "!"}${missing.gate}`;
  const state = `gate ${missing.gate} is ${missing.open ? "open" : "closed"}`;
  if (node.when.some((n) => n.gate === missing.gate)) {
    return `"${dependency}" runs only while ${state}, and "${node.name}" only while it is not: it could never wait for it`;
  }
  return `"${dependency}" runs only while ${state}, which "${node.name}" does not wait for; expected ${entry} in the when of "${node.name}" too`;
}

/**
 * One issue per cycle found by a depth-first walk in file order, blamed on the
 * entry leaving the cycle's first service, so `a -> b -> a` points at a's line.
 * The walk keeps its own stack: a chain of thousands of services must not
 * overflow the call stack.
 */
function findCycles(
  nodes: readonly GraphNode[],
  byName: ReadonlyMap<string, GraphNode>,
): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const done = new Set<string>();
  /** The services being walked, each with the dependencies left to follow. */
  const path: { name: string; left: string[] }[] = [];
  const onPath = new Map<string, number>();
  const enter = (node: GraphNode) => {
    onPath.set(node.name, path.length);
    path.push({ name: node.name, left: names(node).reverse() });
  };

  for (const root of nodes) {
    if (done.has(root.name)) continue;
    enter(root);
    for (let top = path.at(-1); top !== undefined; top = path.at(-1)) {
      const dependency = top.left.pop();
      if (dependency === undefined) {
        path.pop();
        onPath.delete(top.name);
        done.add(top.name);
        continue;
      }
      const target = byName.get(dependency);
      if (target === undefined || dependency === top.name || done.has(dependency)) continue;
      const start = onPath.get(dependency);
      if (start === undefined) {
        enter(target);
        continue;
      }
      const cycle = [...path.slice(start).map((step) => step.name), dependency];
      issues.push({
        service: dependency,
        dependency: cycle[1] ?? dependency,
        message: `dependency cycle ${cycle.join(" -> ")}`,
      });
    }
  }
  return issues;
}

/**
 * Every service after the services it depends on, otherwise in file order:
 * each step takes the first service in the file whose dependencies are all
 * placed. Names checkGraph rejects are ignored, so the order is total even for
 * a manifest that failed validation.
 */
export function dependencyOrder<T extends GraphNode>(nodes: readonly T[]): T[] {
  const known = new Set(nodes.map((node) => node.name));
  const placed = new Set<string>();
  const order: T[] = [];
  const rest = [...nodes];
  const ready = (node: T) =>
    node.dependsOn.every(({ name }) => placed.has(name) || name === node.name || !known.has(name));
  while (rest.length > 0) {
    const index = rest.findIndex(ready);
    // Only a cycle leaves nothing ready; keep file order for what remains.
    const next = index === -1 ? rest.splice(0) : rest.splice(index, 1);
    for (const node of next) {
      placed.add(node.name);
      order.push(node);
    }
  }
  return order;
}
