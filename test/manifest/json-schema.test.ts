/**
 * schema/services.schema.json: checked in, generated from the zod schema, and
 * a working JSON Schema. The validator is zod's own JSON Schema reader
 * (z.fromJSONSchema), which interprets the file's keywords independently of
 * the zod schema it was made from.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import * as z from "zod";
import { manifestJsonSchema } from "../../src/manifest/json-schema.js";

const root = (file: string) => fileURLToPath(new URL(`../../${file}`, import.meta.url));
const checkedIn = readFileSync(root("schema/services.schema.json"), "utf8");

// The loader's YAML options that change the data: `<<` merge keys.
const yamlFile = (file: string): unknown => parse(readFileSync(root(file), "utf8"), { merge: true });
const yamlText = (text: string): unknown => parse(text, { merge: true });

describe("schema/services.schema.json", () => {
  // The stop_signal list comes from os.constants.signals, which differs on
  // macOS and Android; the file is generated on Linux.
  it.skipIf(process.platform !== "linux")("is what scripts/gen-schema.mjs writes now", () => {
    const stale = "stale: run `npm run build && node scripts/gen-schema.mjs`";
    // The parsed comparison shows a readable diff; the text one catches formatting.
    expect(JSON.parse(checkedIn), stale).toEqual(manifestJsonSchema());
    expect(checkedIn, stale).toBe(`${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
  });

  it("is the first line of the example services.yaml", () => {
    const first = readFileSync(root("services.yaml"), "utf8").split("\n")[0];
    expect(first).toBe("# yaml-language-server: $schema=./schema/services.schema.json");
  });

  describe("as a validator", () => {
    const validator = z.fromJSONSchema(JSON.parse(checkedIn) as z.core.JSONSchema.JSONSchema);
    const valid = (data: unknown) => validator.safeParse(data).success;

    it.each(["services.yaml", "test/fixtures/manifests/flowpilot-original.yaml", "test/fixtures/manifests/full.yaml"])(
      "accepts %s",
      (file) => {
        const result = validator.safeParse(yamlFile(file));
        expect(result.error?.issues ?? []).toEqual([]);
      },
    );

    it("accepts a manifest with no services", () => {
      expect(valid(yamlText("services:\n"))).toBe(true);
    });

    // Each case: a manifest with an unknown key, then the same without it.
    it.each([
      ["a service", "services: {a: {command: a, restrat: always}}", "services: {a: {command: a}}"],
      ["settings", "{settings: {intervall: 1s}, services: {}}", "{settings: {}, services: {}}"],
      ["the top level", "{service: {}, services: {}}", "{services: {}}"],
      [
        "curve",
        "{settings: {curve: {secret_key_file: k, authorized_keys_file: a, public_key: p}}, services: {}}",
        "{settings: {curve: {secret_key_file: k, authorized_keys_file: a}}, services: {}}",
      ],
    ])("rejects an unknown key in %s", (_, bad, good) => {
      expect(valid(yamlText(bad))).toBe(false);
      expect(valid(yamlText(good))).toBe(true);
    });

    it.each([
      ["a YAML 1.1 boolean", "services:\n  a:\n    command: a\n    nowait: yes\n"],
      ["a missing command", "services:\n  a:\n    nowait: true\n"],
      ["an empty command", "services:\n  a:\n    command: ''\n"],
      ["a bad duration", "services:\n  a:\n    command: a\n    stop_timeout: soon\n"],
      ["a fractional number of milliseconds", "services:\n  a:\n    command: a\n    stop_timeout: 1.5\n"],
      ["a bad size", "settings:\n  log_max_size: 10mb\nservices: {}\n"],
      ["a bad service name", "services:\n  a/b:\n    command: a\n"],
      ["a name of only dots", "services:\n  '..':\n    command: a\n"],
      ["an unknown platform", "services:\n  a:\n    command: a\n    platforms: [ios]\n"],
      ["an unknown restart policy", "services:\n  a:\n    command: a\n    restart: sometimes\n"],
      ["an unknown signal", "services:\n  a:\n    command: a\n    stop_signal: SIGNOPE\n"],
      ["a non-ZeroMQ endpoint", "settings:\n  control: unix:///x\nservices: {}\n"],
      ["an empty list of endpoints", "settings:\n  status: []\nservices: {}\n"],
      ["no services key", "settings: {}\n"],
    ])("rejects %s", (_, text) => {
      expect(valid(yamlText(text))).toBe(false);
    });
  });
});
