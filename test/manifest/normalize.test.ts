import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Manifest, type ServiceSpec, loadManifest, parseManifest } from "../../src/manifest/index.js";

const fixtures = fileURLToPath(new URL("../fixtures/manifests/", import.meta.url));

function parsed(text: string, file = "/srv/flow/services.yaml"): Manifest {
  const result = parseManifest(text, file);
  if (!result.ok) throw new Error(result.error.map((d) => d.message).join("\n"));
  return result.value;
}

const service = (m: Manifest, name: string): ServiceSpec | undefined => m.services.find((s) => s.name === name);

describe("defaults", () => {
  it("fills in every optional service key", () => {
    const m = parsed("services:\n  a:\n    command: plannerd\n");
    expect(m.services).toEqual([
      {
        name: "a",
        command: "plannerd",
        args: null,
        nowait: false,
        when: [{ gate: "flag", open: true }],
        nomonitor: false,
        enabled: true,
        platforms: null,
        restart: "on-failure",
        env: {},
        cwd: "/srv/flow",
        dependsOn: [],
        stopSignal: "SIGTERM",
        stopTimeoutMs: 5000,
        restartDelayMs: 100,
        restartDelayMaxMs: 30_000,
        maxRestarts: 5,
        stableAfterMs: 10_000,
        successExitCodes: [0],
        restartJitter: 0,
        oneshot: false,
        ready: null,
        readyTimeoutMs: 60_000,
        notifyFd: null,
        watchdogMs: null,
        critical: false,
        onFailure: null,
      },
    ]);
  });

  it("fills in every optional setting, unset ones as null", () => {
    expect(parsed("services:\n").settings).toEqual({
      control: null,
      status: null,
      logDir: null,
      intervalMs: 500,
      allowUids: null,
      curve: null,
      insecureTcp: false,
      logMaxSizeBytes: 10 * 1024 * 1024,
      logKeep: 3,
      gates: [],
      flagPull: null,
      wakeLock: null,
      onFailure: null,
      notify: null,
    });
  });

  it("treats `services:` with no value as no services", () => {
    expect(parsed("services:\n").services).toEqual([]);
  });
});

describe("every key set", () => {
  const file = path.join(fixtures, "full.yaml");

  it("converts units and forms", async () => {
    const result = await loadManifest(file);
    if (!result.ok) throw new Error(result.error.map((d) => d.message).join("\n"));
    const m = result.value;
    expect(m.file).toBe(file);
    expect(m.settings).toMatchObject({
      control: ["ipc://@flowinit/control", "tcp://127.0.0.1:7700"],
      status: ["ipc://@flowinit/status"],
      intervalMs: 250,
      allowUids: [10123, 0],
      insecureTcp: true,
      logMaxSizeBytes: 512 * 1024,
      logKeep: 0,
      flagPull: ["tcp://127.0.0.1:6004"],
      wakeLock: "while_flag",
      gates: [
        { name: "cool", kind: "temperature", maxC: 45, clearBelowC: 42.5, file: "/sys/class/thermal/thermal_zone0/temp" },
        { name: "warm", kind: "temperature", maxC: 60, clearBelowC: 55, file: null },
        { name: "power", kind: "battery", minPercent: 20, orCharging: true },
        { name: "low", kind: "battery", minPercent: 5, orCharging: false },
        { name: "space", kind: "disk", minFreePercent: 5, path: path.join(fixtures, "logs") },
        { name: "logs", kind: "disk", minFreePercent: 1.5, path: null },
        { name: "parked", kind: "file_exists", path: path.join(fixtures, "run/parked") },
        { name: "started", kind: "external" },
      ],
      onFailure: "./report.sh",
      notify: "termux",
    });
    expect(service(m, "uploader")).toMatchObject({
      args: ["--port", "8080", "-v"],
      env: { RETRIES: "3", VERBOSE: "true", NAME: "up" },
      dependsOn: [{ name: "calibrationd", condition: "completed" }],
      stopSignal: "SIGINT",
      stopTimeoutMs: 1500,
      restartDelayMs: 1000,
      restartDelayMaxMs: 120_000,
      maxRestarts: 0,
      stableAfterMs: 3_600_000,
      successExitCodes: [0, 143],
      restartJitter: 0.125,
      restart: "never",
      enabled: false,
      platforms: ["android", "desktop"],
      when: [
        { gate: "flag", open: false },
        { gate: "space", open: true },
      ],
      critical: true,
      onFailure: "./report-upload.sh",
    });
    expect(service(m, "calibrationd")?.when).toEqual([{ gate: "flag", open: false }]);
  });

  it("resolves paths against the manifest's folder, keeping absolute ones", async () => {
    const result = await loadManifest(file);
    if (!result.ok) throw new Error("invalid");
    expect(result.value.settings.logDir).toBe(path.join(fixtures, "logs"));
    expect(result.value.settings.curve).toEqual({
      secretKeyFile: path.join(fixtures, "keys/flowinit.key"),
      authorizedKeysFile: "/etc/flowinit/authorized_keys",
    });
    expect(service(result.value, "uploader")?.cwd).toBe(path.resolve(fixtures, "../work"));
    expect(service(result.value, "calibrationd")?.cwd).toBe(path.resolve(fixtures));
  });
});

