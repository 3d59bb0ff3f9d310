/**
 * services.yaml text -> `Manifest`, or every problem in it at once as
 * `FILE:LINE:COL` diagnostics. The YAML is parsed keeping node positions so
 * each schema or graph problem points at the key or value to fix.
 */
import { open } from "node:fs/promises";
import { type Document, type Pair, type YAMLMap, isAlias, isMap, isNode, isScalar, isSeq, visit } from "yaml";
import type * as z from "zod";
import { type Diagnostic, type Result, err, ok } from "../errors.js";
import { type GraphNode, checkGraph } from "./graph.js";
import { normalize } from "./normalize.js";
import { whenOf } from "./normalize.js";
import { ManifestSchema, WHEN_PATTERN } from "./schema.js";
import { FLAG_GATE, type Dependency, type Manifest } from "./spec.js";
import { MAX_MANIFEST_BYTES, parseYaml } from "./yaml.js";

/** Services in one manifest; a phone runs a few dozen. Checked before the schema looks at any of them. */
export const MAX_SERVICES = 1000;

/** A problem at a key path, not yet turned into a line and column. */
interface Located {
  path: readonly PropertyKey[];
  /** Blame the key itself (unknown keys, bad names) or its value. */
  at: "key" | "value";
  message: string;
}

/**
 * Reads and validates a manifest. An unreadable file is one diagnostic with
 * line 0; `file` is reported as given.
 */
export async function loadManifest(file: string): Promise<Result<Manifest, Diagnostic[]>> {
  let text: string;
  try {
    text = await readAtMost(file, MAX_MANIFEST_BYTES + 1);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : e instanceof Error ? e.message : String(e);
    return err([{ file, line: 0, col: 0, message: `cannot read the manifest: ${reason}` }]);
  }
  return parseManifest(text, file);
}

/** The first `bytes` of the file: enough to tell one past the size limit, whatever its size (or /dev/zero). */
async function readAtMost(file: string, bytes: number): Promise<string> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    let length = 0;
    while (length < bytes) {
      const { bytesRead } = await handle.read(buffer, length, bytes - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.toString("utf8", 0, length);
  } finally {
    await handle.close();
  }
}

/**
 * Validates manifest text. `file` names it in diagnostics, and relative paths
 * in it are resolved against `file`'s folder.
 */
export function parseManifest(text: string, file: string): Result<Manifest, Diagnostic[]> {
  const { lineCounter, doc, errors, duplicates } = parseYaml(text);
  const at = (offset: number, message: string): Diagnostic => ({
    file,
    ...lineCounter.linePos(offset),
    message,
  });

  const diagnostics = [
    ...errors.map((e) => at(e.offset, e.message)),
    ...duplicates.map((d) => at(d.offset, withPath({ path: d.path, at: "key", message: "duplicate key" }))),
  ];
  // A duplicate key leaves a usable tree (the last value wins); a syntax
  // error does not, and checking it further would only add noise.
  if (doc === null || errors.length > 0) return err(sortDiagnostics(diagnostics));

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (e) {
    // Unresolved aliases and alias bombs surface only here.
    const message = `invalid YAML: ${e instanceof Error ? e.message : String(e)}`;
    return err(sortDiagnostics([...diagnostics, at(unresolvedAliasOffset(doc), message)]));
  }

  const locate = locator(doc);
  const services = field(data, "services");
  const count = typeof services === "object" && services !== null ? Object.keys(services).length : 0;
  if (count > MAX_SERVICES) {
    const tooMany: Located = { path: ["services"], at: "key", message: `expected at most ${MAX_SERVICES} services, got ${count}` };
    return err(sortDiagnostics([...diagnostics, at(locate(tooMany.path, tooMany.at), withPath(tooMany))]));
  }

  const parsed = ManifestSchema.safeParse(data, { reportInput: true });
  const order = serviceOrder(doc, data);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.flatMap((issue) => fromZod(issue))),
    ...graphProblems(data, order),
    ...whenProblems(data, order),
    ...protoKeys(data, order),
  ];
  for (const p of problems) diagnostics.push(at(locate(p.path, p.at), withPath(p)));

  if (!parsed.success || diagnostics.length > 0) return err(sortDiagnostics(diagnostics));
  return ok(normalize(parsed.data, file, order));
}

