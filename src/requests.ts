/**
 * The control requests (CONTRACT.md section 2), answered in one place. One
 * guard at the entry: every request that changes services becomes an
 * operation submitted to the daemon's lifecycle, which decides whether it
 * runs now, waits its turn or is refused; reads are answered at once,
 * whatever runs. (supervisord's rpcinterface puts one `_update` in front of
 * every call in the same way.)
 */
import type { Diagnostic, ErrorCode } from "./errors.js";
import { errorReply, okReply, plainReply, type HistoryEntry, type ReloadReply, type Request, type ServiceEntry, type Style } from "./bus/protocol.js";
import type { GateView } from "./supervisor/gates.js";
import type { Op } from "./supervisor/lifecycle.js";

/** How an operation ended. */
export type Outcome =
  | { ok: true; diff?: ReloadReply }
  | { ok: false; code: ErrorCode; message: string; diagnostics?: Diagnostic[] };

/** What answering needs of the daemon. */
export interface RequestContext {
  submit(op: Op): Promise<Outcome>;
  snapshot(): object;
  seq(): number;
  /** A supervised service's entry; undefined for any other name. */
  entry(name: string): ServiceEntry | undefined;
  /** Why `name` is not a service a request can act on. */
  unknownService(name: string): string;
  logPath(name: string): string | null;
  /** A gate's state; undefined for a name the manifest does not have. */
  gate(name: string): GateView | undefined;
  /** Why a `gate` request cannot set `name`; null when it can. */
  gateProblem(name: string): { code: ErrorCode; message: string } | null;
  /** A supervised service's last exits, newest first; undefined for any other name. */
  history(name: string): HistoryEntry[] | undefined;
}

export async function handleRequest(req: Request, style: Style, d: RequestContext): Promise<string> {
  const reply = (fields: Record<string, unknown> = {}) => (style === "plain" ? plainReply(req) : okReply(fields));
  const failed = (o: Outcome & { ok: false }) =>
    errorReply(o.code, o.message, o.diagnostics === undefined ? {} : { diagnostics: o.diagnostics });
  switch (req.cmd) {
    case "ping":
      return reply();
    case "status":
      return reply({ status: { seq: d.seq(), time: Date.now(), ...d.snapshot() } });
    case "logs": {
      const path = d.logPath(req.service);
      return path === null ? errorReply("unknown_service", d.unknownService(req.service)) : reply({ service: req.service, path });
    }
    case "history": {
      const history = d.history(req.service);
      return history === undefined ? errorReply("unknown_service", d.unknownService(req.service)) : reply({ history });
    }
    case "green_flag":
    case "stop_flag": {
      let op: Op = { type: "stop_flag" };
      if (req.cmd === "green_flag") {
        op = { type: "green_flag", reason: "green flag" };
        if (req.pid !== undefined) {
          const name = req.name ?? "app";
          if (d.entry(name)) return errorReply("bad_request", `green_flag: name: ${name} is a service of the manifest`);
          op.app = { pid: req.pid, name };
        }
      }
      const outcome = d.submit(op);
      // The Android side expects a quick ACK, whatever waits; JSON clients hear once the flag took effect.
      if (style === "plain") return reply();
      const o = await outcome;
      return o.ok ? reply() : failed(o);
    }
    case "gate": {
      const problem = d.gateProblem(req.name);
      if (problem !== null) return errorReply(problem.code, problem.message);
      const o = await d.submit({ type: "gate", name: req.name, open: req.open, reason: req.reason ?? `gate request (${req.open ? "open" : "close"})` });
      // Answered once its stops are done; a reload that ran first may have taken the gate away.
      const view = d.gate(req.name);
      if (!o.ok) return failed(o);
      return view === undefined ? errorReply("unknown_gate", `no gate named ${req.name}`) : reply({ gate: view });
    }
    case "reload": {
      const o = await d.submit({ type: "reload" });
      return o.ok ? reply({ ...o.diff }) : failed(o);
    }
    case "shutdown":
      // Answered before the services stop: the reply leaves before the sockets close.
      setImmediate(() => void d.submit({ type: "shutdown", reason: "shutdown request" }));
      return reply();
    case "start":
    case "stop":
    case "restart": {
      // Whether the service exists is asked when the operation runs: a reload may be replacing it now.
      const o = await d.submit({ type: "service", cmd: req.cmd, name: req.service });
      const entry = d.entry(req.service);
      if (!o.ok) return failed(o);
      return entry === undefined ? errorReply("unknown_service", d.unknownService(req.service)) : reply({ service: entry });
    }
  }
}
