/**
 * Every file in fixtures/manifests/bad starts with the diagnostics it must
 * produce, one `# expect: LINE:COL: message part` comment each, in order.
 * The file must produce exactly those diagnostics and no others.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadManifest } from "../../src/manifest/index.js";

const dir = fileURLToPath(new URL("../fixtures/manifests/bad/", import.meta.url));
const fixtures = readdirSync(dir).filter((name) => name.endsWith(".yaml")).sort();

interface Expected {
  line: number;
  col: number;
  message: string;
}

function expectations(text: string): Expected[] {
  const expected: Expected[] = [];
  for (const line of text.split("\n")) {
    const match = /^# expect: (\d+):(\d+): (.+)$/.exec(line);
    if (match === null) break;
    expected.push({ line: Number(match[1]), col: Number(match[2]), message: match[3] ?? "" });
  }
  return expected;
}

describe("bad manifests", () => {
  it("has fixtures", () => {
    expect(fixtures.length).toBeGreaterThan(40);
  });

  it.each(fixtures)("%s", async (name) => {
    const file = path.join(dir, name);
    const expected = expectations(readFileSync(file, "utf8"));
    expect(expected.length, "the first line must be an `# expect:` comment").toBeGreaterThan(0);

    const result = await loadManifest(file);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const got = result.error.map((d) => `${d.line}:${d.col}: ${d.message}`);
    expect(got).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      const d = result.error[i];
      expect(d?.file).toBe(file);
      expect(got[i]).toContain(`${e.line}:${e.col}: `);
      expect(d?.message).toContain(e.message);
    });
  });
});
