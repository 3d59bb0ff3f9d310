/** CURVE for tcp endpoints: key files, authorized_keys, the ZAP policy, and real CURVE sockets on loopback. */
import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import {
  createKeyPair,
  curveServerOptions,
  readAuthorizedKeys,
  readKeyPair,
  startZapHandler,
  ZAP_DOMAIN,
  zapVerdict,
  type KeyPair,
  type ZapHandler,
} from "../../src/bus/auth.js";
import { curveClientOptions, type CurveClientOptions } from "../../src/client/curve.js";
import { UserError } from "../../src/errors.js";
import { tempDir } from "../helpers/daemon.js";

/** The error a promise rejects with, for assertions on its message and exit code. */
async function failure(promise: Promise<unknown>): Promise<UserError> {
  const e: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(e).toBeInstanceOf(UserError);
  return e as UserError;
}

function writeSecret(file: string, text: string): string {
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

const zcert = (keys: KeyPair) => `metadata\ncurve\n    public-key = "${keys.publicKey}"\n    secret-key = "${keys.secretKey}"\n`;

describe("key pair files", () => {
  it("round-trips a new key pair through a file of mode 0600, creating its folder", async () => {
    const file = join(tempDir(), "keys/daemon.key");
    const created = await createKeyPair(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(created.publicKey).toMatch(/^.{40}$/);
    expect(await readKeyPair(file)).toEqual(created);
  });

  it("never replaces an existing key pair", async () => {
    const file = join(tempDir(), "daemon.key");
    await createKeyPair(file);
    const before = readFileSync(file, "utf8");
    const e = await failure(createKeyPair(file));
    expect(e.message).toBe(`${file}: already exists; not replacing a key pair`);
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("reads the secret certificates czmq writes", async () => {
    const keys = zmq.curveKeyPair();
    const file = writeSecret(
      join(tempDir(), "czmq.key"),
      [
        "#   ****  Generated on 2024-05-01 10:00:00 by CZMQ  ****",
        "#   ZeroMQ CURVE **Secret** Certificate",
        "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
        "",
        "metadata",
        '    name = "phone"',
        "curve",
        `    public-key = "${keys.publicKey}"`,
        `    secret-key = "${keys.secretKey}"`,
        "",
      ].join("\r\n"),
    );
    expect(await readKeyPair(file)).toEqual(keys);
  });

  it("refuses a key pair that other users can read, saying how to fix it", async () => {
    const file = join(tempDir(), "daemon.key");
    await createKeyPair(file);
    chmodSync(file, 0o644);
    const e = await failure(readKeyPair(file));
    expect(e.message).toBe(`${file}: mode 0644 lets other users read the secret key; run chmod 600 ${file}`);
    expect(e.exitCode).toBe(2);
  });

  const keys = zmq.curveKeyPair();
  const other = zmq.curveKeyPair();
  it.each([
    ["a missing secret key", `curve\n    public-key = "${keys.publicKey}"\n`, ": no secret-key under curve: not a key pair file (flowinit keys writes one)"],
    ["a short key", `curve\n    public-key = "${keys.publicKey}"\n    secret-key = "${keys.secretKey.slice(1)}"\n`, ":3:5: secret-key: expected a Z85 key of 40 characters, got 39"],
    ["a pair that does not match", `curve\n  public-key = "${other.publicKey}"\n  secret-key = "${keys.secretKey}"\n`, ":2:1: public-key does not belong to secret-key"],
    ["a line that is neither section nor entry", `curve = "${keys.secretKey}"\n`, ":1:1: expected a section name such as curve"],
    ["an entry without =", `curve\n    public-key\n`, ':2:5: expected name = "value"'],
  ])("reports %s as one line naming the file", async (_what, text, expected) => {
    const file = writeSecret(join(tempDir(), "bad.key"), text);
    const e = await failure(readKeyPair(file));
    expect(e.message).toBe(`${file}${expected}`);
    expect(e.exitCode).toBe(2);
  });

  it("names a missing file", async () => {
    const file = join(tempDir(), "absent.key");
    expect((await failure(readKeyPair(file))).message).toBe(`${file}: cannot read: no such file (flowinit keys creates one)`);
  });
});

describe("authorized_keys", () => {
  /** Z85 counts `#` among its digits: such a key must not pass for a key and a comment. */
  function keyWithHash(): string {
    for (;;) {
      const { publicKey } = zmq.curveKeyPair();
      if (publicKey.includes("#")) return publicKey;
    }
  }

  it("reads one key a line, skipping comments and blank lines", async () => {
    const [a, b, c] = [zmq.curveKeyPair().publicKey, zmq.curveKeyPair().publicKey, keyWithHash()];
    const commentedOut = zmq.curveKeyPair().publicKey;
    const file = join(tempDir(), "authorized_keys");
    writeFileSync(file, `# phones\n${a}\n\n  ${b}   # tablet\r\n${c}\n#${commentedOut}\n`);
    expect(await readAuthorizedKeys(file)).toEqual(new Set([a, b, c]));
  });

  it("reports a bad line as FILE:LINE:COL", async () => {
    const file = join(tempDir(), "authorized_keys");
    const key = zmq.curveKeyPair().publicKey;
    writeFileSync(file, `# phones\n${key}\n  ssh-rsa AAAA\n`);
    const e = await failure(readAuthorizedKeys(file));
    expect(e.message).toBe(`${file}:3:3: expected a Z85 key of 40 characters, got 7 (one public key a line)`);
    expect(e.exitCode).toBe(2);
  });

  it("reports text after a key that is not a comment", async () => {
    const file = join(tempDir(), "authorized_keys");
    writeFileSync(file, `${zmq.curveKeyPair().publicKey} phone\n`);
    expect((await failure(readAuthorizedKeys(file))).message).toBe(`${file}:1:42: expected nothing but a # comment after the key`);
  });

  it("names a missing file, and how to make one: flowinit keys makes only key pairs", async () => {
    const file = join(tempDir(), "authorized_keys");
    expect((await failure(readAuthorizedKeys(file))).message).toBe(
      `${file}: cannot read: no such file (create it: one client public key a line; flowinit keys --client FILE prints one)`,
    );
  });

  it("refuses a file that other users can write", async () => {
    const file = join(tempDir(), "authorized_keys");
    writeFileSync(file, "");
    chmodSync(file, 0o666);
    expect((await failure(readAuthorizedKeys(file))).message).toBe(
      `${file}: mode 0666 lets other users authorize their own keys; run chmod go-w ${file}`,
    );
  });
});

describe("zapVerdict", () => {
  const client = zmq.curveKeyPair().publicKey;
  const stranger = zmq.curveKeyPair().publicKey;
  const authorized = new Set([client]);
  const curve = (key: string) => [Buffer.from(z85Decode(key))];
  it.each([
    ["any CURVE client on the status domain", ZAP_DOMAIN.status, "CURVE", curve(stranger), 200],
    ["an authorized CURVE client on the control domain", ZAP_DOMAIN.control, "CURVE", curve(client), 200],
    ["an unauthorized CURVE client on the control domain", ZAP_DOMAIN.control, "CURVE", curve(stranger), 400],
    ["a CURVE client on an unknown domain", "other", "CURVE", curve(client), 400],
    ["NULL (an ipc socket with a ZAP domain)", "ipc", "NULL", [], 200],
    ["PLAIN", ZAP_DOMAIN.status, "PLAIN", [Buffer.from("user"), Buffer.from("pass")], 400],
  ])("answers %s with %s", (_what, domain, mechanism, credentials, status) => {
    expect(zapVerdict({ domain, mechanism, credentials }, authorized).status).toBe(status);
  });

  it("names the CURVE client by its public key", () => {
    expect(zapVerdict({ domain: ZAP_DOMAIN.status, mechanism: "CURVE", credentials: curve(stranger) }, authorized).userId).toBe(stranger);
  });
});

/** The bytes of a Z85 key as ZeroMQ's RFC 32 defines them, written out apart from src/ so the test does not trust it. */
function z85Decode(text: string): number[] {
  const digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (const ch of text.slice(i, i + 5)) value = value * 85 + digits.indexOf(ch);
    bytes.push((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
  }
  return bytes;
}

describe("curveClientOptions", () => {
  const server = zmq.curveKeyPair().publicKey;

  it("leaves ipc endpoints and plain tcp alone", async () => {
    expect(await curveClientOptions("ipc://@flowinit/control", { serverKey: server, keyFile: "/absent" })).toEqual({});
    expect(await curveClientOptions("tcp://127.0.0.1:7700", {})).toEqual({});
  });

  it("uses the client's key pair file", async () => {
    const file = join(tempDir(), "client.key");
    const keys = await createKeyPair(file);
    expect(await curveClientOptions("tcp://127.0.0.1:7700", { serverKey: server, keyFile: file })).toEqual({
      curveServerKey: server,
      curvePublicKey: keys.publicKey,
      curveSecretKey: keys.secretKey,
    });
  });

  it("makes up a key pair when given none", async () => {
    const opts = await curveClientOptions("tcp://127.0.0.1:7700", { serverKey: server });
    expect(opts.curveServerKey).toBe(server);
    expect(opts.curvePublicKey).toMatch(/^.{40}$/);
    expect(opts.curvePublicKey).not.toBe(server);
  });

  it.each([
    [{ keyFile: "client.key" }, "--key-file needs --server-key (the daemon's public key, which flowinit keys prints)"],
    [{ serverKey: "abc" }, "--server-key: expected a Z85 key of 40 characters, got 3"],
  ])("refuses %j", async (opts, message) => {
    const e = await failure(curveClientOptions("tcp://127.0.0.1:7700", opts));
    expect(e.message).toBe(message);
    expect(e.exitCode).toBe(2);
  });
});

/** A REQ client's answer from `endpoint`, or "timeout" when none comes. */
async function ask(endpoint: string, curve: CurveClientOptions, timeoutMs: number): Promise<string> {
  const sock = new zmq.Request({ linger: 0, receiveTimeout: timeoutMs, ...curve });
  try {
    sock.connect(endpoint);
    await sock.send("ping");
    const [reply] = await sock.receive();
    return reply!.toString();
  } catch (e) {
    if ((e as { code?: string }).code === "EAGAIN") return "timeout";
    throw e;
  } finally {
    sock.close();
  }
}

/** A ROUTER that answers every request with "pong". */
async function echoRouter(options: zmq.SocketOptions<zmq.Router>, endpoint: string): Promise<zmq.Router> {
  const router = new zmq.Router({ linger: 0, ...options });
  await router.bind(endpoint);
  void (async () => {
    for await (const [identity, delimiter] of router) await router.send([identity!, delimiter!, "pong"]);
  })();
  return router;
}

/** Long enough for an accepted handshake on loopback; a refused client waits it out. */
const REFUSED_MS = 500;
const ANSWER_MS = 5000;

describe("CURVE sockets with the ZAP handler", () => {
  const server = zmq.curveKeyPair();
  const logs: Array<{ level: number; msg: string; key?: string; domain?: string }> = [];
  let zap: ZapHandler;
  let router: zmq.Router;
  let endpoint: string;
  let authorizedFile: string;
  let strangerFile: string;

  beforeAll(async () => {
    const dir = tempDir();
    authorizedFile = join(dir, "client.key");
    strangerFile = join(dir, "stranger.key");
    const client = await createKeyPair(authorizedFile);
    await createKeyPair(strangerFile);
    writeFileSync(join(dir, "authorized_keys"), `${client.publicKey}\n`);
    const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    zap = await startZapHandler({ authorized: await readAuthorizedKeys(join(dir, "authorized_keys")), log });
    router = await echoRouter(curveServerOptions(server, "control"), "tcp://127.0.0.1:*");
    endpoint = router.lastEndpoint!;
  });

  afterAll(() => {
    router.close();
    zap.close();
  });

  const asClient = (keyFile?: string) => curveClientOptions(endpoint, { serverKey: server.publicKey, keyFile });

  it("serves a control client whose key is authorized", async () => {
    expect(await ask(endpoint, await asClient(authorizedFile), ANSWER_MS)).toBe("pong");
  });

  it("does not serve a control client whose key is not authorized, and logs its key", async () => {
    const stranger = await readKeyPair(strangerFile);
    expect(await ask(endpoint, await asClient(strangerFile), REFUSED_MS)).toBe("timeout");
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 40, key: stranger.publicKey, domain: ZAP_DOMAIN.control, msg: "refused a client: key not authorized" }),
    );
  });

  it("does not serve a plain client", async () => {
    expect(await ask(endpoint, {}, REFUSED_MS)).toBe("timeout");
  });

  it("judges each new connection by the current authorized set", async () => {
    const stranger = await readKeyPair(strangerFile);
    const before = zap.authorized;
    zap.authorized = new Set([...before, stranger.publicKey]);
    try {
      expect(await ask(endpoint, await asClient(strangerFile), ANSWER_MS)).toBe("pong");
    } finally {
      zap.authorized = before;
    }
  });

  it("still answers NULL handshakes of an ipc socket that sets a ZAP domain", async () => {
    const ipc = `ipc://@flowinit-test-${randomBytes(6).toString("hex")}/control`;
    const plain = await echoRouter({ zapDomain: "ipc" }, ipc);
    try {
      expect(await ask(ipc, {}, ANSWER_MS)).toBe("pong");
    } finally {
      plain.close();
    }
  });

  it("publishes to a subscriber that knows the server key, whatever its own key, and to no plain subscriber", async () => {
    const pub = new zmq.Publisher({ linger: 0, ...curveServerOptions(server, "status") });
    await pub.bind("tcp://127.0.0.1:*");
    const statusEp = pub.lastEndpoint!;
    const curveSub = new zmq.Subscriber({ linger: 0, receiveTimeout: ANSWER_MS, ...(await curveClientOptions(statusEp, { serverKey: server.publicKey })) });
    const plainSub = new zmq.Subscriber({ linger: 0, receiveTimeout: REFUSED_MS });
    // A subscriber joins some time after it connects; publish until it has.
    const timer = setInterval(() => void pub.send(["status", "{}"]).catch(() => undefined), 20);
    try {
      for (const sub of [curveSub, plainSub]) {
        sub.connect(statusEp);
        sub.subscribe();
      }
      const [topic] = await curveSub.receive();
      expect(topic!.toString()).toBe("status");
      await expect(plainSub.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    } finally {
      clearInterval(timer);
      curveSub.close();
      plainSub.close();
      pub.close();
    }
  });
});

describe("CURVE sockets without a ZAP handler", () => {
  it("refuse even an otherwise valid client, rather than accept everyone", async () => {
    const server = zmq.curveKeyPair();
    const router = await echoRouter(curveServerOptions(server, "status"), "tcp://127.0.0.1:*");
    try {
      const client = zmq.curveKeyPair();
      const curve = { curveServerKey: server.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey };
      expect(await ask(router.lastEndpoint!, curve, REFUSED_MS)).toBe("timeout");
    } finally {
      router.close();
    }
  });
});
