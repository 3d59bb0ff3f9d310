/**
 * The daemon's own machine: what happens when the operations that change
 * services (flags and the other gates' flips, reload, requests on one
 * service, shutdown) arrive, alone or while another one is under way. A pure function of (life, input) ->
 * (life, effects), like the service machine; the daemon carries the effects
 * out. Reads (ping, status, logs, history) never come here: they are
 * answered at once, whatever runs.
 *
 *               green_flag                      stop_flag
 *   waiting -----------------> running ---------------------> waiting
 *      |                          |
 *      |  shutdown / signal       |
 *      +------------> stopping <--+
 *                     (busy: shutdown; the daemon exits when it is done)
 *
 * A flip is a gate opening or closing: a green flag, a stop_flag (the
 * built-in gate `flag`), or a `gate` (a reading gate on the status tick, an
 * external gate by request). It sets the gate at once, starts what the gate
 * now lets run, and stops, dependents first, what it no longer lets run:
 * busy (`flip`) until those are down. Flips overlap one another, counted in
 * `flips`; the other multi-step operations (`busy`: a reload or the
 * shutdown) run one at a time. Every await inside one is a place where
 * another input can arrive, and each such cell is written out below:
 *
 *   busy \ input  green_flag  stop_flag  gate     reload   service  shutdown
 *   none          run         run        run      run      run      run
 *   flip          run (1)     run (2)    run (1)  queue    run      abort, then run
 *   reload        queue       queue      queue    queue    queue    abort, then run
 *   shutdown      ignore      ignore     ignore   refuse   refuse   ignore
 *
 * (1) A flip while another one stops services sets its own gate at once:
 * each service still stopping that the new gate state wants starts again
 * once it is down (the service machine's `stopping` + `start`), one not yet
 * reached by the stop is left to run, and the first flip, when done, leaves
 * them to the gates instead of putting them to wait. A green flag during a
 * stop_flag is the common case; a thermal gate closing during it, another.
 * (2) ... unless the flag is down already: nothing is left for it to do
 * (ignore), as a second stop_flag during the first.
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
  /** A gate of settings.gates opening or closing; `reason`: the reading, or who set it. */
  | { type: "gate"; name: string; open: boolean; reason: string }
  | { type: "reload" }
  /** A start, stop or restart request for one service. */
  | { type: "service"; cmd: "start" | "stop" | "restart"; name: string }
  | { type: "shutdown"; reason: string };

/** The multi-step operations: while one runs, others may arrive. */
export type Busy = "flip" | "reload" | "shutdown";

/** The operations that open or close a gate. */
export type Flip = Extract<Op, { type: "green_flag" | "stop_flag" | "gate" }>;

export interface Life {
  /** As published in `daemon.phase`. */
  phase: Phase;
  /** The green flag, as published in `daemon.flag`. */
  flag: boolean;
  busy: Busy | null;
  /** Flips under way (busy `flip` while more than 0). */
  flips: number;
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

export const INITIAL_LIFE: Life = { phase: "waiting", flag: false, busy: null, flips: 0, stopReason: null };

/** Why an operation is refused once a shutdown is decided. */
export const SHUTTING_DOWN = "the daemon is shutting down";

export const isFlip = (op: Op): op is Flip => op.type === "green_flag" || op.type === "stop_flag" || op.type === "gate";

export function lifeStep(life: Life, input: Input): LifeStep {
  const step = (next: Partial<Life>, ...effects: Effect[]): LifeStep => ({ life: { ...life, ...next }, effects });
  // A shutdown that arrived meanwhile runs now; otherwise whatever waited.
  const ended = (next: Partial<Life>): LifeStep =>
    life.phase === "stopping"
      ? step({ ...next, busy: "shutdown" }, { type: "run", op: { type: "shutdown", reason: life.stopReason ?? "" } })
      : step({ ...next, busy: null }, { type: "dequeue" });

  if (input.type === "done") {
    switch (life.busy) {
      case null:
        // Nothing was under way: a bug in the caller, harmless here.
        return step({});
      case "shutdown":
        // The daemon exits; nothing runs after a shutdown.
        return step({});
      case "flip":
        // Another flip still stops services: it reports its own end.
        if (life.flips > 1) return step({ flips: life.flips - 1 });
        return ended({ flips: 0 });
      case "reload":
        return ended({});
    }
  }

  const op = input;
  // Once a shutdown is decided, whether it runs yet or waits for an aborted operation.
  if (life.phase === "stopping") {
    switch (op.type) {
      case "green_flag":
      case "stop_flag":
      case "gate":
      case "shutdown":
        return step({}, { type: "ignore", op });
      case "reload":
      case "service":
        return step({}, { type: "refuse", op, why: SHUTTING_DOWN });
    }
  }

  const run = (next: Partial<Life> = {}): LifeStep => step(next, { type: "run", op });
  const flip = (next: Partial<Life> = {}): LifeStep => run({ busy: "flip", flips: life.flips + 1, ...next });
  const runOp = (): LifeStep => {
    switch (op.type) {
      case "green_flag":
        return flip({ phase: "running", flag: true });
      case "stop_flag":
        return flip({ phase: "waiting", flag: false });
      case "gate":
        return flip();
      case "reload":
        return run({ busy: "reload" });
      case "service":
        return run();
      case "shutdown":
        return run({ busy: "shutdown", phase: "stopping", stopReason: op.reason });
    }
  };

  switch (life.busy) {
    case null:
      return runOp();
    case "flip":
      switch (op.type) {
        case "green_flag":
        case "gate":
          return runOp();
        case "stop_flag":
          return life.flag ? runOp() : step({}, { type: "ignore", op });
        case "reload":
          return step({}, { type: "queue", op });
        case "service":
          return runOp();
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