/** By position, problems without one (line 0) first; a problem found twice is shown once. */
function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const sorted = [...diagnostics].sort((a, b) => a.line - b.line || a.col - b.col);
  return sorted.filter((d, i) => {
    const before = sorted[i - 1];
    return before === undefined || before.line !== d.line || before.col !== d.col || before.message !== d.message;
  });
}

function unresolvedAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return;
      offset = alias.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

function fromZod(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): Located[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: [...path, key],
      at: "key",
      message: `unknown key, ${issue.message}`,
    }));
  }
  if (issue.code === "invalid_key") {
    const message = issue.issues[0]?.message ?? issue.message;
    return [{ path, at: "key", message: `${message}, got ${showValue(issue.input)}` }];
  }
  if (issue.code === "invalid_union") {
    // A value of the right type with one bad part (a list with one bad entry)
    // is reported at that part rather than as matching none of the options.
    const deeper = issue.errors.filter(
      (branch) => branch.length > 0 && branch.every((i) => i.path.length > 0),
    );
    const [only] = deeper;
    if (deeper.length === 1 && only !== undefined) return only.flatMap((i) => fromZod(i, path));
  }
  // YAML has no undefined: an undefined input is a key that is not there.
  const message =
    issue.input === undefined
      ? `missing required key, ${issue.message}`
      : `${issue.message}, got ${showValue(issue.input)}`;
  return [{ path, at: "value", message }];
}

function showValue(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object" && value !== null) return "a mapping";
  return String(value);
}

/** `services.ai.flow.app.args[0]`; a key that is empty or not name-like is quoted: `env."A=B"`. */
function withPath(p: Located): string {
  const key = (segment: string) =>
    /^(?!\.+$)[A-Za-z0-9._-]+$/.test(segment) ? segment : JSON.stringify(segment);
  const path = p.path
    .map((segment, i) =>
      typeof segment === "number" ? `[${segment}]` : `${i > 0 ? "." : ""}${key(String(segment))}`,
    )
    .join("");
  return path === "" ? p.message : `${path}: ${p.message}`;
}

