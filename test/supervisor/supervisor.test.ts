/** The supervisor on its own: real children, real logs, its change events. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { ServiceSpec } from "../../src/manifest/index.js";
import type { ServiceLog } from "../../src/runner/output.js";
import { Supervisor } from "../../src/supervisor/supervisor.js";
import { isAlive, SERVICES, tempDir } from "../helpers/daemon.js";
import { logIn, pidsIn, specsOf } from "../helpers/specs.js";

interface Seen {
  service: string;
  from: string;
  to: string;
  reason: string;
}

/** A supervisor of these services, in a temp dir of its own, and every change it reports. */
class Harness {
  readonly dir = tempDir();
  readonly sup: Supervisor;
  readonly changes: Seen[] = [];
  /** The services whose log was opened, and those whose log was closed, in order. */
  readonly opened: string[] = [];
  readonly closed: string[] = [];
  private wakers: (() => void)[] = [];

  constructor(
    services: (dir: string) => Record<string, Record<string, unknown>>,
    specs?: (all: ServiceSpec[]) => ServiceSpec[],
    settings: Record<string, unknown> = {},
    log = pino({ level: "silent" }),
  ) {
    const all = specsOf(services(this.dir), this.dir, settings);
    this.sup = new Supervisor(specs ? specs(all) : all, {
      shell: "/bin/sh",
      env: { PATH: process.env.PATH },
      output: (spec) => this.open(spec.name),
      log,
      watchdogDir: join(this.dir, "wd"),
    });
    this.sup.on("change", ({ name, change }) => {
      this.changes.push({ service: name, ...change });
      for (const wake of this.wakers.splice(0)) wake();
    });
    harnesses.push(this);
  }

  /** The real log, telling the test when it is opened and closed. */
  private open(name: string): ServiceLog {
    this.opened.push(name);
    const log = logIn(this.dir, name);
    return {
      path: log.path,
      stream: (kind) => log.stream(kind),
      flush: () => log.flush(),
      watchLines: (fn) => log.watchLines(fn),
      stderr: log.stderr,
      close: () => log.close().then(() => void this.closed.push(name)),
    };
  }

  /** Index of the first change of `service` to `to` at index `from` or later; -1 if none. */
  find(service: string, to: string, from = 0): number {
    return this.changes.findIndex((c, i) => i >= from && c.service === service && c.to === to);
  }

  /** Waits for that change; resolves with its index. */
  async next(service: string, to: string, from = 0): Promise<number> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const i = this.find(service, to, from);
      if (i !== -1) return i;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no change of ${service} to ${to}; saw ${JSON.stringify(this.changes)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wakers.push(() => (clearTimeout(t), r()));
      });
    }
  }

  state(name: string) {
    return this.sup.get(name)!.status.state;
  }

  /** Raises or lowers the green flag's gate as the daemon does; the services to stop, as setGate returns them. */
  flag(up: boolean, reason = up ? "flag" : "stop flag", later = false): string[] {
    return this.sup.setGate("flag", up, reason, reason, later).down;
  }

  pid(name: string): number {
    const st = this.state(name);
    if (st.name !== "running") throw new Error(`${name} is ${st.name}`);
    return st.pid;
  }
}

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    await h.sup.stopAll("test over");
    await h.sup.closeLogs();
  }
});

const forever = { command: `exec ${SERVICES}/forever.sh` };

