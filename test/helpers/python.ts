/**
 * Python for the tests that run Python clients. A module of its own: finding
 * the interpreter starts Python (twice where the first has no pyzmq), which
 * no other test file that imports the daemon harness should pay for.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execaSync } from "execa";
import { ROOT } from "./daemon.js";

/** A python3 that has pyzmq, for independent clients; undefined where there is none. */
export const python = ["python3", "/usr/bin/python3"].find((p) => execaSync(p, ["-c", "import zmq"], { reject: false }).exitCode === 0);

/** The first Python snippet under `heading` in a doc of docs/, to run as written. */
export function pythonSnippet(doc: string, heading: string): string {
  const text = readFileSync(join(ROOT, "docs", doc), "utf8");
  const code = /```python\n([\s\S]*?)```/.exec(text.slice(text.indexOf(heading)))?.[1];
  if (code === undefined) throw new Error(`docs/${doc} has no Python snippet under '${heading}'`);
  return code;
}
