/** The receive loop the daemon's serving sockets share. */
import type { Logger } from "pino";

interface Receiver {
  receive(): Promise<Buffer[]>;
  readonly closed: boolean;
}

/**
 * Every message the socket receives, until it is closed. A failed receive
 * is logged (as `${what} receive failed`) and the loop goes on: one bad
 * moment must not end the serving.
 */
export async function* received(socket: Receiver, log: Logger, what: string): AsyncGenerator<Buffer[]> {
  for (;;) {
    try {
      yield await socket.receive();
    } catch (e) {
      if (socket.closed) return;
      log.warn({ err: e }, `${what} receive failed`);
    }
  }
}
