import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["test/setup/fresh-build.ts"],
    // Safety nets, not speed targets: on a busy two-core machine a daemon test may take several
    // times its idle duration, and a wait that times out should mean something is really wrong.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    expect: { poll: { timeout: 30_000, interval: 10 } },
    // Most tests wait on real processes rather than compute: more files at once than cores keeps both
    // cores busy (the suite used about a third of two cores with one file per core).
    maxWorkers: 4,
    minWorkers: 1,
    // The CLI colours its output where CI is set (picocolors' rule); tests read plain text, and
    // the colours themselves are tested on the formatters. Inherited by every CLI a test runs.
    env: { NO_COLOR: "1" },
  },
});
