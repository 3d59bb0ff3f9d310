#!/usr/bin/env node
import { setFlagsFromString } from "node:v8";

// Every service `flowinit run` starts is a fork of the daemon, and a fork costs in proportion to the memory it
// copies (docs/performance.md, "What a spawn costs"). Set before the bundle loads, so that the start leaves less
// of it: a young generation that stays at its first size instead of growing to 8 MiB while the manifest is read,
// and no optimizing compiles, whose memory stays behind in the malloc arena of each V8 worker thread, until the
// daemon has started its services (src/cli/commands/run.ts turns them back on).
if (process.argv[2] === "run") setFlagsFromString("--semi-space-growth-factor=1 --no-turbofan");

const { main } = await import("../dist/cli.bundle.js");
process.exitCode = await main(process.argv.slice(2));
