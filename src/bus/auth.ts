/**
 * CURVE for tcp:// endpoints (CONTRACT.md section 6): the daemon's key pair
 * file, the authorized_keys file, the options of a CURVE server socket, and
 * the ZAP handler that decides which clients a CURVE socket accepts.
 *
 * Key pair file (the daemon's `secret_key_file`, a client's `--key-file`):
 * ZeroMQ's zcert format, so czmq's `zcert_load` reads ours and we read the
 * secret certificates it writes.
 *
 *     #   comments and blank lines are ignored
 *     metadata
 *     curve
 *         public-key = "<40 Z85 characters>"
 *         secret-key = "<40 Z85 characters>"
 *
 * authorized_keys: one Z85 public key a line, optionally followed by
 * whitespace and a `# comment`; lines starting with `#` and blank lines are
 * ignored.
 *
 * Security in ZeroMQ is per socket, not per endpoint: a CURVE server socket
 * demands CURVE on its ipc endpoints too. The daemon therefore serves its
 * tcp endpoints from sockets of their own, built with curveServerOptions().
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { mkdir, open, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";
import * as zmq from "zeromq";
import { systemClock } from "../clock.js";
import { EXIT, formatDiagnostic, UserError } from "../errors.js";
import { received } from "./receive.js";

export interface KeyPair {
  /** Z85, 40 characters. */
  publicKey: string;
  /** Z85, 40 characters. */
  secretKey: string;
}

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/** The 32 bytes a Z85 key encodes; null when the text is not one. */
function decodeKey(text: string): Buffer | null {
  if (!Z85_KEY.test(text)) return null;
  const bytes = Buffer.alloc(32);
  for (let group = 0; group < 8; group++) {
    let value = 0;
    for (let i = 0; i < 5; i++) value = value * 85 + Z85.indexOf(text[group * 5 + i]!);
    // Five Z85 digits reach 85^5 - 1, more than four bytes hold: such text encodes no key.
    if (value > 0xffffffff) return null;
    bytes.writeUInt32BE(value, group * 4);
  }
  return bytes;
}

function encodeKey(bytes: Buffer): string {
  let text = "";
  for (let offset = 0; offset < bytes.length; offset += 4) {
    let value = bytes.readUInt32BE(offset);
    let group = "";
    for (let i = 0; i < 5; i++) {
      group = Z85[value % 85] + group;
      value = Math.floor(value / 85);
    }
    text += group;
  }
  return text;
}

/** Why `text` is not a Z85 key, or null when it is one. */
export function keyProblem(text: string): string | null {
  if (text.length !== 40) return `expected a Z85 key of 40 characters, got ${text.length}`;
  return decodeKey(text) === null ? "not a valid Z85 key" : null;
}

/** The DER header that turns a raw 32-byte X25519 secret key into the PKCS#8 that node:crypto imports. */
const X25519_PKCS8_HEADER = Buffer.from("302e020100300506032b656e04220420", "hex");

/** CURVE keys are X25519 keys, so the public key follows from the secret one. */
function publicKeyOf(secret: Buffer): string {
  const secretKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_HEADER, secret]), format: "der", type: "pkcs8" });
  return encodeKey(createPublicKey(secretKey).export({ format: "der", type: "spki" }).subarray(-32));
}

/** A problem with a key file, as one `FILE:LINE:COL: message` line (`FILE: message` when it has no line). */
function keyFileError(file: string, message: string, line = 0, col = 0, exitCode: number = EXIT.usage): UserError {
  return new UserError(formatDiagnostic({ file, line, col, message }), exitCode);
}

/** What a guarded file must not allow, and what to tell its owner. */
interface Guard {
  /** Permission bits that must be clear. */
  forbidden: number;
  /** What the file's mode lets others do when one is set. */
  consequence: string;
  /** The chmod argument that clears them. */
  fix: string;
  /** How to make the file when it is missing. */
  missing: string;
}

