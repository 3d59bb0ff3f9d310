/**
 * The JSON Schema of services.yaml, for editors (yaml-language-server and the
 * like). It is made from ManifestSchema, never written by hand, so editor hints
 * and the validator cannot disagree on keys, types or defaults.
 *
 * It is looser than `flowinit validate` in a few places that JSON Schema cannot
 * express: `interval` > 0, `restart_delay` <= `restart_delay_max`, and the
 * depends_on graph (unknown, self, cycles, nowait/nomonitor rules, `completed`
 * on a service that is not oneshot). The list of
 * stop signals is this platform's (os.constants.signals), so the checked-in
 * file is generated on Linux.
 *
 * `scripts/gen-schema.mjs` writes it to schema/services.schema.json.
 */
import * as z from "zod";
import { ManifestSchema } from "./schema.js";

/** The JSON Schema (draft 2020-12) of a services.yaml file as written, with its defaults. */
export function manifestJsonSchema(): Record<string, unknown> {
  // io "input": the file as people write it, where every defaulted key is optional.
  const { $schema, ...rest } = z.toJSONSchema(ManifestSchema, { io: "input" });
  return {
    $schema,
    title: "flowinit services.yaml",
    description: "The services flowinit supervises, and the daemon's settings. Reference: docs/manifest.md.",
    ...rest,
  };
}
