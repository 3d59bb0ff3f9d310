/**
 * The driver's view end to end: a real daemon, a critical service killed
 * with kill -9 from outside, its on_failure hook, a stand-in for Termux:API's
 * termux-notification on the PATH that records its arguments, the history
 * of exits, and that history after the daemon restarts.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import type { EventMessage, HealthMessage, HistoryEntry } from "../../src/bus/protocol.js";
import { currentHost, runtimeDir } from "../../src/platform/platform.js";
import { StateFile } from "../../src/runner/recover.js";
import { historyPath } from "../../src/stats/history.js";
import { cli, daemonPerTest, FIXTURES, state, tempDir, type Message } from "../helpers/daemon.js";

const daemons = daemonPerTest();

const isHealth =
  (ok: boolean) =>
  (m: Message): m is { topic: "health"; data: HealthMessage } =>
    m.topic === "health" && (m.data as HealthMessage).ok === ok;

const leaves =
  (service: string, from: string) =>
  (m: Message): m is { topic: "event"; data: EventMessage } =>
    m.topic === "event" && (m.data as EventMessage).service === service && (m.data as EventMessage).from === from;

/** Each termux-notification (or -remove) run so far: [command, ...arguments]. */
const notifications = (file: string): string[][] =>
  existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as string[]) : [];

const option = (args: string[], name: string) => args[args.indexOf(name) + 1];

