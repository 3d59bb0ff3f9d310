import { chmodSync, existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { StateFile, stillOurs } from "../../src/runner/recover.js";
import { startTime } from "../../src/platform/process.js";
import { tempDir } from "../helpers/daemon.js";

describe("StateFile", () => {
  it("round-trips the groups, and a clear leaves nothing even with a write in flight", async () => {
    const f = new StateFile(tempDir(), "ipc://@x/control");
    f.save(() => [{ service: "a", pid: 4242, startTime: 7 }]);
    await expect.poll(() => f.read()).toEqual([{ service: "a", pid: 4242, startTime: 7 }]);
    f.save(() => [{ service: "a", pid: 4243, startTime: 8 }]);
    await f.clear();
    f.save(() => [{ service: "b", pid: 1, startTime: 1 }]);
    expect(existsSync(f.path)).toBe(false);
  });

  it("refuses a folder others may write", () => {
    const dir = tempDir();
    const f = new StateFile(dir, "ipc://@y/control");
    chmodSync(`${dir}/flowinit-${process.getuid!()}`, 0o777);
    expect(() => f.read()).toThrow(/not a private folder/);
  });
});

describe("stillOurs", () => {
  it("takes a live pid for ours only with the recorded start time", () => {
    const me = process.pid;
    expect(stillOurs({ service: "a", pid: me, startTime: startTime(me) })).toBe(true);
    expect(stillOurs({ service: "a", pid: me, startTime: startTime(me)! - 1 })).toBe(false);
    expect(stillOurs({ service: "a", pid: me, startTime: null })).toBe(false);
  });
});
