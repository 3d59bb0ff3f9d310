import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadManifest, parseManifest } from "../../src/manifest/index.js";

const fixtures = fileURLToPath(new URL("../fixtures/manifests/", import.meta.url));

describe("a manifest written for the original FlowInit", () => {
  it("loads unchanged", async () => {
    const result = await loadManifest(path.join(fixtures, "flowpilot-original.yaml"));
    if (!result.ok) throw new Error(result.error.map((d) => d.message).join("\n"));
    const services = new Map(result.value.services.map((s) => [s.name, s]));

    expect(result.value.services.map((s) => s.name)).toEqual([
      "calibrationd",
      "plannerd",
      "controlsd",
      "logmessaged",
      "keyvald",
      "flowpilot",
      "pandad",
      "ai.flow.app",
    ]);
    expect(services.get("calibrationd")).toMatchObject({
      command: "python3 -m selfdrive.locationd.calibrationd",
      args: null,
      restart: "always",
      nowait: false,
    });
    expect(services.get("controlsd")).toMatchObject({
      command: "python3",
      args: ["-m", "selfdrive.controls.controlsd"],
    });
    expect(services.get("logmessaged")).toMatchObject({ restart: "never", nowait: true });
    expect(services.get("keyvald")?.restart).toBe("on-failure");
    expect(services.get("flowpilot")).toMatchObject({
      command: "LD_PRELOAD=libprocname.so ./gradlew desktop:run",
      platforms: ["desktop"],
    });
    expect(services.get("ai.flow.app")).toMatchObject({
      command: "am start --user 0 -n ai.flow.android/ai.flow.android.AndroidLauncher",
      nowait: true,
      nomonitor: true,
      platforms: ["android"],
    });
    expect(result.value.settings.intervalMs).toBe(500);
  });
});

describe("reading the file", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "flowinit-manifest-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reports a missing file as one diagnostic without a position, naming the path as given", async () => {
    const file = path.relative(process.cwd(), path.join(dir, "nope.yaml"));
    expect(await loadManifest(file)).toEqual({
      ok: false,
      error: [{ file, line: 0, col: 0, message: "cannot read the manifest: no such file" }],
    });
  });

  it("reports an unreadable path with the system's reason", async () => {
    const result = await loadManifest(dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toHaveLength(1);
    expect(result.error[0]).toMatchObject({ file: dir, line: 0, col: 0 });
    expect(result.error[0]?.message).toContain("EISDIR");
  });

  it("refuses a file past 256 KiB before parsing it, at the byte that passes the limit", async () => {
    // Lines of 16 bytes: byte 262144 starts line 16385.
    const file = path.join(dir, "big.yaml");
    await writeFile(file, `services:${" ".repeat(6)}\n${`  #${"-".repeat(12)}\n`.repeat(20_000)}`);
    expect(await loadManifest(file)).toEqual({
      ok: false,
      error: [{ file, line: 16_385, col: 1, message: "expected a manifest of at most 262144 bytes (256 KiB), got more from here on" }],
    });
  });
});

describe("bounds", () => {
  it("refuses 2,000 nested lists before building the tree, at the 65th level", () => {
    // The top mapping, services and a are the first three; the 62nd dash opens level 65.
    const result = parseManifest(`services:\n  a:\n    command: a\n    args:\n      ${"- ".repeat(2000)}x\n`, "deep.yaml");
    expect(result).toEqual({
      ok: false,
      error: [{ file: "deep.yaml", line: 5, col: 7 + 2 * 61, message: "expected mappings and lists nested at most 64 deep, got deeper here" }],
    });
  });

  it("reports every one of thousands of duplicate keys, each at its line", () => {
    const result = parseManifest(`services:\n  a:\n    command: a\n${"    nowait: true\n".repeat(5000)}`, "dup.yaml");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toHaveLength(4999);
    result.error.forEach((d, i) => expect(d).toMatchObject({ line: 5 + i, col: 5, message: "services.a.nowait: duplicate key" }));
  });

  it("counts the services before checking any of them", () => {
    const services = Array.from({ length: 5000 }, (_, i) => `  s${i}: {restart: sometimes}\n`).join("");
    const result = parseManifest(`services:\n${services}`, "many.yaml");
    expect(result).toEqual({
      ok: false,
      error: [{ file: "many.yaml", line: 1, col: 1, message: "services: expected at most 1000 services, got 5000" }],
    });
  });
});

describe("parseManifest", () => {
  it("names the file as given in diagnostics", () => {
    const result = parseManifest("services:\n  a: {}\n", "conf/services.yaml");
    expect(result).toEqual({
      ok: false,
      error: [
        {
          file: "conf/services.yaml",
          line: 2,
          col: 3,
          message: "services.a.command: missing required key, expected a non-empty string",
        },
      ],
    });
  });

  it("returns every error at once, sorted by position", () => {
    // Found in another order: YAML errors first, then the schema's, then the graph's.
    const text = [
      "services:", // 1
      "  a:", // 2
      "    command: a", // 3
      "    depends_on: [nope]", // 4
      "    command: again", // 5
      "  b:", // 6
      "    command: b", // 7
      "    nowait: maybe", // 8
    ].join("\n");
    const result = parseManifest(text, "s.yaml");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map((d) => `${d.line}:${d.col}: ${d.message.split(":")[0]}`)).toEqual([
      "4:18: services.a.depends_on[0]",
      "5:5: services.a.command",
      "8:13: services.b.nowait",
    ]);
  });

  it("points at the value for bad values and at the key for unknown keys", () => {
    const result = parseManifest("services:\n  a:\n    command: a\n    stop_timeout: soon\n    colour: red\n", "s.yaml");
    expect(result.ok ? [] : result.error.map((d) => [d.line, d.col])).toEqual([
      [4, 19],
      [5, 5],
    ]);
  });

  it("accepts merge keys, as PyYAML did", () => {
    const text = "services:\n  a: &python\n    command: python3\n    restart: true\n  b:\n    <<: *python\n    args: [-m, b]\n";
    const result = parseManifest(text, "s.yaml");
    expect(result.ok && result.value.services[1]).toMatchObject({ name: "b", command: "python3", restart: "always" });
  });

  it("reads YAML 1.2: yes is a string, not a boolean", () => {
    const result = parseManifest("services:\n  a: {command: a, nowait: yes}\n", "s.yaml");
    expect(result.ok ? "" : result.error[0]?.message).toBe('services.a.nowait: expected true or false, got "yes"');
  });

  it("turns an alias bomb into a diagnostic instead of throwing", () => {
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (const [name, prev] of [["b", "a"], ["c", "b"], ["d", "c"]]) {
      lines.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const result = parseManifest(lines.join("\n"), "bomb.yaml");
    expect(result.ok ? "" : result.error[0]?.message).toContain("invalid YAML: Excessive alias count");
  });

  it("rejects __proto__ as a name instead of losing it", () => {
    const result = parseManifest("services:\n  __proto__: {command: a}\n", "s.yaml");
    expect(result.ok ? [] : result.error.map((d) => [d.line, d.col])).toEqual([[2, 3]]);
  });

  it("prints nothing for keys the parser cannot represent", () => {
    const warn = vi.spyOn(process, "emitWarning");
    const result = parseManifest("services:\n  ? [a, b]\n  : {command: a}\n", "s.yaml");
    expect(result.ok).toBe(false);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });
});
