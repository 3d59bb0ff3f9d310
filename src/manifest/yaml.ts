/**
 * services.yaml text -> a YAML document, within bounds that keep any file
 * to a fraction of a second: the size is checked before parsing, the nesting
 * depth before the tree is built (the yaml library builds it recursively and
 * overflows the stack near 900 levels), and duplicate keys are found in one
 * pass (the library's own check compares each key with every earlier one of
 * its mapping: minutes for 100,000 keys).
 */
import { type CST, Composer, type Document, Lexer, LineCounter, Parser, isMap, isScalar, isSeq } from "yaml";

/** The most bytes a manifest may have; the yaml library parses about 2 MB a second here, slower on a phone. */
export const MAX_MANIFEST_BYTES = 256 * 1024;

/** Mappings and lists inside one another; a services.yaml needs 4 or 5. */
export const MAX_DEPTH = 64;

/** A problem at an offset of the text, its message final. */
export interface YamlError {
  offset: number;
  message: string;
}

/** A key repeated in its mapping, at its second occurrence. */
export interface DuplicateKey {
  offset: number;
  path: PropertyKey[];
}

export interface ParsedYaml {
  lineCounter: LineCounter;
  /** null when a bound stopped the reading before a tree was built. */
  doc: Document.Parsed | null;
  /** Syntax errors and exceeded bounds: the tree, if any, is not worth checking further. */
  errors: YamlError[];
  /** The tree stays usable (the last value wins); these are reported along with everything else. */
  duplicates: DuplicateKey[];
}

/** The options that change the data: `<<` keys, which the original FlowInit's PyYAML accepted. */
const OPTIONS = {
  merge: true,
  // Found by duplicateKeys instead, in linear time.
  uniqueKeys: false,
  // toJS would otherwise print warnings to stderr.
  logLevel: "error",
} as const;

export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const tooLarge = sizeError(text, lineCounter);
  if (tooLarge !== null) return { lineCounter, doc: null, errors: [tooLarge], duplicates: [] };

  const tokens = parseTokens(text, lineCounter);
  if (!Array.isArray(tokens)) return { lineCounter, doc: null, errors: [tokens], duplicates: [] };

  let doc: Document.Parsed | null = null;
  const errors: YamlError[] = [];
  // As parseDocument does: the first document, and a complaint at the second.
  for (const next of new Composer(OPTIONS).compose(tokens, true, text.length)) {
    if (doc === null) {
      doc = next;
      continue;
    }
    errors.push({ offset: next.range[0], message: "invalid YAML: expected one document, found a second one" });
    break;
  }
  if (doc === null) throw new Error("bug: compose(..., true) yields a document");
  errors.unshift(...doc.errors.map((e) => ({ offset: e.pos[0], message: `invalid YAML: ${e.message}` })));
  return { lineCounter, doc, errors, duplicates: duplicateKeys(doc) };
}

/** Placed where the text passes the limit, which needs the lines up to there counted. */
function sizeError(text: string, lineCounter: LineCounter): YamlError | null {
  if (Buffer.byteLength(text) <= MAX_MANIFEST_BYTES) return null;
  const offset = Buffer.from(text).subarray(0, MAX_MANIFEST_BYTES).toString("utf8").length;
  lineCounter.addNewLine(0);
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) lineCounter.addNewLine(i + 1);
  return {
    offset,
    message: `expected a manifest of at most ${MAX_MANIFEST_BYTES} bytes (${MAX_MANIFEST_BYTES / 1024} KiB), got more from here on`,
  };
}

/**
 * The syntax tree (CST), or the error at the first collection nested too
 * deep. The parser keeps its own stack, so a deep file costs it no call
 * stack, but it takes 3 µs a level of flow nesting (`[[[[`): fed one lexeme at
 * a time, it stops at the first flow level too many instead of parsing
 * 100,000. Block nesting costs it little, and the finished tree is checked.
 */
function parseTokens(text: string, lineCounter: LineCounter): CST.Token[] | YamlError {
  // What Parser.parse does, one lexeme at a time.
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const tokens: CST.Token[] = [];
  let flowDepth = 0;
  // A scalar is one lexeme, brackets and all: a lone bracket is an indicator.
  for (const lexeme of new Lexer().lex(text)) {
    tokens.push(...parser.next(lexeme));
    if (lexeme === "[" || lexeme === "{") flowDepth++;
    if (lexeme === "]" || lexeme === "}") flowDepth--;
    // The tree so far (end() closes what is open) holds the first collection too deep.
    if (flowDepth > MAX_DEPTH) break;
  }
  tokens.push(...parser.end());
  const tooDeep = depthError(tokens);
  if (tooDeep !== null) return tooDeep;
  if (flowDepth > MAX_DEPTH) throw new Error("bug: a flow collection too deep is missing from the tree");
  return tokens;
}

/** The first collection, in file order, nested more than MAX_DEPTH deep. */
function depthError(tokens: readonly CST.Token[]): YamlError | null {
  let first: number | null = null;
  const pending: [CST.Token | null | undefined, number][] = tokens.map((token) => [token, 0]);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [token, depth] = next;
    if (token?.type === "document") pending.push([token.value, depth]);
    if (token?.type !== "block-map" && token?.type !== "block-seq" && token?.type !== "flow-collection") continue;
    if (depth === MAX_DEPTH) {
      first = Math.min(first ?? token.offset, token.offset);
      continue;
    }
    for (const item of token.items) pending.push(["key" in item ? item.key : null, depth + 1], [item.value, depth + 1]);
  }
  if (first === null) return null;
  return { offset: first, message: `expected mappings and lists nested at most ${MAX_DEPTH} deep, got deeper here` };
}

/**
 * Keys equal to an earlier key of their mapping, as the yaml library compares
 * them (scalars by value). Aliases are not followed: each mapping is checked
 * where it is written.
 */
function duplicateKeys(doc: Document.Parsed): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  const pending: [unknown, PropertyKey[]][] = [[doc.contents, []]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, path] = next;
    if (isSeq(node)) node.items.forEach((item, i) => pending.push([item, [...path, i]]));
    if (!isMap(node)) continue;
    const seen = new Set<unknown>();
    for (const { key, value } of node.items) {
      if (!isScalar(key)) {
        pending.push([key, path], [value, path]);
        continue;
      }
      const keyPath = [...path, String(key.value)];
      if (seen.has(key.value)) found.push({ offset: key.range?.[0] ?? 0, path: keyPath });
      seen.add(key.value);
      pending.push([value, keyPath]);
    }
  }
  return found.sort((a, b) => a.offset - b.offset);
}
