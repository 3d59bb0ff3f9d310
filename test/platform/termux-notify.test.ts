/** The Termux notification against a stand-in termux-notification that records its arguments. */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { alertArgs, ongoingArgs, TermuxNotifier, THROTTLE_MS } from "../../src/platform/termux-notify.js";
import { FIXTURES, tempDir } from "../helpers/daemon.js";

const STOP = "'/usr/bin/node' '/opt/flowinit/bin/flowinit.js' flag stop --control ipc://@flowinit/control";

/**
 * A notifier whose commands come from `bin` (the stand-in by default),
 * recording into `file`, logging warnings into `warnings`; the throttle's
 * waits end when the test calls `elapse`.
 */
function harness(bin = join(FIXTURES, "termux-api")) {
  const file = join(tempDir(), "notify.jsonl");
  const warnings: string[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
  const env = { PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`, NOTIFY_LOG: file };
  const waits: (() => void)[] = [];
  const delay = (ms: number) => {
    expect(ms).toBeGreaterThanOrEqual(THROTTLE_MS);
    return new Promise<void>((r) => waits.push(r));
  };
  const notifier = new TermuxNotifier({ env, log, clock: systemClock, stopAction: STOP, delay });
  const runs = (): string[][] => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]) : []);
  const until = (n: number) => expect.poll(() => runs().length, { timeout: 20_000, interval: 10 }).toBe(n);
  /** Ends the waits under way; how many there were. */
  const elapse = async () => {
    const n = waits.length;
    for (const end of waits.splice(0)) end();
    await new Promise((r) => setImmediate(r));
    return n;
  };
  return { notifier, runs, until, warnings, elapse };
}

const content = (args: string[]) => args[args.indexOf("--content") + 1];

describe("ongoingArgs and alertArgs", () => {
  it("the ongoing notification: its id, N of M running, what is down, a Stop button", () => {
    expect(ongoingArgs({ running: 11, total: 12, down: ["modeld"] }, STOP)).toEqual([
      "--id", "flowinit",
      "--ongoing",
      "--alert-once",
      "--priority", "low",
      "--title", "flowinit",
      "--content", "11 of 12 running; down: modeld",
      "--button1", "Stop",
      "--button1-action", STOP,
    ]);
    expect(content(ongoingArgs({ running: 3, total: 3, down: [] }, STOP))).toBe("3 of 3 running");
  });

  it("an alert: high priority, vibrating, one line a failure", () => {
    expect(alertArgs([{ service: "modeld", text: "killed by SIGKILL; restarting in 100ms (killed)" }])).toEqual([
      "--id", "flowinit-alert",
      "--priority", "high",
      "--vibrate", "500,250,500",
      "--title", "flowinit: modeld down",
      "--content", "modeld: killed by SIGKILL; restarting in 100ms (killed)",
    ]);
    const two = alertArgs([
      { service: "modeld", text: "a" },
      { service: "plannerd", text: "b" },
      { service: "modeld", text: "c" },
    ]);
    expect(two.slice(-3)).toEqual(["flowinit: modeld, plannerd down", "--content", "modeld: a\nplannerd: b\nmodeld: c"]);
  });
});

describe("TermuxNotifier", () => {
  it("posts the ongoing notification a second after a change, the latest, and only what differs from what is shown", async () => {
    const h = harness();
    h.notifier.show({ running: 0, total: 2, down: ["modeld"] });
    h.notifier.show({ running: 2, total: 2, down: [] });
    expect(h.runs()).toEqual([]);
    expect(await h.elapse()).toBe(1);
    await h.until(1);
    expect(content(h.runs()[0]!)).toBe("2 of 2 running");
    // What is shown already costs nothing, not even a wait.
    h.notifier.show({ running: 2, total: 2, down: [] });
    expect(await h.elapse()).toBe(0);
    // Nor does a change undone within the wait; an alert then shows that nothing went out before it.
    h.notifier.show({ running: 1, total: 2, down: ["modeld"] });
    h.notifier.show({ running: 2, total: 2, down: [] });
    expect(await h.elapse()).toBe(1);
    h.notifier.alert({ service: "modeld", text: "killed" });
    await h.until(2);
    expect(h.runs()[1]![2]).toBe("flowinit-alert");
    h.notifier.show({ running: 2, total: 3, down: [] });
    expect(await h.elapse()).toBe(1);
    await h.until(3);
    expect(content(h.runs()[2]!)).toBe("2 of 3 running");
    await h.notifier.close();
    expect(h.runs()[3]).toEqual(["termux-notification-remove", "flowinit"]);
    expect(h.warnings).toEqual([]);
  });

  it("alerts at once; alerts that meet behind a running command go out as one", async () => {
    const h = harness();
    h.notifier.alert({ service: "modeld", text: "first" });
    h.notifier.alert({ service: "plannerd", text: "second" });
    h.notifier.alert({ service: "modeld", text: "third" });
    await h.until(2);
    expect(h.runs().map(content)).toEqual(["modeld: first", "plannerd: second\nmodeld: third"]);
    // Nothing ongoing was shown: nothing to remove.
    await h.notifier.close();
    expect(h.runs()).toHaveLength(2);
  });

  it("without termux-notification, says so once and tries nothing more", async () => {
    const h = harness(tempDir());
    h.notifier.alert({ service: "modeld", text: "first" });
    await expect.poll(() => h.warnings.length, { timeout: 20_000, interval: 10 }).toBe(1);
    expect(h.warnings[0]).toMatch(/^settings\.notify: termux: termux-notification not found; install termux-api \(pkg install termux-api\)/);
    h.notifier.alert({ service: "modeld", text: "second" });
    h.notifier.show({ running: 0, total: 1, down: ["modeld"] });
    await h.notifier.close();
    expect(h.warnings).toHaveLength(1);
  });

  it("a command that fails is logged once, until one works", async () => {
    const bin = tempDir();
    const fake = join(bin, "termux-notification");
    writeFileSync(fake, "#!/bin/sh\necho 'Termux:API is not installed' >&2\nexit 1\n");
    chmodSync(fake, 0o755);
    const h = harness(bin);
    h.notifier.alert({ service: "modeld", text: "a" });
    await expect.poll(() => h.warnings.length, { timeout: 20_000, interval: 10 }).toBe(1);
    h.notifier.alert({ service: "modeld", text: "b" });
    // close waits for the command under way.
    await h.notifier.close();
    expect(h.warnings).toEqual(["settings.notify: termux: termux-notification failed: exit code 1: Termux:API is not installed; further failures are not logged until it works"]);
  });
});