/** An own property of a plain mapping, else undefined. */
function field(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * Service names in file order. JS objects list integer-like keys such as `2`
 * first, so the order comes from the YAML node; names only reachable through
 * a `<<` merge follow.
 */
function serviceOrder(doc: Document, data: unknown): string[] {
  const services = field(data, "services");
  const inData = typeof services === "object" && services !== null ? Object.keys(services) : [];
  const node = doc.get("services", true);
  const keys = isMap(node) ? node.items.map((pair) => pair.key) : [];
  const inFile = keys.flatMap((key) => (isScalar(key) ? [String(key.value)] : []));
  const known = new Set(inData);
  return [...new Set([...inFile.filter((name) => known.has(name)), ...inData])];
}

/**
 * Checked on the raw data, leniently, so graph problems are reported along
 * with schema problems; entries of the wrong type are the schema's to report.
 */
function graphProblems(data: unknown, order: readonly string[]): Located[] {
  const services = field(data, "services");
  const raw = (name: string): unknown => field(field(services, name), "depends_on");
  const dependencies = (name: string): Dependency[] => {
    const v = raw(name);
    if (Array.isArray(v)) return v.filter((d): d is string => typeof d === "string").map((d) => ({ name: d, condition: "ready" }));
    if (typeof v !== "object" || v === null) return [];
    // A condition the schema rejects still names a service to check.
    return Object.entries(v).map(([d, c]) => ({ name: d, condition: c === "completed" || c === "started" ? c : "ready" }));
  };
  const nodes: GraphNode[] = order.map((name) => ({
    name,
    dependsOn: dependencies(name),
    when: whenOf({ when: whenEntries(field(services, name)), nowait: field(field(services, name), "nowait") === true }),
    nomonitor: field(field(services, name), "nomonitor") === true,
    oneshot: field(field(services, name), "oneshot") === true,
  }));
  return checkGraph(nodes).map((issue): Located => {
    const v = raw(issue.service);
    const base = ["services", issue.service, "depends_on"];
    // In the mapping form, the key names the dependency and the value is its condition.
    if (!Array.isArray(v)) return { path: [...base, issue.dependency], at: issue.condition ? "value" : "key", message: issue.message };
    return { path: [...base, v.indexOf(issue.dependency)], at: "value", message: issue.message };
  });
}

/** A service's `when` entries the schema accepts; undefined without a list. */
function whenEntries(service: unknown): string[] | undefined {
  const when = field(service, "when");
  return Array.isArray(when) ? when.filter((w): w is string => typeof w === "string" && WHEN_PATTERN.test(w)) : undefined;
}

/**
 * `when` against the gates the manifest declares: every name known (a typo
 * after `!` would otherwise read as a gate always closed), and no gate asked
 * for both open and closed, which would keep the service from ever running.
 */
function whenProblems(data: unknown, order: readonly string[]): Located[] {
  const declared = field(field(data, "settings"), "gates");
  const known = [FLAG_GATE, ...(typeof declared === "object" && declared !== null && !Array.isArray(declared) ? Object.keys(declared) : [])];
  const problems: Located[] = [];
  for (const name of order) {
    const entries = whenEntries(field(field(data, "services"), name));
    if (entries === undefined) continue;
    const raw = field(field(field(data, "services"), name), "when") as unknown[];
    const written = new Map<string, string>();
    for (const entry of entries) {
      const path = ["services", name, "when", raw.indexOf(entry)];
      const gate = entry.replace(/^!/, "");
      const other = written.get(gate);
      const expected = known.length === 1 ? `expected ${FLAG_GATE} or a gate of settings.gates` : `expected one of ${known.join(", ")}`;
      if (!known.includes(gate)) problems.push({ path, at: "value", message: `unknown gate "${gate}", ${expected}` });
      else if (other !== undefined && other !== entry) problems.push({ path, at: "value", message: `"${entry}" contradicts "${other}": the service could never run` });
      written.set(gate, entry);
    }
  }
  return problems;
}

/**
 * zod's records skip a `__proto__` key without a word, which would silently
 * drop a service or a variable; strict objects report it as unknown already.
 */
function protoKeys(data: unknown, order: readonly string[]): Located[] {
  const records = [["services"], ...order.map((name) => ["services", name, "env"])];
  return records
    .filter((path) => Object.hasOwn(Object(path.reduce(field, data)), "__proto__"))
    .map((path) => ({
      path: [...path, "__proto__"],
      at: "key",
      message: 'expected another name, got "__proto__"',
    }));
}

/**
 * The offset of the node at a path. A path that stops early (a missing key)
 * points at the last key found, which is where the missing key belongs.
 * Each mapping is indexed once, so a file with thousands of problems in one
 * mapping is located in linear time.
 */
function locator(doc: Document): (path: readonly PropertyKey[], at: "key" | "value") => number {
  const indexes = new Map<YAMLMap, Map<string, Pair>>();
  /** [key node, value node] of one step down; for list items the item is both. */
  const child = (node: unknown, segment: PropertyKey): [unknown, unknown] | undefined => {
    if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      return item === undefined ? undefined : [item, item];
    }
    if (!isMap(node)) return undefined;
    let index = indexes.get(node);
    if (index === undefined) {
      // The last of duplicate keys wins, as in toJS.
      index = new Map(node.items.flatMap((pair) => (isScalar(pair.key) ? [[String(pair.key.value), pair]] : [])));
      indexes.set(node, index);
    }
    const pair = index.get(String(segment));
    return pair === undefined ? undefined : [pair.key, pair.value];
  };
  return (path, at) => {
    let node: unknown = doc.contents;
    let key: unknown = null;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(doc);
      const next = child(node, segment);
      if (next === undefined) return start(key) ?? start(node) ?? 0;
      [key, node] = next;
    }
    // An empty value (`a:` and nothing) has no text of its own: blame its key.
    const value = start(node);
    const empty = isNode(node) && node.range?.[0] === node.range?.[1];
    if (at === "key" || value === undefined || empty) return start(key) ?? value ?? 0;
    return value;
  };
}

const start = (node: unknown): number | undefined => (isNode(node) ? node.range?.[0] : undefined);