const KEY_PAIR_GUARD: Guard = {
  forbidden: 0o077,
  consequence: "lets other users read the secret key",
  fix: "600",
  missing: "flowinit keys creates one",
};

const AUTHORIZED_KEYS_GUARD: Guard = {
  forbidden: 0o022,
  consequence: "lets other users authorize their own keys",
  fix: "go-w",
  // `flowinit keys` makes only key pairs: this file is the owner's list.
  missing: "create it: one client public key a line; flowinit keys --client FILE prints one",
};

/**
 * Reads a file that others must not be able to change or read past the
 * guard's permission bits, as ssh treats its key files: a key others can read
 * or replace is no longer a secret or no longer the owner's choice.
 */
async function readGuarded(file: string, guard: Guard): Promise<string> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw keyFileError(file, `cannot read: ${code === "ENOENT" ? `no such file (${guard.missing})` : (e as Error).message}`);
  }
  try {
    const { mode } = await handle.stat();
    // Windows reports made-up modes that no chmod can change.
    if (process.platform !== "win32" && (mode & guard.forbidden) !== 0) {
      throw keyFileError(file, `mode ${(mode & 0o777).toString(8).padStart(4, "0")} ${guard.consequence}; run chmod ${guard.fix} ${file}`);
    }
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

/** Reads a key pair file; throws a UserError (exit 2) naming the file for anything wrong with it. */
export async function readKeyPair(file: string): Promise<KeyPair> {
  return parseKeyPair(file, await readGuarded(file, KEY_PAIR_GUARD));
}

function parseKeyPair(file: string, text: string): KeyPair {
  let section = "";
  const found = new Map<string, { value: string; line: number }>();
  const lines = text.split("\n");
  for (const [index, raw] of lines.entries()) {
    const line = raw.trimEnd();
    const lineNo = index + 1;
    const indent = line.length - line.trimStart().length;
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    if (indent === 0) {
      if (!/^[\w$@.&+/-]+$/.test(line)) throw keyFileError(file, "expected a section name such as curve", lineNo, 1);
      section = line;
      continue;
    }
    const entry = /^([\w$@.&+/-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'#]*))\s*(?:#.*)?$/.exec(line.slice(indent));
    if (entry === null) throw keyFileError(file, 'expected name = "value"', lineNo, indent + 1);
    const [, name, ...values] = entry;
    if (section !== "curve" || (name !== "public-key" && name !== "secret-key")) continue;
    if (found.has(name)) throw keyFileError(file, `a second ${name}`, lineNo, indent + 1);
    const value = values.find((v) => v !== undefined) ?? "";
    const problem = keyProblem(value);
    if (problem !== null) throw keyFileError(file, `${name}: ${problem}`, lineNo, indent + 1);
    found.set(name, { value, line: lineNo });
  }
  const publicKey = found.get("public-key");
  const secretKey = found.get("secret-key");
  if (publicKey === undefined || secretKey === undefined) {
    const missing = [publicKey ? null : "public-key", secretKey ? null : "secret-key"].filter((n) => n !== null);
    throw keyFileError(file, `no ${missing.join(" or ")} under curve: not a key pair file (flowinit keys writes one)`);
  }
  // A hand-edited pair that does not match would fail only later, as handshakes that silently never complete.
  if (publicKeyOf(decodeKey(secretKey.value)!) !== publicKey.value) {
    throw keyFileError(file, "public-key does not belong to secret-key", publicKey.line, 1);
  }
  return { publicKey: publicKey.value, secretKey: secretKey.value };
}

function formatKeyPair(keys: KeyPair): string {
  return [
    "#   flowinit CURVE key pair (ZeroMQ zcert format)",
    "#   Holds a secret key: keep this file mode 0600 and give out only the public key.",
    "",
    "metadata",
    "curve",
    `    public-key = "${keys.publicKey}"`,
    `    secret-key = "${keys.secretKey}"`,
    "",
  ].join("\n");
}

/**
 * Writes a new key pair to `file` (mode 0600, missing folders mode 0700);
 * never overwrites: an existing file is an error, since replacing a key
 * locks out every client that knows the old one.
 */
export async function createKeyPair(file: string): Promise<KeyPair> {
  const keys = zmq.curveKeyPair();
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw keyFileError(file, `cannot create its folder: ${(e as Error).message}`, 0, 0, EXIT.failure);
  }
  try {
    await writeFile(file, formatKeyPair(keys), { flag: "wx", mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw keyFileError(file, "already exists; not replacing a key pair");
    throw keyFileError(file, `cannot write: ${(e as Error).message}`, 0, 0, EXIT.failure);
  }
  return keys;
}

/** Reads an authorized_keys file into a set of Z85 public keys; throws a UserError (exit 2) naming FILE:LINE:COL. */
export async function readAuthorizedKeys(file: string): Promise<Set<string>> {
  const text = await readGuarded(file, AUTHORIZED_KEYS_GUARD);
  const keys = new Set<string>();
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    // Z85 counts `#` among its digits, but never as a key's first: four bytes stay below its top two digits.
    if (line === "" || line.startsWith("#")) continue;
    const col = raw.length - raw.trimStart().length + 1;
    const [, token = "", rest] = /^(\S+)(?:\s+(.*))?$/.exec(line) ?? [];
    const problem = keyProblem(token);
    if (problem !== null) throw keyFileError(file, `${problem} (one public key a line)`, index + 1, col);
    if (rest !== undefined && !rest.startsWith("#")) {
      throw keyFileError(file, "expected nothing but a # comment after the key", index + 1, col + line.length - rest.length);
    }
    keys.add(token);
  }
  return keys;
}

/** At most one log line about peers refused by allow_uids per this many ms. */
const REFUSAL_LOG_MS = 10_000;

/**
 * Restricts a socket's ipc:// peers to these UIDs, checked by libzmq from
 * the kernel's peer credentials (SO_PEERCRED) before any byte of ZMTP: a
 * refused peer never reaches us. Must come before bind. tcp:// peers are not
 * affected. For every socket that takes requests: control, flag_pull.
 */
export function restrictToUids(socket: zmq.Socket, uids: number[], log: Logger): void {
  // ZMQ_IPC_FILTER_UID, one UID per call; zeromq.js exposes no named option for it.
  const ZMQ_IPC_FILTER_UID = 59;
  const raw = socket as unknown as { setInt32Option(option: number, value: number): void };
  for (const uid of uids) raw.setInt32Option(ZMQ_IPC_FILTER_UID, uid);
  // libzmq reports a peer its filter closed as a failed accept (ZMQ_EVENT_ACCEPT_FAILED), without the
  // UID. Logged at most once per REFUSAL_LOG_MS, with a count, so a peer that keeps trying fills no disk.
  let refused = 0;
  let loggedAt = -Infinity;
  socket.events.on("accept:error", ({ address }) => {
    refused++;
    const now = systemClock.mono();
    if (now - loggedAt < REFUSAL_LOG_MS) return;
    loggedAt = now;
    log.warn(`refused ${refused === 1 ? "a connection" : `${refused} connections`} on ${address}: a UID not in allow_uids`);
    refused = 0;
  });
}

/** The ZAP domains of the daemon's CURVE sockets: the ZAP handler's policy is chosen by domain. */
export const ZAP_DOMAIN = { control: "flowinit.control", status: "flowinit.status", flag_pull: "flowinit.flag_pull" } as const;
export type ZapDomain = keyof typeof ZAP_DOMAIN;

/** Options that make a socket a CURVE server for tcp endpoints; spread them into the socket's constructor. */
export interface CurveServerOptions {
  curveServer: true;
  curveSecretKey: string;
  zapDomain: string;
  zapEnforceDomain: true;
}

export function curveServerOptions(keys: KeyPair, domain: ZapDomain): CurveServerOptions {
  return {
    curveServer: true,
    curveSecretKey: keys.secretKey,
    zapDomain: ZAP_DOMAIN[domain],
    // Without it a CURVE server whose ZAP handler is missing accepts every client: fail closed instead.
    zapEnforceDomain: true,
  };
}

/** What a ZAP handler decides about one handshake (RFC 27). */
export interface ZapVerdict {
  status: 200 | 400;
  text: string;
  /** The client's Z85 public key for CURVE (on refusals too, for the log), else empty. */
  userId: string;
}

/**
 * The policy of CONTRACT.md section 6. NULL handshakes come only from
 * sockets without CURVE (the ipc ones) that set a ZAP domain; their
 * security is not CURVE's business, so they pass.
 */
export function zapVerdict(
  request: { domain: string; mechanism: string; credentials: Buffer[] },
  authorized: ReadonlySet<string>,
): ZapVerdict {
  if (request.mechanism === "NULL") return { status: 200, text: "OK", userId: "" };
  const [credential] = request.credentials;
  if (request.mechanism !== "CURVE" || credential?.length !== 32) {
    return { status: 400, text: `unsupported mechanism ${request.mechanism}`, userId: "" };
  }
  const userId = encodeKey(credential);
  switch (request.domain) {
    case ZAP_DOMAIN.status:
      return { status: 200, text: "OK", userId };
    case ZAP_DOMAIN.control:
    // A flag changes what runs as a control request does: only authorized keys.
    case ZAP_DOMAIN.flag_pull:
      return authorized.has(userId) ? { status: 200, text: "OK", userId } : { status: 400, text: "key not authorized", userId };
    default:
      return { status: 400, text: `unknown domain ${request.domain}`, userId };
  }
}

/** libzmq asks for authentication at this address in the sockets' own context (RFC 27). */
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

export interface ZapOptions {
  /** Z85 public keys allowed on the control and flag_pull domains. */
  authorized: ReadonlySet<string>;
  log: Logger;
}

export interface ZapHandler {
  /** Read at every handshake: assign a new set (after a reload) and the next connection is judged by it. */
  authorized: ReadonlySet<string>;
  /** Stops answering; CURVE sockets made with curveServerOptions() then refuse every new client. */
  close(): void;
}

/**
 * Serves ZAP for every socket of the default ZeroMQ context: start it
 * before binding CURVE sockets. One per process; a second fails with
 * EADDRINUSE.
 */
export async function startZapHandler(opts: ZapOptions): Promise<ZapHandler> {
  const socket = new zmq.Reply({ linger: 0 });
  await socket.bind(ZAP_ENDPOINT);
  const handler: ZapHandler = { authorized: opts.authorized, close: () => socket.close() };
  void serveZap(socket, handler, opts.log);
  return handler;
}

async function serveZap(socket: zmq.Reply, handler: ZapHandler, log: Logger): Promise<void> {
  for await (const frames of received(socket, log, "ZAP")) {
    const [version, requestId = Buffer.alloc(0), domain, address, , mechanism, ...credentials] = frames;
    const verdict: ZapVerdict =
      version?.toString() === "1.0" && mechanism !== undefined
        ? zapVerdict({ domain: domain!.toString(), mechanism: mechanism.toString(), credentials }, handler.authorized)
        : { status: 400, text: "malformed ZAP request", userId: "" };
    const who = { domain: domain?.toString(), address: address?.toString(), key: verdict.userId || undefined };
    if (verdict.status === 200) log.debug(who, "accepted a client");
    else log.warn(who, `refused a client: ${verdict.text}`);
    try {
      // A REP socket must answer before it can receive the next request.
      await socket.send(["1.0", requestId, String(verdict.status), verdict.text, verdict.userId, ""]);
    } catch (e) {
      if (socket.closed) return;
      log.warn({ err: e }, "ZAP reply failed");
    }
  }
}
