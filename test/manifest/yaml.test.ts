import { describe, expect, it } from "vitest";
import { MAX_DEPTH, parseYaml } from "../../src/manifest/yaml.js";

const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}\n`;

describe("parseYaml", () => {
  it("builds a tree nested MAX_DEPTH deep", () => {
    const { doc, errors } = parseYaml(nested(MAX_DEPTH));
    expect(errors).toEqual([]);
    expect(doc).not.toBeNull();
  });

  it("refuses one level more, at the collection that opens it, without a tree", () => {
    expect(parseYaml(nested(MAX_DEPTH + 1))).toMatchObject({
      doc: null,
      errors: [{ offset: MAX_DEPTH, message: `expected mappings and lists nested at most ${MAX_DEPTH} deep, got deeper here` }],
    });
  });

  it("counts no brackets inside scalars", () => {
    const brackets = "[{".repeat(100);
    const text = `a: "${brackets}"\nb: [x, '${brackets}']\nc: echo ${brackets}\nd: |\n  ${brackets}\n`;
    const { doc, errors } = parseYaml(text);
    expect(errors).toEqual([]);
    expect(doc?.toJS()).toEqual({ a: brackets, b: ["x", brackets], c: `echo ${brackets}`, d: `${brackets}\n` });
  });

  it("counts a list used as a key as a level", () => {
    const { errors } = parseYaml(`? ${nested(MAX_DEPTH)}: x\n`);
    expect(errors.map((e) => e.offset)).toEqual([2 + MAX_DEPTH - 1]);
  });

  it("finds duplicate keys with their paths, the tree keeping the last value", () => {
    const { doc, errors, duplicates } = parseYaml("a:\n  - {b: 1, b: 2}\na: 3\n");
    expect(errors).toEqual([]);
    expect(duplicates).toEqual([
      { offset: 14, path: ["a", 0, "b"] },
      { offset: 20, path: ["a"] },
    ]);
    expect(doc?.toJS()).toEqual({ a: 3 });
  });
});
