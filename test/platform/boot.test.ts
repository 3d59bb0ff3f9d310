import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bootId, readBootId } from "../../src/platform/boot.js";
import { tempDir } from "../helpers/daemon.js";

const BOOT = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";

describe("boot id", () => {
  it("is this boot's, read once; null where it cannot be read or is not a UUID", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "garbage"), "not a uuid\n");
    writeFileSync(join(dir, "ok"), `${BOOT}\n`);
    expect(bootId()).toBe(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    expect(readBootId(join(dir, "ok"))).toBe(BOOT);
    expect(readBootId(join(dir, "garbage"))).toBeNull();
    expect(readBootId(join(dir, "missing"))).toBeNull();
  });
});
