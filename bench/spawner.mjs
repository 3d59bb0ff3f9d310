#!/usr/bin/env node
/**
 * Would a separate spawner process pay for itself? (issue 18; docs/performance.md,
 * "A spawner process: measured, not built"). The same restart and cold start,
 * from a parent made as big as the daemon (anonymous memory: node's own plus
 * --ballast MiB), two ways:
 *
 * - direct: the parent spawns each service itself, as the daemon does;
 * - spawner: a bare node started first, before the ballast, spawns on the
 *   parent's request, hands it each service's stdout and stderr over its IPC
 *   channel (one handle a message, each acknowledged) and relays each exit;
 *   the parent answers an exit with the next request. This is the least such
 *   a spawner does: no notify pipe, no process groups to track, no respawn of
 *   the spawner itself.
 *
 * Restart: kill -9 -> the new process's mark, as figure 1 of bench/run.mjs.
 * Cold start: 100 services at once, the parent's spawn -> the last mark, and
 * first -> last mark.
 *
 *   node bench/spawner.mjs [--ballast MIB] [--kills N] [--rounds N]
 */
import { fork, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";

const role = process.argv[2];

if (role === "--spawner") {
  // The spawner: as small as node gets. Its pipes stop reading at once: a chunk read here would be lost.
  process.on("message", (m) => {
    const c = spawn("sh", ["-c", m.cmd], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    c.stdout._handle.readStop();
    c.stderr._handle.readStop();
    process.send({ id: m.id, pid: c.pid }, c.stdout);
    process.send({ id: m.id }, c.stderr);
    c.on("exit", (code, signal) => process.connected && process.send({ id: m.id, exit: { code, signal } }));
  });
  // The parent gone (killed with its group), so is the point.
  process.on("disconnect", () => process.exit(0));
} else if (role === "--parent") {
  // The supervisor: a spawner forked first if asked, then grown to the daemon's size.
  const [how, ballastMiB] = [process.argv[3], Number(process.argv[4])];
  const helper = how === "spawner" ? fork(new URL(import.meta.url), ["--spawner"], { stdio: ["ignore", "inherit", "inherit", "ipc"] }) : null;
  const ballast = [];
  for (let i = 0; i < ballastMiB; i++) ballast.push(Buffer.alloc(2 ** 20, 1));
  const cmds = process.env.CMDS.split("\n");
  const direct = (cmd) => {
    const c = spawn("sh", ["-c", cmd], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    c.stdout.resume();
    c.stderr.resume();
    c.on("exit", () => direct(cmd));
  };
  if (helper === null) for (const cmd of cmds) direct(cmd);
  else {
    helper.on("message", (m, handle) => {
      handle?.resume();
      if (m.exit) helper.send({ id: m.id, cmd: cmds[m.id] });
    });
    cmds.forEach((cmd, id) => helper.send({ id, cmd }));
  }
} else {
  // Only here: the spawner and the parent load nothing but node's own modules.
  const { killTagged, marked, Marks, sleep, summarize, tempRoot, wallMs } = await import("./lib.mjs");
  const opt = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i === -1 ? dflt : Number(process.argv[i + 1]);
  };
  const ballast = opt("--ballast", 10);
  const kills = opt("--kills", 60);
  const rounds = opt("--rounds", 3);
  const root = tempRoot();

  const supervise = (how, commands, tag) =>
    spawn(process.execPath, [new URL(import.meta.url).pathname, "--parent", how, String(ballast)], {
      stdio: "inherit",
      env: { ...process.env, CMDS: commands.join("\n"), FLOWINIT_BENCH_TAG: tag },
      detached: true,
    });

  /** Both ways at once, killed in turn, so that the machine's load falls on both alike. */
  async function restarts() {
    const subjects = ["direct", "spawner"].map((how) => {
      const dir = mkdtempSync(join(root, `${how}-`));
      const marks = new Marks(join(dir, "marks"));
      const tag = `spawner-${how}-${process.pid}-${Date.now()}`;
      return { how, marks, tag, sup: supervise(how, [marked("svc", marks.file)], tag), took: [] };
    });
    try {
      for (const s of subjects) s.cur = await s.marks.until((all) => all.at(-1), "first start");
      await sleep(500);
      for (let i = 0; i < kills; i++) {
        for (const s of subjects) {
          await sleep(20 + Math.random() * 30);
          const from = s.marks.all.length;
          const old = s.cur.pid;
          const t0 = wallMs();
          process.kill(old, "SIGKILL");
          s.cur = await s.marks.until((all) => all.slice(from).find((m) => m.pid !== old), "restart mark");
          s.took.push(s.cur.ms - t0);
        }
      }
      return Object.fromEntries(subjects.map((s) => [s.how, summarize(s.took)]));
    } finally {
      for (const s of subjects) {
        process.kill(-s.sup.pid, "SIGKILL");
        killTagged(s.tag);
        s.marks.close();
      }
    }
  }

  async function cold(how) {
    const dir = mkdtempSync(join(root, `${how}-`));
    const marks = new Marks(join(dir, "marks"));
    const tag = `spawner-${how}-${process.pid}-${Date.now()}`;
    const t0 = wallMs();
    const sup = supervise(how, Array.from({ length: 100 }, (_, i) => marked(`s${i}`, marks.file)), tag);
    try {
      const times = (await marks.distinct(100, 0, 30_000)).map((m) => m.ms);
      return { toLast: Math.max(...times) - t0, firstToLast: Math.max(...times) - Math.min(...times) };
    } finally {
      process.kill(-sup.pid, "SIGKILL");
      killTagged(tag);
      marks.close();
    }
  }

  const ms = (v) => `${v.toFixed(2)} ms`;
  try {
    console.log(`parent: node + ${ballast} MiB of anonymous memory; ${rounds} rounds of ${kills} kills each way, in turn`);
    for (let r = 0; r < rounds; r++) {
      const rs = await restarts();
      const cs = { direct: [], spawner: [] };
      for (let i = 0; i < 2; i++) for (const how of ["direct", "spawner"]) cs[how].push(await cold(how));
      for (const how of ["direct", "spawner"]) {
        const c = (k) => summarize(cs[how].map((x) => x[k])).p50;
        console.log(
          `${how.padEnd(8)} restart p50 ${ms(rs[how].p50)}, p90 ${ms(rs[how].p90)}, min ${ms(rs[how].min)} | cold start of 100: spawn -> last ${ms(c("toLast"))}, first -> last ${ms(c("firstToLast"))}`,
        );
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
