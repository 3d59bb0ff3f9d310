/**
 * `settings.flag_pull` (CONTRACT.md section 10): a PULL socket for senders
 * that PUSH the plain flag words and read no reply, as FlowPilot's Android
 * launcher (FlowInitd.java) sends `start_flag` and `stop_flag` to the
 * original FlowInit. A PUSH cannot talk to the control socket's ROUTER: the
 * ZMTP handshake refuses the pair, silently on both sides.
 *
 * Each word goes where the control socket's plain words go; anything else
 * is dropped, since there is no one to answer. As on the control socket,
 * tcp:// endpoints take CURVE (only authorized client keys) on a socket of
 * their own, and ipc:// peers are held to allow_uids.
 */
import * as zmq from "zeromq";
import type { Logger } from "pino";
import type { CurveServerOptions } from "./auth.js";
import { MAX_REQUEST_BYTES } from "./control.js";
import { parseRequest, type Request } from "./protocol.js";
import { ReceivingPair } from "./sockets.js";

/** A flag word, as the control socket would have parsed it in plain style. */
export type FlagWord = Extract<Request, { cmd: "green_flag" | "stop_flag" }>;

const OPTIONS = { linger: 0, maxMessageSize: MAX_REQUEST_BYTES };

export class FlagPull extends ReceivingPair<zmq.Pull> {
  constructor(
    private readonly onFlag: (word: FlagWord) => void,
    log: Logger,
    curve: CurveServerOptions | null = null,
  ) {
    super((o) => new zmq.Pull(o), OPTIONS, curve, log, "flag_pull");
  }

  /** Takes words until the sockets close. */
  serve(): Promise<void> {
    return this.receive((_, frames) => this.take(frames));
  }

  private take(frames: Buffer[]): void {
    const parsed = frames.length === 1 ? parseRequest(frames[0]!) : null;
    if (parsed?.ok && parsed.style === "plain" && (parsed.request.cmd === "green_flag" || parsed.request.cmd === "stop_flag")) {
      this.onFlag(parsed.request);
    } else {
      this.log.debug({ frames: frames.length }, "flag_pull: dropped a message that is not green_flag, start_flag or stop_flag");
    }
  }
}