describe("Supervisor", { timeout: 60_000 }, () => {
  it("the green flag starts only the services whose dependencies run, and the dependents once they do", async () => {
    const h = new Harness(() => ({ base: forever, app: { ...forever, depends_on: ["base"] } }));
    h.sup.begin();
    expect(h.changes).toEqual([]);
    h.flag(true);
    expect(h.state("base").name).toBe("starting");
    expect(h.state("app").name).toBe("waiting");
    const appStarting = await h.next("app", "starting");
    await h.next("app", "running");
    const baseRunning = h.find("base", "running");
    expect(baseRunning).not.toBe(-1);
    expect(baseRunning).toBeLessThan(appStarting);
    expect(h.changes[appStarting]!.reason).toBe("base is running");
  });

  it("does not hold back a service on a dependency it does not supervise", async () => {
    const h = new Harness(
      () => ({ elsewhere: forever, app: { ...forever, depends_on: ["elsewhere"] } }),
      (all) => all.filter((s) => s.name === "app"),
    );
    h.flag(true);
    expect(h.state("app").name).toBe("starting");
  });

  it("start() starts a service at once, its dependencies down, as an operator asked", async () => {
    const h = new Harness(() => ({ base: forever, app: { ...forever, depends_on: ["base"] } }));
    await h.sup.start("app", "request");
    expect(h.state("app").name).toBe("running");
    expect(h.state("base").name).toBe("waiting");
  });

  it("stopAll() stops a service only once its dependents are down", async () => {
    const h = new Harness(() => ({
      base: forever,
      mid: { ...forever, depends_on: ["base"] },
      top: { ...forever, depends_on: ["mid"] },
    }));
    h.flag(true);
    await h.next("top", "running");
    const mark = h.changes.length;
    await h.sup.stopAll("shutdown");
    const at = (name: string, to: string) => h.find(name, to, mark);
    for (const name of ["base", "mid", "top"]) {
      expect(at(name, "stopping"), `${name} stopping`).not.toBe(-1);
      expect(at(name, "stopped"), `${name} stopped`).not.toBe(-1);
    }
    expect(at("top", "stopped")).toBeLessThan(at("mid", "stopping"));
    expect(at("mid", "stopped")).toBeLessThan(at("base", "stopping"));
  });

  it("restarts a crashed service after its backoff", async () => {
    const h = new Harness(() => ({
      svc: { command: `${SERVICES}/crashes.sh`, restart_delay: "10ms", max_restarts: 1000, stable_after: "1h" },
    }));
    h.flag(true);
    const backoff = await h.next("svc", "backoff");
    expect(h.changes[backoff]).toMatchObject({ from: "running", reason: "exited with code 3; restarting in 10ms" });
    const restart = await h.next("svc", "starting", backoff);
    expect(h.changes[restart]).toMatchObject({ from: "backoff", reason: "backoff elapsed" });
    await h.next("svc", "running", restart);
    expect(h.sup.get("svc")!.status.restarts).toBeGreaterThanOrEqual(1);
  });

  it("spawns a restart before it writes the change's log line", async () => {
    const order: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void order.push(`log ${(JSON.parse(line) as { msg: string }).msg}`) });
    const h = new Harness(() => ({ svc: { command: `${SERVICES}/crashes.sh`, restart_delay: 0, max_restarts: 1000, stable_after: 0 } }), undefined, {}, log);
    h.sup.on("spawned", () => order.push("spawned"));
    h.flag(true);
    const restart = await h.next("svc", "starting", (await h.next("svc", "running")) + 1);
    expect(h.changes[restart]).toMatchObject({ from: "running" });
    const line = order.indexOf("log running -> starting");
    expect(order.slice(line - 1, line + 1)).toEqual(["spawned", "log running -> starting"]);
  });

  it("gives up on a quick-crash loop after max_restarts: fatal, with the reason", async () => {
    const h = new Harness(() => ({
      svc: { command: `${SERVICES}/crashes.sh`, restart_delay: 1, max_restarts: 2, stable_after: "1h" },
    }));
    h.flag(true);
    const fatal = await h.next("svc", "fatal");
    expect(h.changes[fatal]).toMatchObject({
      from: "running",
      reason: "exited with code 3; gave up after 2 restarts without 3600000ms of uptime",
    });
    expect(h.changes.filter((c) => c.to === "backoff")).toHaveLength(2);
    expect(h.sup.get("svc")!.status.restarts).toBe(2);
  });

  it("kills what a crashed service left in its process group", async () => {
    const h = new Harness((dir) => ({
      svc: { command: `${SERVICES}/exits-leaving-grandchild.sh`, restart: "never", env: { PIDFILE: join(dir, "pids") } },
    }));
    h.flag(true);
    const [, grandchild] = await pidsIn(join(h.dir, "pids"), 2);
    await h.next("svc", "exited");
    await expect.poll(() => isAlive(grandchild!), { timeout: 20_000, interval: 5 }).toBe(false);
  });

  it("stop() resolves once the whole process group is gone", async () => {
    const h = new Harness((dir) => ({
      svc: { command: `${SERVICES}/forks-grandchild.sh`, stop_timeout: "10m", env: { PIDFILE: join(dir, "pids") } },
    }));
    h.flag(true);
    const [leader, grandchild] = await pidsIn(join(h.dir, "pids"), 2);
    await h.sup.stop("svc", "request");
    expect(isAlive(leader!)).toBe(false);
    expect(isAlive(grandchild!)).toBe(false);
    expect(h.state("svc").name).toBe("stopped");
    expect(h.changes.at(-1)).toMatchObject({ from: "stopping", to: "stopped", reason: "stopped (killed by SIGTERM)" });
  });

  it("stop() waits out the stop timeout for a member that ignores the stop signal, then says it was killed", async () => {
    const h = new Harness((dir) => ({
      svc: { command: `${SERVICES}/leaves-daemon-ignoring-term.sh`, stop_timeout: "200ms", env: { PIDFILE: join(dir, "pids") } },
    }));
    h.flag(true);
    const [leader, daemon] = await pidsIn(join(h.dir, "pids"), 2);
    await h.sup.stop("svc", "request");
    expect(isAlive(leader!)).toBe(false);
    // Polled: stopGroup may resolve a moment before the SIGKILL has ended it (a bug: test/runner/stop.test.ts).
    await expect.poll(() => isAlive(daemon!), { timeout: 20_000, interval: 5 }).toBe(false);
    expect(h.changes.at(-1)).toMatchObject({ from: "stopping", to: "stopped", reason: "stopped (killed after stop_timeout)" });
  });

  it("restart() replaces a running process with a new one and resolves once it runs", async () => {
    const h = new Harness(() => ({ svc: forever }));
    await h.sup.start("svc", "request");
    const before = h.pid("svc");
    const mark = h.changes.length;
    await h.sup.restart("svc", "request");
    const after = h.pid("svc");
    expect(after).not.toBe(before);
    expect(isAlive(before)).toBe(false);
    expect(h.changes.slice(mark).map((c) => `${c.from} -> ${c.to}`)).toEqual([
      "running -> stopping",
      "stopping -> starting",
      "starting -> running",
    ]);
    expect(h.sup.get("svc")!.status.restarts).toBe(0);
  });

  it("rearm() puts down services back in waiting, starts the wanted ones, and leaves a running one alone", async () => {
    const h = new Harness(() => ({
      stopped: forever,
      exited: { command: "exit 0" },
      failed: { command: "/nonexistent/program", args: [] },
      running: forever,
    }));
    h.flag(true);
    await Promise.all([h.next("exited", "exited"), h.next("failed", "fatal"), h.next("running", "running"), h.next("stopped", "running")]);
    await h.sup.stop("stopped", "request");
    const pid = h.pid("running");
    const mark = h.changes.length;
    h.sup.rearm(["stopped", "exited", "failed", "running"], "stop flag");
    // A stop request cleared `stopped`'s want; the others are still wanted.
    expect(h.state("stopped").name).toBe("waiting");
    expect(h.changes[h.find("stopped", "waiting", mark)]).toMatchObject({ from: "stopped", reason: "stop flag" });
    for (const name of ["exited", "failed"]) {
      expect(h.find(name, "waiting", mark), name).not.toBe(-1);
      expect(h.state(name).name, name).toBe("starting");
    }
    expect(h.state("running")).toMatchObject({ name: "running", pid });
    expect(h.find("running", "stopping", mark)).toBe(-1);
  });

  it("a service that cannot be spawned goes fatal and says why", async () => {
    const h = new Harness(() => ({ svc: { command: "/nonexistent/program", args: [] } }));
    await h.sup.start("svc", "request");
    expect(h.state("svc")).toEqual({ name: "fatal", reason: "cannot spawn: /nonexistent/program: no such file or directory" });
    expect(h.changes.map((c) => `${c.from} -> ${c.to}`)).toEqual(["waiting -> starting", "starting -> fatal"]);
  });

  it("a disabled service is stopped from the start, and its log is opened only at its first start", async () => {
    const h = new Harness(() => ({ on: forever, off: { ...forever, enabled: false } }));
    expect(h.state("off").name).toBe("stopped");
    expect(h.opened).toEqual(["on"]);
    await h.sup.start("off", "request");
    expect(h.state("off").name).toBe("running");
    expect(h.opened).toEqual(["on", "off"]);
  });

  it("apply() stops and forgets removed services once their logs are closed, adds new ones, and keeps the new order", async () => {
    const h = new Harness(() => ({ a: forever, b: forever, c: forever }));
    await h.sup.start("a", "request");
    const specs = specsOf({ c: forever, b: forever, d: forever }, h.dir);
    const { diff, done } = h.sup.apply(specs, "reload", () => false);
    expect(diff).toEqual({ added: ["d"], removed: ["a"], changed: [], unchanged: ["c", "b"] });
    await done;
    expect(h.find("a", "stopped")).not.toBe(-1);
    expect(h.closed).toEqual(["a"]);
    expect(h.sup.get("a")).toBeUndefined();
    expect([...h.sup.views()].map((v) => v.spec.name)).toEqual(["c", "b", "d"]);
  });

  it("apply() aborted after its stops starts nothing new", async () => {
    const h = new Harness(() => ({ a: { ...forever, nowait: true } }));
    h.sup.begin();
    await h.next("a", "running");
    const { done } = h.sup.apply(specsOf({ a: { command: `exec ${SERVICES}/forever.sh --changed`, nowait: true }, b: { ...forever, nowait: true } }, h.dir), "reload", () => true);
    await done;
    expect(h.state("a").name).toBe("stopped");
    expect(h.sup.get("b")).toBeUndefined();
    expect(h.find("a", "starting", h.find("a", "stopped"))).toBe(-1);
  });

  it("fires a fire-and-forget service once per rising flag, once its dependency runs; a flag lowered before the next turn fires nothing", async () => {
    const h = new Harness(() => ({ dep: forever, fire: { command: "true", nomonitor: true, depends_on: ["dep"] } }));
    h.flag(true, "flag", true);
    h.flag(false);
    await new Promise((r) => setImmediate(r));
    expect(h.changes).toEqual([]);
    expect(h.opened).not.toContain("fire");
    h.flag(true);
    // Not before its dependency runs.
    expect(h.opened).not.toContain("fire");
    await h.next("dep", "running");
    expect(h.opened).toContain("fire");
    // Not listed among the supervised services.
    expect(h.sup.get("fire")).toBeUndefined();
  });

  it("hold() keeps a service stopped whatever flag comes, until a request starts it", async () => {
    const h = new Harness(() => ({ held: forever, other: forever }));
    h.sup.hold(["held", "gone"], "stopped before");
    expect(h.state("held").name).toBe("stopped");
    expect(h.sup.stoppedByRequest()).toEqual(["held"]);
    h.flag(true);
    await h.next("other", "running");
    expect(h.state("held").name).toBe("stopped");
    await h.sup.start("held", "request");
    expect(h.state("held").name).toBe("running");
    expect(h.sup.stoppedByRequest()).toEqual([]);
  });

  it("a stop_flag leaves a service the flag wants again before its turn to stop", async () => {
    const h = new Harness((dir) => ({
      base: forever,
      top: { command: `exec ${SERVICES}/ignores-term.sh`, depends_on: ["base"], stop_timeout: "10m", env: { PIDFILE: join(dir, "pids") } },
    }));
    h.flag(true);
    const pids = await pidsIn(join(h.dir, "pids"), 2);
    await h.next("base", "running");
    const down = h.flag(false);
    expect(down).toEqual(["base", "top"]);
    const stopping = h.sup.stopServices(down, "stop flag");
    await h.next("top", "stopping");
    // The flag again while top (a dependent) is still stopping: base, not yet stopped, stays.
    h.flag(true);
    for (const pid of pids) process.kill(pid, "SIGKILL");
    await stopping;
    expect(h.find("base", "stopping")).toBe(-1);
    h.sup.rearm(down, "waiting for the green flag");
    await h.next("top", "running", h.find("top", "waiting"));
    // The new top ignores SIGTERM too, with a 10-minute stop: end it here rather than in the clean-up's stop.
    await expect.poll(() => readFileSync(join(h.dir, "pids"), "utf8").trim().split(/\s+/).map(Number).some((p) => pids.includes(p))).toBe(false);
    for (const pid of await pidsIn(join(h.dir, "pids"), 2)) process.kill(pid, "SIGKILL");
  });

  describe("oneshot and depends_on conditions", () => {
    /** A oneshot that writes `prepared` and exits 0, and a service that runs only if the file is there. */
    const chain = (dir: string, condition: string) => ({
      prepare: { command: `echo done > "${dir}/prepared"`, oneshot: true },
      app: { command: `test -e "${dir}/prepared" && exec ${SERVICES}/forever.sh`, depends_on: { prepare: condition } },
    });

    it("starts a dependent on `completed` only once the oneshot exited with a success code", async () => {
      const h = new Harness((dir) => chain(dir, "completed"));
      h.flag(true);
      const appRunning = await h.next("app", "running");
      const seen = (service: string, to: string) => {
        const i = h.find(service, to);
        expect(i, `${service} -> ${to}`).not.toBe(-1);
        return i;
      };
      const prepareRunning = seen("prepare", "running");
      const prepareExited = seen("prepare", "exited");
      const appStarting = seen("app", "starting");
      expect(prepareRunning).toBeLessThan(prepareExited);
      expect(prepareExited).toBeLessThan(appStarting);
      expect(appStarting).toBeLessThan(appRunning);
      expect(h.changes[appStarting]!.reason).toBe("prepare is exited");
      expect(h.sup.get("prepare")!.status.cause).toBe("exit");
      expect(readFileSync(join(h.dir, "prepared"), "utf8")).toBe("done\n");
      // The app never crashed for want of the file.
      expect(h.find("app", "backoff")).toBe(-1);
    });

    it("ends a oneshot's success as exited even with restart: always", async () => {
      const h = new Harness(() => ({ task: { command: "exit 0", oneshot: true, restart: "always" } }));
      h.flag(true);
      await h.next("task", "exited");
      expect(h.find("task", "backoff")).toBe(-1);
      expect(h.sup.get("task")!.status).toMatchObject({ restarts: 0, cause: "exit" });
    });

    it("restarts a failing oneshot per its policy, and never starts what waits for it to complete", async () => {
      const h = new Harness(() => ({
        prepare: { command: "exit 3", oneshot: true, max_restarts: 2, restart_delay: "1ms", restart_delay_max: "1ms" },
        app: { ...forever, depends_on: { prepare: "completed" } },
      }));
      h.flag(true);
      await h.next("prepare", "fatal");
      expect(h.changes.filter((c) => c.service === "prepare" && c.to === "backoff")).toHaveLength(2);
      expect(h.sup.get("prepare")!.status).toMatchObject({ restarts: 2, cause: "crash" });
      expect(h.changes.filter((c) => c.service === "app")).toEqual([]);
      expect(h.state("app").name).toBe("waiting");
    });

    it("starts a dependent on `started` once the dependency runs, and on a oneshot that already completed", async () => {
      const h = new Harness(() => ({ base: forever, app: { ...forever, depends_on: { base: "started" } } }));
      h.flag(true);
      const appStarting = await h.next("app", "starting");
      expect(h.find("base", "running")).not.toBe(-1);
      expect(h.find("base", "running")).toBeLessThan(appStarting);

      const done = new Harness((dir) => chain(dir, "started"));
      await done.sup.start("prepare", "request");
      await done.next("prepare", "exited");
      done.flag(true);
      expect(done.state("app").name).toBe("starting");
    });

    it("a oneshot gated on the flag runs again after a stop_flag and a new green flag, and so does its dependent", async () => {
      const h = new Harness((dir) => chain(dir, "completed"));
      h.flag(true);
      await h.next("app", "running");
      const mark = h.changes.length;
      const down = h.flag(false);
      await h.sup.stopServices(down, "stop flag");
      h.sup.rearm(down, "waiting for the green flag");
      expect(h.state("prepare").name).toBe("waiting");
      expect(h.state("app").name).toBe("waiting");
      h.flag(true);
      const again = await h.next("app", "running", mark);
      const exited = h.find("prepare", "exited", mark);
      expect(exited).not.toBe(-1);
      expect(exited).toBeLessThan(again);
    });
  });
});

