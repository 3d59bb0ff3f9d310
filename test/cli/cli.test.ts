/** The `flowinit` command as users and scripts meet it: a real process, its exit code and its output. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BIN, FIXTURES, ROOT, cli, daemonPerTest, startDaemon, state, tempDir, uniqueEndpoints, type RunningDaemon } from "../helpers/daemon.js";

const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
/** The command's own output, free of colour whatever the environment says. */
const run = (args: string[], env: Record<string, string> = {}, cwd = ROOT) =>
  execa("node", [BIN, ...args], { reject: false, env: { NO_COLOR: "1", ...env }, cwd, timeout: 20_000 });
const noStack = (text: string) => expect(text).not.toMatch(/^\s+at /m);
const daemons = daemonPerTest();

describe("validate", () => {
  it("reports a good manifest and its service count", async () => {
    const r = await run(["validate", "-c", "test/fixtures/manifests/flowpilot-original.yaml"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^test\/fixtures\/manifests\/flowpilot-original\.yaml: ok, \d+ services$/);
    expect(r.stderr).toBe("");
  });

  it("reads $FLOWINIT_CONFIG without -c", async () => {
    const r = await run(["validate"], { FLOWINIT_CONFIG: join(FIXTURES, "manifests/full.yaml") });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/full\.yaml: ok, 2 services$/);
  });

  it("prints every problem as FILE:LINE:COL and exits 2", async () => {
    const file = join(tempDir(), "bad.yaml");
    writeFileSync(file, "services:\n  a:\n    command: sleep 1\n    restart: sometimes\n  b:\n    nowait: 3\n");
    const r = await run(["validate", "-c", file]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line.startsWith(`${file}:`)).toBe(true);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${file}:4:\\d+: services\\.a\\.restart`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${file}:6:\\d+: services\\.b\\.nowait`)));
    noStack(r.stderr);
  });

  it("names a missing file in one line and exits 2", async () => {
    const r = await run(["validate", "-c", "/nonexistent/services.yaml"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^\/nonexistent\/services\.yaml: /);
  });
});

describe("a client with no daemon", () => {
  it(
    "gives up with exit 3 and one line naming the endpoint, wherever the endpoint came from",
    async () => {
      const [flagEp, envEp, manifestEp] = [uniqueEndpoints(), uniqueEndpoints(), uniqueEndpoints()];
      const dir = tempDir();
      writeFileSync(join(dir, "services.yaml"), `settings:\n  control: ${manifestEp.control}\nservices: {}\n`);
      const results = await Promise.all([
        // The flag beats the environment.
        run(["status", "--control", flagEp.control], { FLOWINIT_CONTROL: envEp.control }),
        run(["flag"], { FLOWINIT_CONTROL: envEp.control }),
        // With neither, ./services.yaml's settings decide.
        run(["stop", "plannerd"], { FLOWINIT_CONTROL: "" }, dir),
      ]);
      expect(results.map((r) => [r.exitCode, r.stdout, r.stderr])).toEqual([
        [3, "", `flowinit: no daemon answers at ${flagEp.control}`],
        [3, "", `flowinit: no daemon answers at ${envEp.control}`],
        [3, "", `flowinit: no daemon answers at ${manifestEp.control}`],
      ]);
    },
  );
});