describe("forms", () => {
  it("maps restart true/false to always/never", () => {
    const m = parsed("services:\n  a: {command: a, restart: true}\n  b: {command: b, restart: false}\n  c: {command: c, restart: always}\n");
    expect(m.services.map((s) => s.restart)).toEqual(["always", "never", "always"]);
  });

  it("adds SIG to short signal names", () => {
    const m = parsed("services:\n  a: {command: a, stop_signal: HUP}\n  b: {command: b, stop_signal: SIGUSR1}\n");
    expect(m.services.map((s) => s.stopSignal)).toEqual(["SIGHUP", "SIGUSR1"]);
  });

  it("keeps an empty args list: run without a shell, no arguments", () => {
    expect(parsed("services:\n  a: {command: a, args: []}\n").services[0]?.args).toEqual([]);
  });

  it("drops repeated depends_on entries", () => {
    const m = parsed("services:\n  a: {command: a}\n  b: {command: b, depends_on: [a, a]}\n");
    expect(service(m, "b")?.dependsOn).toEqual([{ name: "a", condition: "ready" }]);
  });

  it("reads both forms of depends_on as one list of conditions, the list form meaning ready", () => {
    const m = parsed(
      "services:\n  a: {command: a}\n  b: {command: b, oneshot: true}\n  c: {command: c}\n" +
        "  list: {command: l, depends_on: [c, a]}\n  map: {command: m, depends_on: {c: ready, a: started, b: completed}}\n",
    );
    expect(service(m, "list")?.dependsOn).toEqual([
      { name: "c", condition: "ready" },
      { name: "a", condition: "ready" },
    ]);
    expect(service(m, "map")?.dependsOn).toEqual([
      { name: "c", condition: "ready" },
      { name: "a", condition: "started" },
      { name: "b", condition: "completed" },
    ]);
    expect(service(m, "b")?.oneshot).toBe(true);
  });

  it("reads each ready check, the notify descriptor it names, and the watchdog", () => {
    const m = parsed(`services:
  fd: { command: a, ready: {fd: 4}, watchdog: 5s }
  line: { command: b, ready: {log_line: "listening on \\\\d+"}, ready_timeout: 30s }
  probe: { command: c, ready: {exec: "nc -z 127.0.0.1 7000"} }
  tuned: { command: d, ready: {exec: "true", period: 250ms, timeout: 1s}, notify_fd: 3 }
`);
    const health = (name: string) => {
      const s = service(m, name)!;
      return { ready: s.ready, readyTimeoutMs: s.readyTimeoutMs, notifyFd: s.notifyFd, watchdogMs: s.watchdogMs };
    };
    expect(health("fd")).toEqual({ ready: { kind: "fd" }, readyTimeoutMs: 60_000, notifyFd: 4, watchdogMs: 5000 });
    expect(health("line")).toEqual({ ready: { kind: "log_line", pattern: "listening on \\d+" }, readyTimeoutMs: 30_000, notifyFd: null, watchdogMs: null });
    expect(health("probe").ready).toEqual({ kind: "exec", command: "nc -z 127.0.0.1 7000", periodMs: 1000, timeoutMs: 2000 });
    expect(health("tuned")).toMatchObject({ ready: { kind: "exec", command: "true", periodMs: 250, timeoutMs: 1000 }, notifyFd: 3 });
  });

  it("orders services after their dependencies in the mapping form too", () => {
    const m = parsed("services:\n  app: {command: a, depends_on: {prep: completed}}\n  prep: {command: p, oneshot: true}\n");
    expect(m.services.map((s) => s.name)).toEqual(["prep", "app"]);
  });

  it("reads when as conditions, each gate once, and nowait as no gate at all", () => {
    const m = parsed(
      "settings:\n  gates: {cool: {temperature_max_c: 45, clear_below_c: 42}}\n" +
        "services:\n  a: {command: a, when: [cool, flag, cool]}\n  b: {command: b, when: []}\n  c: {command: c, nowait: true}\n  d: {command: d, when: ['!cool']}\n",
    );
    expect(m.services.map((s) => s.when)).toEqual([
      [{ gate: "cool", open: true }, { gate: "flag", open: true }],
      [],
      [],
      [{ gate: "cool", open: false }],
    ]);
  });

  it("accepts durations as milliseconds", () => {
    expect(parsed("services:\n  a: {command: a, stop_timeout: 2500}\n").services[0]?.stopTimeoutMs).toBe(2500);
  });

  it("resolves a relative manifest path from the working directory", () => {
    const m = parsed("services:\n  a: {command: a, cwd: sub}\n", "conf/services.yaml");
    expect(m.file).toBe(path.resolve("conf/services.yaml"));
    expect(m.services[0]?.cwd).toBe(path.resolve("conf/sub"));
  });
});

describe("order", () => {
  it("puts services after their dependencies, otherwise in file order", () => {
    const m = parsed(
      "services:\n  ui:\n    command: ui\n    depends_on: [modeld]\n  logger:\n    command: logger\n  modeld:\n    command: modeld\n",
    );
    expect(m.services.map((s) => s.name)).toEqual(["logger", "modeld", "ui"]);
  });

  it("keeps file order for integer-like names, which JS objects would list first", () => {
    const m = parsed("services:\n  b: {command: b}\n  2: {command: two}\n  a: {command: a}\n");
    expect(m.services.map((s) => s.name)).toEqual(["b", "2", "a"]);
  });
});
