#!/usr/bin/env node
/**
 * Shows the zeromq.js behaviour behind the daemon's "Socket is busy writing"
 * crash (docs/performance.md, findings). zeromq.js resolves at most 512 sends
 * in a row synchronously (max_sync_operations in its socket.cc); the next is
 * deferred to a later turn of the event loop, and until then any further
 * send() on that socket throws EBUSY synchronously: a `.catch()` on the
 * promise does not see it. On a socket that only sends (a PUB) the count is
 * reset only by such a deferred send, so every ~513th message is a trap for a
 * second message in the same turn, e.g. an event and its snapshot, or the
 * tick's status and device messages. `sendTimeout: 0` always takes the
 * synchronous path (a PUB drops at its high-water mark instead of waiting).
 *
 *   node bench/zmq-send-limit.mjs
 */
import * as zmq from "zeromq";

for (const options of [{}, { sendTimeout: 0 }]) {
  const pub = new zmq.Publisher({ sendHighWaterMark: 1000, linger: 0, ...options });
  await pub.bind(`ipc://@flowinit-bench-zmq-${process.pid}-${Object.keys(options).length}`);
  let sent = 0;
  let error = null;
  // Like the daemon: one message, then another in a microtask of the same turn, once per turn.
  for (let turn = 0; turn < 2000 && error === null; turn++) {
    try {
      pub.send(["event", "{}"]).catch(() => undefined);
      sent++;
      await Promise.resolve();
      pub.send(["status", "{}"]).catch(() => undefined);
      sent++;
    } catch (e) {
      error = `${e.code}: ${e.message}`;
    }
    await new Promise((r) => setImmediate(r));
  }
  console.log(`Publisher ${JSON.stringify(options)}: ${error === null ? `${sent} sends, no error` : `send #${sent + 1} threw ${error}`}`);
  pub.close();
}
