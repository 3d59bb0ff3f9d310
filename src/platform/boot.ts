/**
 * Which boot this is: the kernel draws a random id at each boot, so two
 * readings that match mean no reboot happened in between, and a state file
 * written under another id describes processes that no longer exist.
 */
import { readFileSync } from "node:fs";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The boot id in `file`, or null if it cannot be read or is not a UUID. */
export function readBootId(file = "/proc/sys/kernel/random/boot_id"): string | null {
  try {
    const id = readFileSync(file, "utf8").trim();
    return UUID.test(id) ? id : null;
  } catch {
    return null;
  }
}

let cached: string | null | undefined;

/** This boot's id, read once (it cannot change while we run); null where /proc does not show it. */
export function bootId(): string | null {
  if (cached === undefined) cached = readBootId();
  return cached;
}
