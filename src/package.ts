/**
 * Facts about the installed package. This module sits one level below the
 * package root as src/package.ts, as dist/package.js and inside the bundle
 * dist/cli.bundle.cjs alike, so paths are resolved from here.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The package's version, read once from package.json. */
export const VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

/** The package's own `flowinit` executable. */
export const BIN_PATH = fileURLToPath(new URL("../bin/flowinit.js", import.meta.url));
