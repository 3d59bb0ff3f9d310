import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["test/setup/fresh-build.ts"],
    // Safety nets, not speed targets: on a busy two-core machine a daemon test may take several
    // times its idle duration, and a wait that times out should mean something is really wrong.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    expect: { poll: { timeout: 30_000, interval: 10 } },
  },
});
