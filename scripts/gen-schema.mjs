// Writes schema/services.schema.json from the zod schema, through the build:
//   npm run build && node scripts/gen-schema.mjs
// test/manifest/json-schema.test.ts fails when the checked-in file is stale.
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { manifestJsonSchema } from "../dist/manifest/json-schema.js";

const out = fileURLToPath(new URL("../schema/services.schema.json", import.meta.url));
await writeFile(out, `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${out}\n`);
