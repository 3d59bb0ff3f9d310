/**
 * Integration tests run bin/flowinit.js, which runs the bundle in dist/: after
 * an edit of src/ without `npm run build` they would test stale code. This
 * global setup rebuilds first whenever a source is newer than the build.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
/** What the build reads: src/ for the bundle and the library, the example the tests run. */
const SOURCES = ["src", "examples/subscriber.ts", "scripts/bundle.mjs"];
/** What the build writes last (the example) and what the tests run (the bundle). */
const OUTPUTS = ["dist/cli.bundle.cjs", "dist/index.js", "examples/build/subscriber.js"];

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function oldest(paths: string[]): number {
  try {
    return Math.min(...paths.map((p) => statSync(join(ROOT, p)).mtimeMs));
  } catch {
    return -Infinity; // not built at all
  }
}

/**
 * Also gives the run a runtime folder of its own (XDG_RUNTIME_DIR, which the
 * workers and every daemon they start inherit), removed afterwards: a
 * clean stop keeps a daemon's history of exits there, one file per control
 * endpoint, and each test's endpoint is new.
 */
export default function setup(): () => void {
  const runtime = mkdtempSync(join(tmpdir(), "flowinit-run-"));
  process.env.XDG_RUNTIME_DIR = runtime;
  // And a cache folder: bin/flowinit.js keeps its code cache there, which the run's starts share.
  process.env.XDG_CACHE_HOME = join(runtime, "cache");
  const teardown = () => rmSync(runtime, { recursive: true, force: true });
  const source = Math.max(...SOURCES.map((p) => newest(join(ROOT, p))));
  if (source <= oldest(OUTPUTS)) return teardown;
  console.log("test setup: src/ is newer than dist/; running npm run build first");
  execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  return teardown;
}
