/**
 * CURVE on the client side (CONTRACT.md sections 6 and 7): what
 * `--server-key` and `--key-file` turn into, as options for the client's
 * ZeroMQ socket.
 */
import * as zmq from "zeromq";
import { keyProblem, readKeyPair } from "../bus/auth.js";
import { EXIT, UserError } from "../errors.js";

export interface CurveOptions {
  /** The daemon's public key (Z85), as `flowinit keys` prints it. Default: none, plain ZeroMQ. */
  serverKey?: string;
  /**
   * This client's key pair file, as `flowinit keys --client FILE` writes it.
   * Default: a fresh key pair, which the status topic accepts and the control
   * socket refuses.
   */
  keyFile?: string;
}

/** Socket options for a CURVE client; empty for plain ZeroMQ. Spread them into the socket's constructor. */
export interface CurveClientOptions {
  curveServerKey?: string;
  curvePublicKey?: string;
  curveSecretKey?: string;
}

/** Throws a UserError (exit 2) for a bad key, a key file without a server key, or an unreadable key file. */
export async function curveClientOptions(endpoint: string, opts: CurveOptions): Promise<CurveClientOptions> {
  // The daemon's ipc sockets never speak CURVE: keys meant for its tcp endpoints must not break them.
  if (!endpoint.startsWith("tcp://")) return {};
  if (opts.serverKey === undefined) {
    if (opts.keyFile !== undefined) {
      throw new UserError("--key-file needs --server-key (the daemon's public key, which flowinit keys prints)", EXIT.usage);
    }
    return {};
  }
  const problem = keyProblem(opts.serverKey);
  if (problem !== null) throw new UserError(`--server-key: ${problem}`, EXIT.usage);
  const keys = opts.keyFile === undefined ? zmq.curveKeyPair() : await readKeyPair(opts.keyFile);
  return { curveServerKey: opts.serverKey, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey };
}