describe("Supervisor and gates", { timeout: 60_000 }, () => {
  const GATES = { gates: { cool: { temperature_max_c: 45, clear_below_c: 42 }, started: { external: true } } };
  /** A harness whose gates start as `open` says (cool open, started closed by default). */
  const gated = (services: (dir: string) => Record<string, Record<string, unknown>>, open: Record<string, boolean> = { cool: true, started: false }) => {
    const h = new Harness(services, undefined, GATES);
    h.sup.defineGates(["cool", "started"], (name) => ({ open: open[name] ?? false, reason: "at start" }));
    return h;
  };
  const close = (h: Harness, gate: string, reason = "46.1 C > 45") => h.sup.setGate(gate, false, reason, `gate ${gate} closed: ${reason}`);
  const open = (h: Harness, gate: string, reason = "41 C < 42") => h.sup.setGate(gate, true, reason, `gate ${gate} open: ${reason}`);

  it("begin() starts what no closed gate holds back: nowait, `!flag`, an open gate's; not the flag's", async () => {
    const h = gated(() => ({
      logd: { ...forever, nowait: true },
      uploader: { ...forever, when: ["!flag"] },
      fan: { ...forever, when: ["cool"] },
      modeld: { ...forever, when: ["flag", "cool"] },
      bridge: { ...forever, when: ["started"] },
    }));
    h.sup.begin();
    await Promise.all(["logd", "uploader", "fan"].map((n) => h.next(n, "running")));
    expect(h.state("modeld").name).toBe("waiting");
    expect(h.state("bridge").name).toBe("waiting");
  });

  it("a gate that closes leaves its services to the caller to stop, dependents first, and they wait again; it opens and they start", async () => {
    const h = gated(() => ({
      camerad: forever,
      modeld: { ...forever, when: ["flag", "cool"] },
      planner: { ...forever, when: ["flag", "cool"], depends_on: ["modeld"] },
    }));
    h.flag(true);
    await h.next("planner", "running");
    const mark = h.changes.length;
    const { flipped, down } = close(h, "cool");
    expect(flipped).toBe(true);
    expect(down).toEqual(["modeld", "planner"]);
    expect(h.sup.gateViews().get("cool")).toMatchObject({ open: false, reason: "46.1 C > 45" });
    await h.sup.stopServices(down, "gate cool closed: 46.1 C > 45");
    expect(h.find("planner", "stopped", mark)).toBeLessThan(h.find("modeld", "stopping", mark));
    h.sup.rearm(down, "gate cool closed: 46.1 C > 45");
    expect(h.changes[h.find("modeld", "waiting", mark)]).toMatchObject({ from: "stopped", reason: "gate cool closed: 46.1 C > 45" });
    expect(h.state("camerad").name).toBe("running");
    // The flag, raised again meanwhile, does not start what the closed gate holds back.
    h.flag(true);
    expect(h.state("modeld").name).toBe("waiting");
    const again = h.changes.length;
    expect(open(h, "cool").down).toEqual([]);
    const starting = await h.next("modeld", "starting", again);
    expect(h.changes[starting]!.reason).toBe("gate cool open: 41 C < 42");
    await h.next("planner", "running", again);
  });

  it("a service started by request while its gate is closed is stopped only when one of its own gates closes", async () => {
    const h = gated(() => ({ modeld: { ...forever, when: ["flag", "cool"] } }), { cool: false });
    await h.sup.start("modeld", "request");
    // The flag rising does not stop it, though its when does not hold.
    expect(h.flag(true)).toEqual([]);
    expect(h.flag(false)).toEqual(["modeld"]);
  });

  it("the flag rising stops what runs only while it is down, and lowering it starts that again", async () => {
    const h = gated(() => ({ uploader: { ...forever, when: ["!flag"] }, ui: forever }));
    h.sup.begin();
    await h.next("uploader", "running");
    const down = h.flag(true);
    expect(down).toEqual(["uploader"]);
    await h.next("ui", "running");
    await h.sup.stopServices(down, "gate flag open: flag");
    h.sup.rearm(down, "gate flag open: flag");
    expect(h.state("uploader").name).toBe("waiting");
    const mark = h.changes.length;
    expect(h.sup.setGate("flag", false, "stop flag", "gate flag closed: stop flag").down).toEqual(["ui"]);
    const starting = await h.next("uploader", "starting", mark);
    expect(h.changes[starting]!.reason).toBe("gate flag closed: stop flag");
  });

  it("the same state again flips nothing and stops nothing; an unknown gate changes nothing", async () => {
    const h = gated(() => ({ fan: { ...forever, when: ["cool"] } }));
    h.sup.begin();
    await h.next("fan", "running");
    expect(open(h, "cool")).toEqual({ flipped: false, down: [] });
    expect(h.sup.gateViews().get("cool")!.reason).toBe("at start");
    expect(h.sup.setGate("gone", false, "x", "x")).toEqual({ flipped: false, down: [] });
    expect([...h.sup.gateViews().keys()]).toEqual(["flag", "cool", "started"]);
  });

  it("a fire-and-forget service fires each time its when comes to hold", async () => {
    const h = gated((dir) => ({ note: { command: `echo fired >> "$DIR/fired"`, nomonitor: true, when: ["started"], env: { DIR: dir } } }));
    h.sup.begin();
    await new Promise((r) => setImmediate(r));
    expect(h.opened).not.toContain("note");
    open(h, "started", "gate request");
    await expect.poll(() => readFileSync(join(h.dir, "fired"), "utf8")).toBe("fired\n");
    close(h, "started", "gate request");
    open(h, "started", "gate request");
    await expect.poll(() => readFileSync(join(h.dir, "fired"), "utf8")).toBe("fired\nfired\n");
  });

  it("defineGates() keeps the state of a gate it knows, adds new ones, and drops those gone", () => {
    const h = gated(() => ({}));
    close(h, "cool");
    h.sup.defineGates(["cool", "power"], () => ({ open: true, reason: "new" }));
    expect(Object.fromEntries([...h.sup.gateViews()].map(([n, v]) => [n, [v.open, v.reason]]))).toEqual({
      flag: [false, "no green flag yet"],
      cool: [false, "46.1 C > 45"],
      power: [true, "new"],
    });
  });
});
