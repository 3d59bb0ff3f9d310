import type { Command } from "commander";
import pc from "picocolors";
import { systemClock } from "../../clock.js";
import { curveClientOptions, type CurveClientOptions } from "../../client/curve.js";
import { subscribe } from "../../client/subscribe.js";
import { formatClock, formatWatchFrame, type WatchView } from "../format.js";
import { addEndpointOptions, clientEndpoint, type EndpointFlags } from "../options.js";

interface WatchFlags extends EndpointFlags {
  json?: boolean;
}

/** Events kept under the table. */
const RECENT_EVENTS = 10;
/** Past this silence the frame says how old the last snapshot is: a dead daemon publishes nothing. */
const QUIET_MS = 3000;

const HOME = "\x1b[H";
const CLEAR_SCREEN = "\x1b[2J";
const CLEAR_LINE_END = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";

export function watchCommand(program: Command): void {
  const cmd = program
    .command("watch")
    .description("follow the status topic: a live table, or one JSON line per message")
    .option("--json", "print every message as one JSON line, its topic first");
  addEndpointOptions(cmd).action(async (flags: WatchFlags) => {
    const endpoint = await clientEndpoint("status", flags);
    const curve = await curveClientOptions(endpoint, flags);
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    // A reader that went away (`| head`) ends the watch instead of failing every later write.
    process.stdout.on("error", stop);
    try {
      await (flags.json ? watchJson(endpoint, curve, ac.signal) : watchTable(endpoint, curve, ac.signal));
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      process.stdout.off("error", stop);
    }
  });
}

async function watchJson(endpoint: string, curve: CurveClientOptions, signal: AbortSignal): Promise<void> {
  for await (const m of subscribe(endpoint, { signal, curve })) {
    // One write a line: stdout is synchronous for pipes and files, so each line leaves at once.
    process.stdout.write(`${JSON.stringify({ topic: m.topic, ...m.data })}\n`);
  }
}

async function watchTable(endpoint: string, curve: CurveClientOptions, signal: AbortSignal): Promise<void> {
  const out = process.stdout;
  const color = pc.isColorSupported;
  let view: WatchView = { endpoint, snapshot: null, events: [], silentFor: null };
  let lastSnapshotAt = 0;

  // On a terminal each frame overwrites the last one in place (clearing to the end of each line and below
  // rather than the whole screen, which flickers and fills some terminals' scrollback); elsewhere frames follow
  // each other.
  let first = true;
  const draw = () => {
    const frame = formatWatchFrame(view, color);
    if (!out.isTTY) {
      out.write(`${frame}\n\n`);
      return;
    }
    const lines = frame.split("\n").map((line) => line + CLEAR_LINE_END);
    out.write((first ? CLEAR_SCREEN : "") + HOME + lines.join("\n") + CLEAR_BELOW);
    first = false;
  };

  const ageTimer = out.isTTY
    ? setInterval(() => {
        const quiet = systemClock.mono() - lastSnapshotAt;
        if (view.snapshot !== null && quiet > QUIET_MS) {
          view = { ...view, silentFor: quiet };
          draw();
        }
      }, 1000)
    : undefined;

  draw();
  try {
    for await (const m of subscribe(endpoint, { signal, curve })) {
      if (m.topic === "event" || m.topic === "health") {
        view = { ...view, events: [...view.events, m.data].slice(-RECENT_EVENTS) };
        // A health flip shows at once: the snapshot showing it follows, but the flip is what a driver must see.
        if (m.topic === "health") draw();
      } else if (m.topic === "device") {
        view = { ...view, device: m.data };
      } else if (m.topic === "status") {
        lastSnapshotAt = systemClock.mono();
        // ZeroMQ reconnects on its own; a new daemon pid is how the watcher learns the daemon restarted.
        const before = view.snapshot?.daemon.pid;
        const notice =
          before !== undefined && before !== m.data.daemon.pid
            ? `${formatClock(Date.now())} reconnected: the daemon restarted (pid ${before} -> ${m.data.daemon.pid})`
            : view.notice;
        view = { ...view, snapshot: m.data, silentFor: null, notice };
        draw();
      }
    }
  } finally {
    clearInterval(ageTimer);
    // Leave the shell prompt below the last frame.
    if (out.isTTY) out.write("\n");
  }
}