describe("usage", () => {
  it.each([
    [["bogus"], /unknown command 'bogus'/],
    [["status", "--bogus"], /unknown option '--bogus'/],
    [["run", "--platform", "ios"], /'ios' is invalid. Allowed choices are android, desktop/],
    [["run", "--allow-uid", "-1"], /--allow-uid .* '-1' is invalid. expected a non-negative integer/],
    [["run", "--allow-uid", "1.5"], /'1\.5' is invalid/],
    [["flag", "purple"], /'purple' is invalid/],
    [["flag", "--pid", "0"], /expected a positive integer/],
    [["start"], /missing required argument 'service'/],
    [["status", "--control", "nowhere"], /control endpoint nowhere is not a ZeroMQ address/],
  ])("flowinit %j exits 2 with one line", async (args, message) => {
    const r = await run(args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.split("\n")[0]).toMatch(/^flowinit: /);
    expect(r.stderr).toMatch(message);
    noStack(r.stderr);
  });

  it("shows help without a command, as a usage error", async () => {
    const r = await run([]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^Usage: flowinit/);
  });

  it("--help and --version exit 0", async () => {
    const [help, subHelp, version] = await Promise.all([run(["--help"]), run(["run", "--help"]), run(["--version"])]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Usage: flowinit/);
    for (const cmd of ["run", "flag", "status", "start", "stop", "restart", "shutdown", "watch", "validate"]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${cmd} `, "m"));
    }
    expect(subHelp.exitCode).toBe(0);
    expect(subHelp.stdout).toContain("--no-wait");
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toBe(VERSION);
  });
});

// Safety nets only: a frozen daemon is noticed after 3 s of silence, a killed one at once.
describe("a client waiting for a long stop", () => {
  let d: RunningDaemon | undefined;
  let group: number | undefined;
  // Before the daemon's stop (an outer hook): a frozen daemon takes no SIGTERM, and a killed one leaves the group behind.
  afterEach(() => {
    if (group !== undefined) process.kill(-group, "SIGKILL");
    d?.proc.kill("SIGKILL");
    [d, group] = [undefined, undefined];
  });

  /**
   * `flowinit stop stubborn` of a service that ignores SIGTERM, resolved once
   * the daemon is stopping it: the client is waiting for the reply.
   */
  async function stopping(stopTimeout: string): Promise<{ daemon: RunningDaemon; cli: ReturnType<RunningDaemon["cli"]> }> {
    const daemon = (d = await daemons.start(
      `services:\n  stubborn: { command: PIDFILE=$DIR/stubborn.pid exec $SERVICES/ignores-term.sh, nowait: true, stop_timeout: ${stopTimeout} }\n`,
    ));
    const snap = await daemon.rec.snapshot((s) => state(s, "stubborn")?.state === "running", "stubborn running");
    // Written once its trap is set: from then on SIGTERM does not end it.
    await expect.poll(() => existsSync(join(daemon.dir, "stubborn.pid")) && readFileSync(join(daemon.dir, "stubborn.pid"), "utf8").trim().split(" ").length === 2).toBe(true);
    group = state(snap, "stubborn")!.pid!;
    const mark = daemon.rec.mark;
    const cli = daemon.cli("stop", "stubborn");
    await daemon.rec.event("stubborn", "stopping", mark);
    return { daemon, cli };
  }

  it("waits for a living daemon past the heartbeat timeout, until the stop is done", async () => {
    const { cli } = await stopping("5s");
    expect(await cli).toEqual({ exitCode: 0, stdout: "stubborn: stopped", stderr: "" });
    group = undefined;
  });

  it("exits 3 with the usual line when the daemon is killed", async () => {
    const { daemon, cli } = await stopping("10m");
    daemon.proc.kill("SIGKILL");
    expect(await cli).toEqual({ exitCode: 3, stdout: "", stderr: `flowinit: no daemon answers at ${daemon.control}` });
  });

  it("exits 3 with the usual line when the daemon is frozen, once heartbeats go unanswered", async () => {
    const { daemon, cli } = await stopping("10m");
    daemon.proc.kill("SIGSTOP");
    expect(await cli).toEqual({ exitCode: 3, stdout: "", stderr: `flowinit: no daemon answers at ${daemon.control}` });
  });
});

// Commands against a live `flowinit run`: one shared by the tests that only read it, a fresh one for each test that changes it.
describe("against a live daemon", () => {
  /** A daemon once its nowait service runs, and the CLI against it. */
  async function live(start: (yaml: string) => Promise<RunningDaemon>) {
    const d = await start(`
services:
  early: { command: exec sleep 1000, nowait: true }
  gated: { command: exec sleep 1000 }
`);
    await d.rec.snapshot((s) => state(s, "early")?.state === "running", "early running");
    return { d, client: (...args: string[]) => run([...args, "--control", d.control, "--status", d.status]) };
  }
  let d: RunningDaemon;
  let client: (...args: string[]) => ReturnType<typeof run>;
  beforeAll(async () => {
    ({ d, client } = await live(startDaemon));
  });
  afterAll(() => d.stop());

  it("status prints the header and a table; --json the snapshot", async () => {
    const [table, json] = await Promise.all([client("status"), client("status", "--json")]);
    expect(table.exitCode).toBe(0);
    const lines = table.stdout.split("\n");
    expect(lines[0]).toBe("health ok");
    expect(lines[1]).toMatch(new RegExp(`^flowinit ${VERSION}  pid ${d.proc.pid}  phase waiting  flag off  ${d.control}  \\d\\d:\\d\\d:\\d\\d$`));
    expect(lines[2]).toMatch(/^NAME +STATE +PID +UPTIME +CPU +MEM +RESTARTS +EXIT$/);
    expect(lines[3]).toMatch(/^early +running +\d+ +\d+s +(-|[\d.]+%) +(-|[\d.]+[BKMG]) +0 +-$/);
    expect(lines[4]).toMatch(/^gated +waiting +- +- +- +- +0 +-$/);

    expect(json.exitCode).toBe(0);
    const snapshot = JSON.parse(json.stdout);
    expect(snapshot.daemon).toMatchObject({ pid: d.proc.pid, phase: "waiting", flag: false, health: { ok: true, down: [] } });
    expect(snapshot.services.map((s: { name: string }) => s.name)).toEqual(["early", "gated"]);
  });

  it("flag raises the green flag silently, flag stop lowers it", async () => {
    const { d, client } = await live(daemons.start);
    let mark = d.rec.mark;
    const green = await client("flag");
    expect([green.exitCode, green.stdout, green.stderr]).toEqual([0, "", ""]);
    await d.rec.event("gated", "running", mark);

    mark = d.rec.mark;
    const stop = await client("flag", "stop");
    expect([stop.exitCode, stop.stdout, stop.stderr]).toEqual([0, "", ""]);
    await d.rec.event("gated", "waiting", mark);
  });

  it("stop, start and restart print the service's new state in one line", async () => {
    const { client } = await live(daemons.start);
    const stop = await client("stop", "early");
    expect([stop.exitCode, stop.stdout]).toEqual([0, "early: stopped"]);
    const start = await client("start", "early");
    expect(start.exitCode).toBe(0);
    const pid = Number(/^early: running \(pid (\d+)\)$/.exec(start.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    const restart = await client("restart", "early");
    expect(restart.exitCode).toBe(0);
    expect(restart.stdout).toMatch(/^early: running \(pid \d+\)$/);
    expect(restart.stdout).not.toContain(`(pid ${pid})`);
  });

  it("an unknown service is a runtime failure: one line, exit 1", async () => {
    const r = await client("restart", "nope");
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([1, "", "flowinit: no service named nope"]);
  });

  /** Runs `flowinit watch ARGS` until its output matches, then interrupts it like Ctrl-C. */
  async function watchUntil(args: string[], done: RegExp) {
    const proc = execa("node", [BIN, "watch", ...args, "--status", d.status], { reject: false, env: { NO_COLOR: "1" } });
    let out = "";
    await new Promise<void>((resolve) =>
      proc.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (done.test(out)) resolve();
      }),
    );
    proc.kill("SIGINT");
    const r = await proc;
    return { exitCode: r.exitCode, out, stderr: r.stderr };
  }

  it("watch --json prints one JSON line a message, its topic first, and exits 0 on SIGINT", async () => {
    const r = await watchUntil(["--json"], /"topic":"status".*\n/);
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    for (const line of r.out.trimEnd().split("\n")) {
      const message = JSON.parse(line);
      expect(Object.keys(message)[0]).toBe("topic");
      expect(message.seq).toBeGreaterThan(0);
    }
  });

  it("watch waits for the daemon, then shows the table, and exits 0 on SIGINT", async () => {
    const r = await watchUntil([], /^early +running/m);
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    expect(r.out).toMatch(new RegExp(`^waiting for the daemon at ${d.status} \\.\\.\\.\n`));
    expect(r.out).toMatch(/^NAME +STATE/m);
    // Not a terminal: frames follow each other, without cursor movement or colour.
    expect(r.out).not.toContain("\x1b[");
  });
});

describe("run and shutdown", () => {
  it("run --no-wait starts gated services without a flag; shutdown ends the daemon with 0", async () => {
    const d = await daemons.start("services:\n  gated: { command: exec sleep 1000 }\n", ["--no-wait"]);
    const s = await d.rec.snapshot((s) => state(s, "gated")?.state === "running", "gated running");
    expect(s.daemon.flag).toBe(true);
    const r = await cli(["shutdown", "--control", d.control]);
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, "", ""]);
    expect((await d.proc).exitCode).toBe(0);
  });

  it("a second daemon on the same control endpoint exits 1 naming it", async () => {
    const d = await daemons.start("services: {}\n");
    const file = join(tempDir(), "services.yaml");
    writeFileSync(file, "services: {}\n");
    const r = await run(["run", "-c", file, "--control", d.control, "--status", uniqueEndpoints().status]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(d.control);
    noStack(r.stderr);
  });
});
