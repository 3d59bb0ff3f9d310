/**
 * The daemon's own machine: what happens when the operations that change
 * services (flags, reload, requests on one service, shutdown) arrive, alone
 * or while another one is under way. A pure function of (life, input) ->
 * (life, effects), like the service machine; the daemon carries the effects
 * out. Reads (ping, status, logs, history) never come here: they are
 * answered at once, whatever runs.
 *
 *               green_flag                      stop_flag
 *   waiting -----------------> running ---------------------> waiting
 *      |                          |       (busy: stop_flag until the
 *      |  shutdown / signal       |        gated services are down)
 *      +------------> stopping <--+
 *                     (busy: shutdown; the daemon exits when it is done)
 *
 * Only one multi-step operation (`busy`: a stop_flag, a reload or the
 * shutdown) runs at a time; every await inside one is a place where another
 * input can arrive, and each such cell is written out below:
 *
 *   busy \ input  green_flag  stop_flag  reload   service  shutdown
 *   none          run         run        run      run      run
 *   stop_flag     run (1)     ignore     queue    run      abort, then run
 *   reload        queue       queue      queue    queue    abort, then run
 *   shutdown      ignore      ignore     refuse   refuse   ignore
 *
 * (1) A green flag while a stop_flag stops the gated services raises the
 * flag at once: each service still stopping starts again once it is down
 * (the service machine's `stopping` + `start`), and the stop_flag, when done,
 * leaves them to the flag instead of gating them again.
 *
 * A reload holds everything behind it, because it removes and adds services
 * between its awaits: a flag or a request applied in between would act on a
 * service that is half replaced. Queued operations run in arrival order. A
 * shutdown aborts the operation under way at its next step (nothing it has
 * not yet started is started), refuses what was queued, and runs once that
 * operation is done.
 */
import type { Phase } from "../bus/protocol.js";

/** An operation that changes services. */
export type Op =
  /** `app`: the Android app a flag named by its pid (CONTRACT.md section 5). */
  | { type: "green_flag"; reason: string; app?: { pid: number; name: string } }
  | { type: "stop_flag" }
  | { type: "reload" }
  /** A start, stop or restart request for one service. */
  | { type: "service"; cmd: "start" | "stop" | "restart"; name: string }
  | { type: "shutdown"; reason: string };

/** The multi-step operations: while one runs, others may arrive. */
export type Busy = "stop_flag" | "reload" | "shutdown";

export interface Life {
  /** As published in `daemon.phase`. */
  phase: Phase;
  /** The green flag, as published in `daemon.flag`. */
  flag: boolean;
  busy: Busy | null;
  /** Why the daemon shuts down, once it does. */
  stopReason: string | null;
}

export type Input = Op | { type: "done" };

export type Effect =
  /** Carry the operation out now. */
  | { type: "run"; op: Op }
  /** Carry it out once the busy operation is done, after those queued before it. */
  | { type: "queue"; op: Op }
  /** Nothing to do (already so, or moot): answer as a success at once. */
  | { type: "ignore"; op: Op }
  /** Answer with an error, do nothing. */
  | { type: "refuse"; op: Op; why: string }
  /** The busy operation starts nothing more and ends at its next step. */
  | { type: "abort" }
  /** Every queued operation is refused. */
  | { type: "refuse_queued"; why: string }
  /** Feed the oldest queued operation back in, if there is one. */
  | { type: "dequeue" };

export interface LifeStep {
  life: Life;
  effects: Effect[];
}

export const INITIAL_LIFE: Life = { phase: "waiting", flag: false, busy: null, stopReason: null };

/** Why an operation is refused once a shutdown is decided. */
export const SHUTTING_DOWN = "the daemon is shutting down";

const busyWith = (op: Op): Busy | null =>
  op.type === "stop_flag" || op.type === "reload" || op.type === "shutdown" ? op.type : null;

export function lifeStep(life: Life, input: Input): LifeStep {
  const step = (next: Partial<Life>, ...effects: Effect[]): LifeStep => ({ life: { ...life, ...next }, effects });

  if (input.type === "done") {
    switch (life.busy) {
      case null:
        // Nothing was under way: a bug in the caller, harmless here.
        return step({});
      case "shutdown":
        // The daemon exits; nothing runs after a shutdown.
        return step({});
      case "stop_flag":
      case "reload":
        // A shutdown that arrived meanwhile runs now; otherwise whatever waited.
        if (life.phase === "stopping") return step({ busy: "shutdown" }, { type: "run", op: { type: "shutdown", reason: life.stopReason ?? "" } });
        return step({ busy: null }, { type: "dequeue" });
    }
  }

  const op = input;
  // Once a shutdown is decided, whether it runs yet or waits for an aborted operation.
  if (life.phase === "stopping") {
    switch (op.type) {
      case "green_flag":
      case "stop_flag":
      case "shutdown":
        return step({}, { type: "ignore", op });
      case "reload":
      case "service":
        return step({}, { type: "refuse", op, why: SHUTTING_DOWN });
    }
  }

  const run = (next: Partial<Life> = {}): LifeStep => step({ busy: busyWith(op) ?? life.busy, ...next }, { type: "run", op });
  const runOp = (): LifeStep => {
    switch (op.type) {
      case "green_flag":
        return run({ phase: "running", flag: true });
      case "stop_flag":
        return run({ phase: "waiting", flag: false });
      case "reload":
      case "service":
        return run();
      case "shutdown":
        return run({ phase: "stopping", stopReason: op.reason });
    }
  };

  switch (life.busy) {
    case null:
      return runOp();
    case "stop_flag":
      switch (op.type) {
        case "green_flag":
          // busy stays stop_flag: its end must still be waited for.
          return step({ phase: "running", flag: true }, { type: "run", op });
        case "stop_flag":
          return step({}, { type: "ignore", op });
        case "reload":
          return step({}, { type: "queue", op });
        case "service":
          return step({}, { type: "run", op });
        case "shutdown":
          return step({ phase: "stopping", stopReason: op.reason }, { type: "abort" }, { type: "refuse_queued", why: SHUTTING_DOWN });
      }
    // falls through: unreachable, every op is handled above
    case "reload":
      if (op.type === "shutdown") {
        return step({ phase: "stopping", stopReason: op.reason }, { type: "abort" }, { type: "refuse_queued", why: SHUTTING_DOWN });
      }
      return step({}, { type: "queue", op });
    case "shutdown":
      // Not reached: a busy shutdown has phase stopping, handled above.
      return step({}, { type: "ignore", op });
  }
}
