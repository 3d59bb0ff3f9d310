// Bundles the CLI, daemon included, into one file, dist/cli.bundle.cjs, which bin/flowinit.js runs.
// Node loads one module instead of some 400: `flowinit run` starts ~170 ms sooner and its heap is
// ~15 MiB smaller, which also makes every fork of the daemon (one per spawned service) cheaper.
// CommonJS, not an ES module: bin/flowinit.js compiles it as a script with V8's code cache, which
// Node 20 offers for scripts only. docs/performance.md has the figures. The library entry
// (dist/index.js) stays tsc's output.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: ["dist/cli/main.js"],
  outfile: "dist/cli.bundle.cjs",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20.5",
  // zeromq loads its native addon from its own folder; pino-pretty is loaded only for a terminal.
  external: ["zeromq", "pino-pretty"],
  // src/package.ts finds the package from its own URL, which a CommonJS file has as its __filename.
  define: { "import.meta.url": "__flowinitUrl" },
  banner: { js: "const __flowinitUrl = require('node:url').pathToFileURL(__filename).href;" },
  // V8 keeps the bundle's source in the heap, which every fork of the daemon copies: 1.0 MB with one
  // non-ASCII character in a comment made it a two-byte string of 2 MiB; without whitespace and comments, and
  // ASCII only, it is a one-byte string of 0.65 MiB. Names are kept, for stack traces and profiles.
  minifyWhitespace: true,
  charset: "ascii",
  logLevel: "warning",
});
