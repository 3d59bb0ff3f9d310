/** How a process ended, as the runner learns it and everything above it reads it. */
export interface Exit {
  /** The exit code, when it exited. */
  code: number | null;
  /** The signal that ended it, when one did (`SIGKILL`). */
  signal: string | null;
}
