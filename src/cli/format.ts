/**
 * What the CLI prints, as pure functions of the daemon's messages. Colour is
 * a parameter so that output is decided by the caller and tests stay stable.
 */
import Table from "cli-table3";
import pc from "picocolors";
import type { AnyEvent, HealthMessage, HistoryEntry, ServiceEntry, Snapshot } from "../bus/protocol.js";
import type { DeviceVitals } from "../stats/device.js";
import type { StateName } from "../supervisor/states.js";

type Paint = (text: string) => string;

const palette = (color: boolean) => pc.createColors(color);

/** Running is green and everything else red, as the original FlowInit printed services. */
function stateColor(state: StateName, color: boolean): Paint {
  const c = palette(color);
  return state === "running" ? c.green : c.red;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `45s`, `3m05s`, `1h02m`, `2d04h`: two units at most, as uptimes read best. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad2(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${pad2(m % 60)}m`;
  return `${Math.floor(h / 24)}d${pad2(h % 24)}h`;
}

/** Local wall-clock time `HH:MM:SS` of a ms-epoch timestamp. */
export function formatClock(time: number): string {
  const d = new Date(time);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** How the last run ended: the exit code, else the signal, else `-`. */
/** `812K`, `3.4M`, `1.2G`: binary units, as top prints them. */
export function formatBytes(n: number): string {
  const units = ["B", "K", "M", "G"];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return i === 0 ? `${n}B` : `${n < 10 ? n.toFixed(1) : Math.round(n)}${units[i]}`;
}

/** `device  cpu 12%  mem 45%  disk free 80%  battery 57%  cpu-0 41.5°C`; unreadable figures are left out. */
export function formatDevice(d: DeviceVitals): string {
  const pct = (label: string, v: number | null) => (v === null ? [] : [`${label} ${Math.round(v)}%`]);
  const temps = Object.entries(d.temperatures_c).map(([zone, c]) => `${zone} ${c}°C`);
  return [
    "device",
    ...pct("cpu", d.cpu_percent),
    ...pct("mem", d.memory_percent),
    ...pct("disk free", d.disk_free_percent),
    ...pct("battery", d.battery_percent),
    ...temps,
  ].join("  ");
}

export function formatExit(entry: Pick<ServiceEntry, "exit_code" | "signal">): string {
  if (entry.exit_code !== null) return String(entry.exit_code);
  return entry.signal ?? "-";
}

const BORDERLESS = {
  top: "", "top-mid": "", "top-left": "", "top-right": "",
  bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
  left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "",
};

/**
 * The service table. `now` is the snapshot's own time, so uptimes are as of
 * the moment the daemon took it.
 */
export function formatTable(services: readonly ServiceEntry[], now: number, color: boolean): string {
  // Only services with a notify descriptor say STATUS=: the column is there when one has.
  const texts = services.some((s) => s.status_text);
  const table = new Table({
    head: ["NAME", "STATE", "PID", "UPTIME", "CPU", "MEM", "RESTARTS", "EXIT", ...(texts ? ["STATUS"] : [])],
    chars: BORDERLESS,
    // cli-table3 colours headers and borders on its own unless told not to.
    style: { head: [], border: [], "padding-left": 0, "padding-right": 2, compact: true },
  });
  for (const s of services) {
    const paint = stateColor(s.state, color);
    const uptime = s.state === "running" ? formatDuration(now - s.since) : "-";
    const cpu = s.cpu_percent === null ? "-" : `${s.cpu_percent.toFixed(1)}%`;
    const mem = s.rss_bytes === null ? "-" : formatBytes(s.rss_bytes);
    const row = [s.name, s.state, s.pid ?? "-", uptime, cpu, mem, s.restarts, formatExit(s)].map((cell) => paint(String(cell)));
    table.push(texts ? [...row, s.status_text ?? ""] : row);
  }
  return table
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}

/** `flowinit 0.1.0  pid 1234  phase running  flag green  ipc://@flowinit/control  12:00:01` */
export function formatHeader(snapshot: Snapshot, endpoint: string, color: boolean): string {
  const c = palette(color);
  const { daemon } = snapshot;
  const phase = daemon.phase === "running" ? c.green(daemon.phase) : c.red(daemon.phase);
  const flag = daemon.flag ? c.green("green") : c.red("off");
  return [
    c.bold(`flowinit ${daemon.version}`),
    `pid ${daemon.pid}`,
    `phase ${phase}`,
    `flag ${flag}`,
    // A daemon that took over from one killed in this boot says so: its flag was not sent to it.
    ...(daemon.recovered_from ? [c.red(`recovered from pid ${daemon.recovered_from}`)] : []),
    endpoint,
    formatClock(snapshot.time),
  ].join("  ");
}

/**
 * `gates  flag open  cool closed (46.1 C > 45)  started closed (not opened yet)`:
 * why a gate is closed is what holds services back. Null when the manifest
 * has no gates of its own (the header shows the flag).
 */
export function formatGates(snapshot: Snapshot, color: boolean): string | null {
  const gates = Object.entries(snapshot.daemon.gates ?? {});
  if (gates.length <= 1) return null;
  const c = palette(color);
  return ["gates", ...gates.map(([name, g]) => (g.open ? `${name} ${c.green("open")}` : `${name} ${c.red("closed")} (${g.reason})`))].join("  ");
}

/**
 * `health ok`, or `health DOWN  modeld backoff (killed)  plannerd waiting` in
 * red: whether the critical services that should run do (CONTRACT.md section 9).
 */
export function formatHealth(snapshot: Snapshot, color: boolean): string {
  const c = palette(color);
  const { health } = snapshot.daemon;
  if (health.ok) return c.green("health ok");
  const entries = new Map(snapshot.services.map((s) => [s.name, s]));
  const down = health.down.map((name) => {
    const e = entries.get(name);
    if (e === undefined) return name;
    // While it stops, its cause is still that of the run before.
    return e.cause === null || e.state === "stopping" ? `${name} ${e.state}` : `${name} ${e.state} (${e.cause})`;
  });
  return c.bold(c.red(["health DOWN", ...down].join("  ")));
}

/** The health, the header, the gates, the table and why each fatal service gave up, as `flowinit status` prints them. */
export function formatStatus(snapshot: Snapshot, endpoint: string, color: boolean): string {
  const table = snapshot.services.length > 0 ? formatTable(snapshot.services, snapshot.time, color) : "no services";
  const paint = stateColor("fatal", color);
  const why = snapshot.services.filter((s) => s.state === "fatal" && s.reason).map((s) => paint(`${s.name}: ${s.reason}`));
  const gates = formatGates(snapshot, color);
  return [formatHealth(snapshot, color), formatHeader(snapshot, endpoint, color), ...(gates === null ? [] : [gates]), table, ...(why.length > 0 ? ["", ...why] : [])].join("\n");
}

/** `12:00:01 plannerd running -> backoff: exited with code 1; restarting in 200ms`; `12:00:02 gate cool open -> closed: 46.1 C > 45` */
export function formatEvent(event: AnyEvent, color: boolean): string {
  const c = palette(color);
  const line =
    event.service === null
      ? `${formatClock(event.time)} gate ${event.gate} ${event.from} -> ${(event.open ? c.green : c.red)(event.to)}`
      : `${formatClock(event.time)} ${event.service} ${event.from} -> ${stateColor(event.to, color)(event.to)}`;
  return event.reason === "" ? line : `${line}: ${event.reason}`;
}

/** `12:00:01 health DOWN: modeld backoff (killed)`, `12:00:03 health ok: every critical service ...` */
export function formatHealthMessage(m: HealthMessage, color: boolean): string {
  const c = palette(color);
  return `${formatClock(m.time)} health ${m.ok ? c.green("ok") : c.red("DOWN")}: ${m.reason}`;
}

/** Local `YYYY-MM-DD HH:MM:SS`: a history spans days. */
export function formatDateTime(time: number): string {
  const d = new Date(time);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${formatClock(time)}`;
}

/** What a service wrote is shown, not obeyed: control characters (a terminal's escape sequences) as `?`. */
const visible = (line: string) => line.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "?");

/**
 * `flowinit history SERVICE`: one row an exit, newest first, each followed
 * by the stderr lines it left, indented.
 */
export function formatHistory(service: string, entries: readonly HistoryEntry[], color: boolean): string {
  if (entries.length === 0) return `${service}: no exits recorded`;
  const c = palette(color);
  const table = new Table({
    head: ["TIME", "CAUSE", "UPTIME", "EXIT", "REASON"],
    chars: BORDERLESS,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 2, compact: true },
  });
  for (const e of entries) {
    const uptime = e.uptime_ms === null ? "-" : formatDuration(e.uptime_ms);
    table.push([formatDateTime(e.time), e.cause ?? "-", uptime, formatExit(e), e.reason]);
  }
  const [head, ...rows] = table.toString().split("\n").map((line) => line.trimEnd());
  const out = [head!];
  rows.forEach((row, i) => {
    const cause = entries[i]!.cause;
    out.push(cause === "exit" || cause === "stop" ? row : c.red(row));
    for (const line of entries[i]!.stderr_tail) out.push(c.dim(`    | ${visible(line)}`));
  });
  return out.join("\n");
}

/** The reply to start/stop/restart: `plannerd: running (pid 1234)`, `plannerd: exited (code 1)`. */
export function formatServiceLine(entry: ServiceEntry): string {
  let detail = "";
  if (entry.pid !== null) detail = ` (pid ${entry.pid})`;
  else if (entry.state !== "stopped" && entry.exit_code !== null) detail = ` (code ${entry.exit_code})`;
  else if (entry.state !== "stopped" && entry.signal !== null) detail = ` (${entry.signal})`;
  return `${entry.name}: ${entry.state}${detail}`;
}

export interface WatchView {
  /** The status endpoint being watched. */
  endpoint: string;
  /** The latest snapshot; null until the first one arrives. */
  snapshot: Snapshot | null;
  /** Recent events (of services and gates) and health flips, oldest first. */
  events: readonly (AnyEvent | HealthMessage)[];
  /** Set when no snapshot has arrived for longer than the daemon's rhythm explains: how long, in ms. */
  silentFor: number | null;
  /** The latest device vitals; null until the first arrive. */
  device?: DeviceVitals | null;
  /** Something the watcher noticed, such as the daemon having restarted. */
  notice?: string | null;
}

/** One frame of `flowinit watch`. */
export function formatWatchFrame(view: WatchView, color: boolean): string {
  if (view.snapshot === null) return `waiting for the daemon at ${view.endpoint} ...`;
  const lines = [formatStatus(view.snapshot, view.endpoint, color)];
  if (view.device) lines.push("", formatDevice(view.device));
  if (view.notice) lines.push(palette(color).yellow(view.notice));
  if (view.silentFor !== null) {
    lines.push(palette(color).yellow(`no status from the daemon for ${formatDuration(view.silentFor)}`));
  }
  if (view.events.length > 0) lines.push("", ...view.events.map((e) => ("service" in e ? formatEvent(e, color) : formatHealthMessage(e, color))));
  return lines.join("\n");
}

/** The four lists of a reload, one line each. */
export function formatReload(diff: Record<"added" | "removed" | "changed" | "unchanged", string[]>): string {
  return (["added", "removed", "changed", "unchanged"] as const)
    .map((k) => `${k}: ${diff[k].length > 0 ? diff[k].join(", ") : "-"}`)
    .join("\n");
}
