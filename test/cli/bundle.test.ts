/** The bundle bin/flowinit.js runs, as V8 holds it in the memory each fork of the daemon copies. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/daemon.js";

describe("dist/cli.bundle.cjs", () => {
  it("is ASCII only, so that its source is a string of one byte a character, not two", () => {
    const text = readFileSync(join(ROOT, "dist/cli.bundle.cjs"), "latin1");
    const at = text.search(/[^\x00-\x7f]/);
    expect(at === -1 ? null : text.slice(Math.max(0, at - 40), at + 40)).toBeNull();
  });
});
