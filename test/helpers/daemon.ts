/**
 * Test harness: a real `flowinit run` on unique abstract endpoints, a real
 * subscriber recording the status topic, and waits on what it publishes.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { execa, type ResultPromise } from "execa";
import { afterEach } from "vitest";
import * as zmq from "zeromq";
import type { EventMessage, GateEventMessage, HealthMessage, Snapshot } from "../../src/bus/protocol.js";
import { sendRaw } from "../../src/client/client.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = join(ROOT, "bin/flowinit.js");
export const FIXTURES = join(ROOT, "test/fixtures");
export const SERVICES = join(FIXTURES, "services");

export function uniqueEndpoints(): { control: string; status: string } {
  const id = randomBytes(6).toString("hex");
  return { control: `ipc://@flowinit-test-${id}/control`, status: `ipc://@flowinit-test-${id}/status` };
}

/** A loopback TCP port free a moment ago, for a tcp:// endpoint. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "flowinit-test-"));
}

export type Message =
  | { topic: "status"; data: Snapshot }
  | { topic: "event"; data: EventMessage | GateEventMessage }
  | { topic: "health"; data: HealthMessage }
  | { topic: string; data: { seq: number } };

/** Records every status-topic message and lets tests wait for one that matches. */
export class Recorder {
  readonly messages: Message[] = [];
  // A short reconnect interval: the daemon binds only after node has started.
  private readonly sock = new zmq.Subscriber({ linger: 0, reconnectInterval: 10 });
  /** Every pending wait: several may wait at once (an event and a snapshot, two clients). */
  private readonly waiters = new Set<() => void>();

  constructor(endpoint: string) {
    this.sock.connect(endpoint);
    this.sock.subscribe();
    void this.pump();
  }

