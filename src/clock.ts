/**
 * Time as an input (STYLE.md 14). Two clocks, because a phone sets its wall
 * clock from the network at boot, exactly when Termux:Boot starts the
 * daemon: a duration measured on the wall clock leaps with it, and a service
 * crashing every 0.3 s then looks stable and never goes `fatal`.
 */

export interface Clock {
  /**
   * Whole ms since the Unix epoch, for the timestamps people read (`time`,
   * `since`, `started_at`). It may leap either way; never subtract two
   * readings of it.
   */
  wall(): number;
  /**
   * Whole ms from an arbitrary origin, never going back, for every duration:
   * uptime, `stable_after`, backoff, stop deadlines, intervals. Only the
   * difference of two readings means anything.
   */
  mono(): number;
}

/** One moment read off both clocks: what the pure machine is given. */
export interface Instant {
  wall: number;
  mono: number;
}

/** The clocks of the host. */
export const systemClock: Clock = {
  wall: () => Date.now(),
  // performance.now() (like process.hrtime()) reads uv_hrtime(), which on Linux
  // is clock_gettime(CLOCK_MONOTONIC) (libuv src/unix/linux.c). That clock stops
  // while the device is suspended (CLOCK_BOOTTIME would not), so a phone's sleep
  // counts as neither uptime nor a missed deadline. Node's timers read the same
  // clock (its coarse variant), so a deadline read here agrees with setTimeout.
  // Whole ms: uptime_ms is an integer in the snapshot.
  mono: () => Math.floor(performance.now()),
};
