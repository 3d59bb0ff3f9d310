/**
 * A DEALER peer speaking ZMTP 3.0 by hand over a Unix socket, for the one
 * thing libzmq cannot be made to do on demand: put several requests into a
 * single write, so that the daemon reads them in one turn of its loop.
 */
import { connect, type Socket } from "node:net";

const GREETING = Buffer.concat([
  Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0]),
  Buffer.from("NULL".padEnd(20, "\0")),
  Buffer.alloc(32), // as-server 0, filler
]);

function command(name: string, props: Record<string, string>): Buffer {
  const parts = [Buffer.from([name.length]), Buffer.from(name)];
  for (const [k, v] of Object.entries(props)) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    parts.push(Buffer.from([k.length]), Buffer.from(k), len, Buffer.from(v));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x04, body.length]), body]);
}

/** One message as a REQ peer frames it: an empty delimiter, then the body. */
function request(body: string): Buffer {
  const b = Buffer.from(body);
  if (b.length > 255) throw new Error("short frames only");
  return Buffer.concat([Buffer.from([0x01, 0]), Buffer.from([0x00, b.length]), b]);
}

export class RawDealer {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;

  private constructor(private readonly sock: Socket) {
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
  }

  /**
   * Connects to an `ipc:///path` endpoint and completes the handshake. Node 20
   * cannot connect to an abstract address (libuv cuts the name at its NUL), so
   * a test binds the daemon to a file path beside its abstract one.
   */
  static async connect(endpoint: string): Promise<RawDealer> {
    if (!endpoint.startsWith("ipc:///")) throw new Error(`ipc endpoints on a file path only: ${endpoint}`);
    const sock = connect({ path: endpoint.slice("ipc://".length) });
    await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
    const peer = new RawDealer(sock);
    sock.write(Buffer.concat([GREETING, command("READY", { "Socket-Type": "DEALER" })]));
    await peer.take(64); // the server's greeting
    await peer.frame(); // its READY
    return peer;
  }

  /** Every request in one write(2). */
  sendTogether(bodies: string[]): void {
    this.sock.write(Buffer.concat(bodies.map(request)));
  }

  /** The body of the next reply (after its empty delimiter). */
  async receive(): Promise<string> {
    for (;;) {
      const { more, body } = await this.frame();
      if (!more) return body.toString();
    }
  }

  close(): void {
    this.sock.destroy();
  }

  private async frame(): Promise<{ more: boolean; body: Buffer }> {
    const [flags, size] = await this.take(2);
    if (flags! & 0x02) throw new Error("long frames are not expected here");
    return { more: (flags! & 0x01) !== 0, body: await this.take(size!) };
  }

  private async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}
