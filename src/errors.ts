/** Exit codes of the `flowinit` command (CONTRACT.md section 7). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
} as const;

/** Error codes of the control protocol (CONTRACT.md section 2). */
export type ErrorCode = "bad_request" | "unknown_service" | "unknown_gate" | "forbidden" | "invalid_manifest" | "internal";

/** A problem with user input, located in a file when it comes from one. */
export interface Diagnostic {
  file: string;
  /** 1-based; 0 when the problem has no place in the file (e.g. it cannot be read). */
  line: number;
  /** 1-based; 0 when unknown. */
  col: number;
  message: string;
}

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** The one place diagnostics become text: `FILE:LINE:COL: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  if (d.line === 0) return `${d.file}: ${d.message}`;
  return `${d.file}:${d.line}:${d.col}: ${d.message}`;
}

/**
 * An error the CLI shows as one line and turns into an exit code; library
 * code throws it instead of calling process.exit.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** A manifest that did not validate: every diagnostic, rendered by the CLI. */
export class InvalidManifest extends UserError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"), EXIT.usage);
    this.name = "InvalidManifest";
  }
}
