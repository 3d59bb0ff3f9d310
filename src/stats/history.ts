/**
 * The last exits of each service (CONTRACT.md section 9): a ring of 10 per
 * service, newest first, held in memory and written to a file beside the
 * state file (runner/recover.ts), so that a daemon restart, clean or not,
 * keeps them. An exit only goes into memory; the file is written later, by
 * `persist`, which the daemon calls on its status tick and at shutdown, so
 * no restart waits for a write.
 */
import { readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import type { HistoryEntry } from "../bus/protocol.js";
import { CAUSES, type Cause } from "../supervisor/policy.js";
import { STATE_NAMES, type StateName } from "../supervisor/states.js";

/** Exits kept per service. */
export const HISTORY_LENGTH = 10;
/** Characters kept of each stderr line: a service may write 64 KiB lines, and the file holds 10 exits of 20. */
export const MAX_TAIL_LINE = 1000;

/** The history file beside the state file at `statePath` (`<id>.json` -> `<id>.history.json`). */
export const historyPath = (statePath: string): string => statePath.replace(/\.json$/, ".history.json");

export class ExitHistory {
  private readonly byService: Map<string, HistoryEntry[]>;
  /** Changed since the file was last written. */
  private dirty = false;
  private writing: Promise<void> | null = null;

  /** Reads what an earlier daemon left in `file`; a missing, truncated or tampered file keeps what is valid of it. */
  constructor(private readonly file: string) {
    let content: unknown = null;
    try {
      content = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      // No history yet, or a file cut short by a kill: start afresh.
    }
    this.byService = parseHistory(content);
  }

  /** Adds an exit of `service`, dropping its oldest past HISTORY_LENGTH. */
  record(service: string, entry: HistoryEntry): void {
    const tail = entry.stderr_tail.map((line) => (line.length > MAX_TAIL_LINE ? `${line.slice(0, MAX_TAIL_LINE)}...` : line));
    const entries = [{ ...entry, stderr_tail: tail }, ...(this.byService.get(service) ?? [])];
    this.byService.set(service, entries.slice(0, HISTORY_LENGTH));
    this.dirty = true;
  }

  /** The exits of `service`, newest first. */
  of(service: string): HistoryEntry[] {
    return this.byService.get(service) ?? [];
  }

  /** Forgets the services not in `names` (no longer in the manifest). */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.byService.keys()) {
      if (!names.has(name)) {
        this.byService.delete(name);
        this.dirty = true;
      }
    }
  }

  /**
   * Writes the file if anything changed, atomically (write, then rename);
   * one write at a time, and what changes meanwhile goes in the next. A
   * failed write loses nothing in memory: it is tried again at the next call.
   */
  persist(): Promise<void> {
    this.writing ??= this.write().finally(() => (this.writing = null));
    return this.writing;
  }

  private async write(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      const tmp = `${this.file}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify(Object.fromEntries(this.byService)), { mode: 0o600 });
        await rename(tmp, this.file);
      } catch {
        // The history is a help for people, not for supervision: try again next time.
        this.dirty = true;
        return;
      }
    }
  }
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const orNull = <T>(v: unknown, test: (v: unknown) => v is T): T | null => (test(v) ? v : null);
const isString = (v: unknown): v is string => typeof v === "string";
const KNOWN_CAUSES: ReadonlySet<string> = new Set(CAUSES);
const isCause = (v: unknown): v is Cause => typeof v === "string" && KNOWN_CAUSES.has(v);
const KNOWN_STATES: ReadonlySet<string> = new Set(STATE_NAMES);
const isState = (v: unknown): v is StateName => typeof v === "string" && KNOWN_STATES.has(v);

/** The file's entries one by one: an entry without a time or a state is dropped, another bad field reads as empty. */
function parseHistory(content: unknown): Map<string, HistoryEntry[]> {
  const byService = new Map<string, HistoryEntry[]>();
  if (typeof content !== "object" || content === null || Array.isArray(content)) return byService;
  for (const [name, list] of Object.entries(content)) {
    if (!Array.isArray(list)) continue;
    const entries = list.flatMap((e: unknown): HistoryEntry[] => {
      if (typeof e !== "object" || e === null) return [];
      const o = e as Record<string, unknown>;
      if (!isCount(o.time) || !isState(o.state)) return [];
      return [
        {
          time: o.time,
          cause: orNull(o.cause, isCause),
          uptime_ms: orNull(o.uptime_ms, isCount),
          exit_code: orNull(o.exit_code, isCount),
          signal: orNull(o.signal, isString),
          stderr_tail: Array.isArray(o.stderr_tail) ? o.stderr_tail.filter(isString) : [],
          state: o.state,
          reason: isString(o.reason) ? o.reason : "",
        },
      ];
    });
    if (entries.length > 0) byService.set(name, entries.slice(0, HISTORY_LENGTH));
  }
  return byService;
}
