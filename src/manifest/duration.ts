/**
 * Durations, sizes and percentages as people write them in services.yaml. The patterns are
 * exported so the schema (and the JSON Schema made from it) accepts exactly
 * what these parsers understand.
 */

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

// Single letters follow logrotate and `ls -h` (powers of 1024); KB/MB/GB are
// the SI units, KiB/MiB/GiB the binary ones.
const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  k: 1024,
  K: 1024,
  KiB: 1024,
  kB: 1000,
  KB: 1000,
  M: 1024 ** 2,
  MiB: 1024 ** 2,
  MB: 1000 ** 2,
  G: 1024 ** 3,
  GiB: 1024 ** 3,
  GB: 1000 ** 3,
};

const quantityPattern = (units: Readonly<Record<string, number>>): RegExp =>
  new RegExp(`^(\\d+(?:\\.\\d+)?) ?(${Object.keys(units).join("|")})$`);

/** A duration string: a number, an optional space, then `ms`, `s`, `m` or `h`. */
export const DURATION_PATTERN = quantityPattern(DURATION_UNITS);

/** A size string: a number, an optional space, then a unit such as `KiB`, `MB` or `M`. */
export const SIZE_PATTERN = quantityPattern(SIZE_UNITS);

/** A percentage string: a number, then `%` (`10%`, `2.5%`). */
export const PERCENT_PATTERN = /^(\d+(?:\.\d+)?)%$/;

/** `10%` as 0.1; null for anything else. */
export function parsePercent(v: string): number | null {
  const match = PERCENT_PATTERN.exec(v);
  return match === null ? null : Number(match[1]) / 100;
}

/**
 * The longest duration: Node keeps a timer of at most 2^31-1 ms (24.8 days)
 * and fires a longer one after 1 ms, which would turn `interval: 600h` into a
 * busy loop and `stop_timeout: 600h` into a SIGKILL at once.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** The largest size: beyond it a number of bytes is no longer exact. */
export const MAX_SIZE_BYTES = Number.MAX_SAFE_INTEGER;

function parseQuantity(
  v: unknown,
  pattern: RegExp,
  units: Readonly<Record<string, number>>,
  max: number,
): number | null {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 && v <= max ? v : null;
  if (typeof v !== "string") return null;
  const match = pattern.exec(v);
  const factor = units[match?.[2] ?? ""];
  if (match === null || factor === undefined) return null;
  // Rounded so everything downstream works with whole milliseconds and bytes.
  const value = Math.round(Number(match[1]) * factor);
  return value <= max ? value : null;
}

/**
 * Milliseconds from a non-negative integer (already ms) or a string such as
 * `500ms`, `5s`, `1.5s`, `2m`, `1h`, up to `MAX_DURATION_MS`; null for
 * anything else.
 */
export function parseDuration(v: unknown): number | null {
  return parseQuantity(v, DURATION_PATTERN, DURATION_UNITS, MAX_DURATION_MS);
}

/**
 * Bytes from a non-negative integer (already bytes) or a string such as
 * `512KiB`, `10MiB`, `10MB`, `1k`, `1M`, up to `MAX_SIZE_BYTES`; null for
 * anything else.
 */
export function parseSize(v: unknown): number | null {
  return parseQuantity(v, SIZE_PATTERN, SIZE_UNITS, MAX_SIZE_BYTES);
}

/** A duration as people write it in the manifest: `2m`, `30s`, `1.5s`, `250ms`. */
export function durationText(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 100 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