  private async pump(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.sock.receive();
      } catch {
        return;
      }
      this.messages.push({ topic: frames[0]!.toString(), data: JSON.parse(frames[1]!.toString()) });
      for (const wake of this.waiters) wake();
    }
  }

  /** Resolves with the first message from index `from` on that matches; fails after `timeoutMs`. */
  async waitFor<T extends Message>(test: (m: Message) => m is T, what: string, from = 0, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let i = from; ; ) {
      for (; i < this.messages.length; i++) if (test(this.messages[i]!)) return this.messages[i] as T;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(this.messages.slice(-3))}`);
      await new Promise<void>((r) => {
        const wake = () => {
          clearTimeout(t);
          this.waiters.delete(wake);
          r();
        };
        const t = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** The next event of `service` reaching state `to`, after message index `from`. */
  event(service: string, to: string, from = 0, timeoutMs?: number): Promise<{ topic: "event"; data: EventMessage }> {
    return this.waitFor(
      (m): m is { topic: "event"; data: EventMessage } =>
        m.topic === "event" && (m.data as EventMessage).service === service && (m.data as EventMessage).to === to,
      `${service} -> ${to}`,
      from,
      timeoutMs,
    );
  }

  /** The next flip of gate `gate` to `to` (open or closed), after message index `from`. */
  gate(gate: string, to: "open" | "closed", from = 0): Promise<{ topic: "event"; data: GateEventMessage }> {
    return this.waitFor(
      (m): m is { topic: "event"; data: GateEventMessage } =>
        m.topic === "event" && (m.data as GateEventMessage).gate === gate && (m.data as GateEventMessage).to === to,
      `gate ${gate} -> ${to}`,
      from,
    );
  }

  /** The first snapshot (after index `from`) that satisfies `test`. */
  snapshot(test: (s: Snapshot) => boolean, what: string, from = 0, timeoutMs?: number): Promise<Snapshot> {
    return this.waitFor(
      (m): m is { topic: "status"; data: Snapshot } => m.topic === "status" && test(m.data as Snapshot),
      what,
      from,
      timeoutMs,
    ).then((m) => m.data);
  }

  get mark(): number {
    return this.messages.length;
  }

  close(): void {
    this.sock.close();
  }
}

export interface RunningDaemon {
  proc: ResultPromise<{ reject: false; all: true }>;
  dir: string;
  manifest: string;
  control: string;
  status: string;
  rec: Recorder;
  /** What it was started with after the manifest and endpoints, and over its environment: `again` starts the same. */
  args: string[];
  env: Record<string, string>;
  /**
   * Sends the green flag. Services started before the recorder connected
   * may have had events it never saw, so tests that check every event gate
   * their services on the flag and raise it here.
   */
  flag(): Promise<string>;
  /** Runs the CLI against this daemon's endpoints. */
  cli(...args: string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export const state = (s: Snapshot, name: string) => s.services.find((x) => x.name === name);

export function cli(args: string[], env: Record<string, string> = {}) {
  return execa("node", [BIN, ...args], { reject: false, env, timeout: 20_000 });
}

/** Starts `flowinit run` on a manifest text written to a fresh folder; resolves after its first snapshot. `env` goes over the daemon's environment. */
export async function startDaemon(yaml: string, args: string[] = [], env: Record<string, string> = {}): Promise<RunningDaemon> {
  const dir = tempDir();
  const manifest = join(dir, "services.yaml");
  writeFileSync(manifest, yaml);
  return launch({ dir, manifest, ...uniqueEndpoints(), args, env });
}

type Launch = Pick<RunningDaemon, "dir" | "manifest" | "control" | "status" | "args" | "env">;

/** `flowinit run` on a manifest already written; resolves after its first snapshot, or kills it and throws. */
async function launch({ dir, manifest, control, status, args, env }: Launch): Promise<RunningDaemon> {
  const rec = new Recorder(status);
  const proc = execa("node", [BIN, "run", "-c", manifest, "--control", control, "--status", status, ...args], {
    reject: false,
    all: true,
    env: { SERVICES, DIR: dir, ...env },
  });
  const exited = proc.then((r) => {
    throw new Error(`daemon exited ${r.exitCode}: ${r.all}`);
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([rec.snapshot(() => true, "first snapshot"), exited]);
  } catch (e) {
    // A daemon that never published must not outlive the test that started it.
    rec.close();
    proc.kill("SIGKILL");
    await proc;
    throw e;
  }
  return {
    proc,
    dir,
    manifest,
    control,
    status,
    rec,
    args,
    env,
    flag: () => sendRaw(control, "green_flag"),
    cli: (...a: string[]) => cli([...a, "--control", control, "--status", status]).then((r) => ({ exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) })),
    async stop() {
      rec.close();
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        await proc;
      }
    },
  };
}

/**
 * Daemons for the tests of the file or describe block that calls it: each
 * daemon a test starts through it is stopped after that test, newest first,
 * whether the test passed or not. An afterEach registered after this call,
 * or in a nested describe, runs before these stops; one registered before it
 * runs after them (vitest runs after-hooks inner suite first, last registered
 * first).
 */
export function daemonPerTest() {
  const started: RunningDaemon[] = [];
  afterEach(async () => {
    for (const d of started.splice(0).reverse()) await d.stop();
  });
  const kept = async (starting: Promise<RunningDaemon>) => {
    const d = await starting;
    started.push(d);
    return d;
  };
  return {
    /** startDaemon. */
    start: (yaml: string, args?: string[], env?: Record<string, string>) => kept(startDaemon(yaml, args, env)),
    /** A new daemon on `d`'s manifest, folder and endpoints, with its arguments and environment, for once `d` has ended. */
    again: (d: RunningDaemon) => kept(launch(d)),
  };
}

/** Alive and not a zombie (this machine's pid 1 may never reap orphans). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Live processes (zombies left out) in a process group. */
export function groupSize(pgid: number): number {
  let n = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = readFileSync(`/proc/${name}/stat`, "latin1").split(") ")[1]!.split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") n++;
    } catch {
      /* ended meanwhile */
    }
  }
  return n;
}
