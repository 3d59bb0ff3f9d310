import { describe, expect, it } from "vitest";
import * as z from "zod";
import { ManifestSchema } from "../../src/manifest/index.js";

describe("ManifestSchema", () => {
  const schema = z.toJSONSchema(ManifestSchema, { io: "input" }) as {
    required?: string[];
    properties: Record<string, { default?: unknown; properties?: Record<string, { default?: unknown }> }>;
    additionalProperties?: unknown;
  };

  it("can be emitted as JSON Schema", () => {
    expect(schema.required).toEqual(["services"]);
    expect(schema.additionalProperties).toBe(false);
  });

  it("shows the defaults in YAML form", () => {
    expect(schema.properties.settings?.properties?.interval?.default).toBe("500ms");
    expect(JSON.stringify(schema)).toContain('"default":"on-failure"');
  });
});
