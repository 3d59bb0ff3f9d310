/** The app named by a green flag's pid, tracked on a real process; the clock is fed by the test. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { ExternalApp } from "../../src/supervisor/external.js";

async function sleeper() {
  const child = spawn("sleep", ["100000"], { stdio: "ignore" });
  await once(child, "spawn");
  return child;
}

describe("ExternalApp", { timeout: 30_000 }, () => {
  it("is running while its process lives, and exited once, with the time it was seen to end", async () => {
    const child = await sleeper();
    const app = new ExternalApp("ai.flow.app", child.pid!, 1000);
    expect(app.entry()).toMatchObject({ name: "ai.flow.app", state: "running", pid: child.pid, since: 1000, restarts: 0, external: true });
    expect(app.check(2000)).toBeNull();
    expect(app.since).toBe(1000);

    child.kill("SIGKILL");
    // Reaped by then: nothing of the process is left for the check to see.
    await once(child, "exit");
    expect(app.check(3000)).toEqual({ from: "running", to: "exited", reason: `process ${child.pid} ended` });
    expect(app.entry()).toMatchObject({ state: "exited", pid: child.pid, since: 3000, external: true });
    expect(app.check(4000)).toBeNull();
    expect(app.since).toBe(3000);
  });

  it("is exited from the start when its process has already ended, and reports no change", async () => {
    const child = await sleeper();
    child.kill("SIGKILL");
    await once(child, "exit");
    const app = new ExternalApp("ai.flow.app", child.pid!, 1000);
    expect(app.state).toBe("exited");
    expect(app.check(2000)).toBeNull();
    expect(app.entry()).toMatchObject({ state: "exited", since: 1000 });
  });
});
