/**
 * bin/flowinit.js's code cache of the bundle (docs/performance.md, "Startup"): written once, taken by later
 * starts, and never trusted further than its first line vouches for it.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, cli, daemonPerTest, tempDir } from "../helpers/daemon.js";

const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** A cache home of the test's own, and its CLI cache file. */
function cacheHome() {
  const home = tempDir();
  return { env: { XDG_CACHE_HOME: home }, file: join(home, "flowinit", "cli.v8cache"), run: join(home, "flowinit", "run.v8cache") };
}

async function version(env: Record<string, string>) {
  const r = await cli(["--version"], env);
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: VERSION, stderr: "" });
}

const firstLine = (b: Buffer) => b.toString("latin1", 0, b.indexOf(10));

/** The file with its payload's bytes from `from` flipped. */
function damage(file: string, from: number) {
  const b = readFileSync(file);
  const payload = b.indexOf(10) + 1;
  for (let i = payload + from; i < payload + from + 1000 && i < b.length; i++) b[i]! ^= 0x5a;
  writeFileSync(file, b);
}

describe("the code cache", () => {
  it("is written by a first start and taken, as it is, by the next", async () => {
    const c = cacheHome();
    await version(c.env);
    const made = readFileSync(c.file);
    expect(firstLine(made)).toMatch(new RegExp(`^flowinit code cache: node ${process.version} ${process.arch}, bundle \\d+ bytes, [\\d.]+, sha1 [0-9a-f]{40}$`));
    // A cache V8 refused would be written again.
    const r = await cli(["validate", "-c", join(ROOT, "services.yaml")], c.env);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(c.file).equals(made)).toBe(true);
  });

  it("is refused when its payload was damaged, and written again", async () => {
    const c = cacheHome();
    await version(c.env);
    damage(c.file, 5000);
    const damaged = readFileSync(c.file);
    await version(c.env);
    expect(readFileSync(c.file).equals(damaged)).toBe(false);
    await version(c.env);
  });

  it("is refused when it was made from another bundle", async () => {
    const c = cacheHome();
    await version(c.env);
    const made = readFileSync(c.file);
    const other = firstLine(made).replace(/bytes, [\d.]+,/, "bytes, 1,");
    writeFileSync(c.file, Buffer.concat([Buffer.from(`${other}\n`, "latin1"), made.subarray(made.indexOf(10) + 1)]));
    await version(c.env);
    // Written again: for this bundle once more, its payload as this start made it.
    expect(firstLine(readFileSync(c.file)).replace(/sha1 .*/, "")).toBe(firstLine(made).replace(/sha1 .*/, ""));
  });

  it("changes nothing where it cannot be written", async () => {
    // mkdir says ENOENT under /proc, which node's recursive mkdir answers by trying again for ever.
    await version({ XDG_CACHE_HOME: "/proc/flowinit-test" });
    // A file where the folder would be: nothing can be written under it, nor removed.
    await version({ XDG_CACHE_HOME: join(ROOT, "package.json") });
  });
});

describe("the daemon's code cache", () => {
  const daemons = daemonPerTest();

  it("is made once its services have started, under the flags it starts with, and taken by the next daemon", async () => {
    const c = cacheHome();
    const yaml = "services:\n  a:\n    command: exec sleep 1000\n    nowait: true\n";
    let d = await daemons.start(yaml, [], c.env);
    await d.rec.snapshot((s) => s.services[0]?.state === "running", "a running");
    await expect.poll(() => existsSync(c.run)).toBe(true);
    const made = readFileSync(c.run);
    await d.stop();
    d = await daemons.start(yaml, [], c.env);
    await d.rec.snapshot((s) => s.services[0]?.state === "running", "a running");
    await d.stop();
    // Made under other V8 flags than a start runs with (as once, after the optimizing compiler was turned back
    // on), it would be refused and made again.
    expect(readFileSync(c.run).equals(made)).toBe(true);
  });

  it("is let go of once V8 has taken it", async () => {
    // Held, the file would stay in the daemon's memory, which every fork of the daemon copies.
    const c = cacheHome();
    const dir = tempDir();
    const out = join(dir, "array-buffers");
    const preload = join(dir, "measure.cjs");
    // Two collections: V8 frees the memory of an ArrayBuffer after the collection that found it dead.
    writeFileSync(
      preload,
      `require("v8").setFlagsFromString("--expose-gc"); const gc = require("vm").runInNewContext("gc");
       process.on("SIGUSR2", () => { gc(); gc(); const fs = require("fs"); fs.writeFileSync(${JSON.stringify(`${out}.tmp`)}, String(process.memoryUsage().arrayBuffers)); fs.renameSync(${JSON.stringify(`${out}.tmp`)}, ${JSON.stringify(out)}); });`,
    );
    const env = { ...c.env, NODE_OPTIONS: `--require ${preload}` };
    const yaml = "services:\n  a:\n    command: exec sleep 1000\n    nowait: true\n";
    let d = await daemons.start(yaml, [], env);
    await expect.poll(() => existsSync(c.run)).toBe(true);
    await d.stop();
    d = await daemons.start(yaml, [], env);
    await d.rec.snapshot((s) => s.services[0]?.state === "running", "a running");
    process.kill(d.proc.pid!, "SIGUSR2");
    await expect.poll(() => existsSync(out)).toBe(true);
    expect(Number(readFileSync(out, "utf8"))).toBeLessThan(readFileSync(c.run).length / 2);
  });
});