describe("the driver's view", () => {
  it("a critical service killed from outside: health, cause, hook, alert, history, and the history after a restart", async () => {
    const notifyLog = join(tempDir(), "notify.jsonl");
    const env = { PATH: `${join(FIXTURES, "termux-api")}:${process.env.PATH}`, NOTIFY_LOG: notifyLog };
    const d = await daemons.start(
      `
settings:
  notify: termux
  # The history on disk and the ongoing notification follow the status tick.
  interval: 50ms
services:
  victim:
    command: 'echo "victim up" >&2; echo "loading model" >&2; exec sleep 1000'
    critical: true
    on_failure: 'echo hook ran; env | grep ^FLOWINIT_ > "$DIR/hook.tmp" && mv "$DIR/hook.tmp" "$DIR/hook.env"'
  logger: { command: exec sleep 1000, nowait: true }
`,
      [],
      env,
    );
    let mark = d.rec.mark;
    await d.flag();
    const up = await d.rec.event("victim", "running", mark);
    // Its gate open, it was down while it started; once it runs the stack is whole.
    await d.rec.waitFor(isHealth(true), "health ok", mark);

    // Killed once its stderr is in: the daemon has read what the log file holds.
    const log = join(d.dir, "logs", "victim.log");
    await expect.poll(() => existsSync(log) && readFileSync(log, "utf8"), { timeout: 20_000, interval: 10 }).toMatch(/ err \| loading model\n/);
    mark = d.rec.mark;
    process.kill(up.data.pid!, "SIGKILL");
    const killed = await d.rec.waitFor(leaves("victim", "running"), "victim leaves running", mark);
    expect(killed.data).toMatchObject({ to: "backoff", signal: "SIGKILL", cause: "killed" });
    const down = await d.rec.waitFor(isHealth(false), "health down", mark);
    expect(down.data).toMatchObject({ ok: false, down: ["victim"] });
    expect(down.data.reason).toMatch(/^victim (backoff|starting) \(killed\)$/);
    // After the event, before the snapshot that shows it.
    const at = d.rec.messages.indexOf(down);
    expect(d.rec.messages.indexOf(killed)).toBeLessThan(at);
    const shown = await d.rec.snapshot((s) => s.daemon.health.ok === false, "a snapshot with health down", mark);
    expect(d.rec.messages.findIndex((m) => m.data === shown)).toBeGreaterThan(at);
    expect(shown.daemon.health).toEqual({ ok: false, down: ["victim"] });
    await d.rec.waitFor(isHealth(true), "health ok again", at);
    await d.rec.event("victim", "running", at);

    // Written on a status tick, beside the state file: a daemon killed now would keep it too.
    const file = historyPath(new StateFile(runtimeDir(currentHost()), d.control).path);
    const onDisk = () => (existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, HistoryEntry[]>).victim ?? [] : []);
    await expect.poll(() => onDisk().map((e) => e.cause), { timeout: 20_000, interval: 10 }).toEqual(["killed"]);

    // The hook: its environment, and its own output in its own log.
    const hookEnv = join(d.dir, "hook.env");
    await expect.poll(() => existsSync(hookEnv), { timeout: 20_000, interval: 10 }).toBe(true);
    const vars = Object.fromEntries(readFileSync(hookEnv, "utf8").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    expect(vars).toMatchObject({
      FLOWINIT_SERVICE: "victim",
      FLOWINIT_CAUSE: "killed",
      FLOWINIT_STATE: "backoff",
      FLOWINIT_EXIT_CODE: "",
      FLOWINIT_SIGNAL: "SIGKILL",
      FLOWINIT_LOG: join(d.dir, "logs", "victim.log"),
    });
    const hookLog = join(d.dir, "logs", "on_failure", "victim.log");
    await expect.poll(() => existsSync(hookLog) && readFileSync(hookLog, "utf8"), { timeout: 20_000, interval: 10 }).toMatch(/ out \| hook ran\n/);

    // The alert, at once, and the ongoing notification with its Stop button.
    const alerts = () => notifications(notifyLog).filter((n) => option(n, "--id") === "flowinit-alert");
    await expect.poll(() => alerts().length, { timeout: 20_000, interval: 10 }).toBe(1);
    expect(alerts()[0]).toEqual([
      "termux-notification",
      "--id", "flowinit-alert",
      "--priority", "high",
      "--vibrate", "500,250,500",
      "--title", "flowinit: victim down",
      "--content", "victim: killed by SIGKILL; restarting in 100ms (killed)",
    ]);
    const ongoing = () => notifications(notifyLog).filter((n) => option(n, "--id") === "flowinit");
    await expect.poll(() => option(ongoing().at(-1) ?? [], "--content"), { timeout: 20_000, interval: 10 }).toBe("2 of 2 running");
    const last = ongoing().at(-1)!;
    expect(last.slice(0, 9)).toEqual(["termux-notification", "--id", "flowinit", "--ongoing", "--alert-once", "--priority", "low", "--title", "flowinit"]);
    expect(option(last, "--button1")).toBe("Stop");
    // Only on change: no two posts in a row say the same.
    const contents = ongoing().map((n) => option(n, "--content"));
    expect(contents.filter((c, i) => c === contents[i - 1])).toEqual([]);

    // Stopped by request it is down (the stack is not whole), but that is no failure: no alert.
    mark = d.rec.mark;
    expect((await d.cli("stop", "victim")).exitCode).toBe(0);
    expect((await d.rec.waitFor(isHealth(false), "health down after a stop", mark)).data.reason).toBe("victim stopping");
    mark = d.rec.mark;
    expect((await d.cli("start", "victim")).exitCode).toBe(0);
    await d.rec.waitFor(isHealth(true), "health ok after a start", mark);

    // The Stop button lowers the flag; a gate that closes takes the service out of the health.
    mark = d.rec.mark;
    const pressed = await execa("sh", ["-c", option(last, "--button1-action")!], { reject: false });
    expect(pressed.exitCode).toBe(0);
    await d.rec.event("victim", "waiting", mark);
    expect(d.rec.messages.slice(mark).filter(isHealth(false))).toEqual([]);
    expect(alerts()).toHaveLength(1);

    // The history: the kill with the stderr the run left, then the stops.
    const shown2 = await d.cli("history", "victim");
    expect(shown2.stdout).toMatch(/killed +\d+s +SIGKILL +killed by SIGKILL; restarting in 100ms\n {4}\| victim up\n {4}\| loading model/);
    const history = JSON.parse((await d.cli("history", "victim", "--json")).stdout) as HistoryEntry[];
    expect(history.map((e) => e.cause)).toEqual(["stop", "stop", "killed"]);
    expect(history[2]).toMatchObject({ exit_code: null, signal: "SIGKILL", state: "backoff", stderr_tail: ["victim up", "loading model"] });
    expect(history[2]!.uptime_ms).toBeGreaterThanOrEqual(0);
    expect(history[2]!.time).toBeGreaterThanOrEqual(up.data.time);
    expect(history[2]!.time).toBeLessThanOrEqual(killed.data.time);
    expect((await d.cli("history", "nosuch")).stderr).toContain("no service named nosuch");

    // A clean stop removes the ongoing notification; the next daemon still knows the history.
    d.rec.close();
    d.proc.kill("SIGTERM");
    await d.proc;
    expect(notifications(notifyLog).at(-1)).toEqual(["termux-notification-remove", "flowinit"]);
    const next = await daemons.again(d);
    await next.rec.snapshot((s) => state(s, "logger")?.state === "running", "the new daemon runs");
    const after = JSON.parse(String((await cli(["history", "victim", "--json", "--control", d.control])).stdout)) as HistoryEntry[];
    // It was waiting for the flag when the daemon stopped: no exit more.
    expect(after).toEqual(history);
  });

  it("without termux-notification, says so once and supervises on", async () => {
    // node's own folder and the system's: no termux-notification there.
    const d = await daemons.start(
      `
settings:
  notify: termux
services:
  victim: { command: exec sleep 1000, critical: true, restart_delay: 10ms }
`,
      [],
      { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` },
    );
    let mark = d.rec.mark;
    await d.flag();
    for (let i = 0; i < 3; i++) {
      const up = await d.rec.event("victim", "running", mark);
      mark = d.rec.mark;
      process.kill(up.data.pid!, "SIGKILL");
      await d.rec.waitFor(leaves("victim", "running"), "victim killed", mark);
    }
    await d.rec.event("victim", "running", mark);
    await d.stop();
    const said = String((await d.proc).all).split("\n").filter((l) => l.includes("termux-notification not found"));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain("pkg install termux-api");
  });
});
