/** The platform decisions, each on hosts built by hand: no Android device needed. */
import { describe, expect, it } from "vitest";
import { defaultEndpoint } from "../../src/platform/endpoints.js";
import { defaultEndpoints, detectPlatform, hasAbstractNamespace, isTermux, runtimeDir, shellFor, type Host } from "../../src/platform/platform.js";

const TERMUX_PREFIX = "/data/data/com.termux/files/usr";

const host = (platform: NodeJS.Platform, env: NodeJS.ProcessEnv = {}, tmpdir = "/tmp"): Host => ({ platform, env, tmpdir });

const hosts = {
  "Termux (android)": host("android", { PREFIX: TERMUX_PREFIX }),
  "Termux reporting linux": host("linux", { PREFIX: TERMUX_PREFIX }),
  "android without PREFIX": host("android"),
  "linux desktop": host("linux", { PREFIX: "/usr/local" }),
  "linux without PREFIX": host("linux"),
  darwin: host("darwin", {}, "/var/folders/xy/T"),
  win32: host("win32", {}, "C:\\Users\\me\\AppData\\Local\\Temp"),
};
type Name = keyof typeof hosts;

describe("isTermux and detectPlatform", () => {
  it.each<[Name, boolean]>([
    ["Termux (android)", true],
    ["Termux reporting linux", true],
    ["android without PREFIX", true],
    ["linux desktop", false],
    ["linux without PREFIX", false],
    ["darwin", false],
    ["win32", false],
  ])("%s: termux %s", (name, termux) => {
    expect(isTermux(hosts[name])).toBe(termux);
    expect(detectPlatform(hosts[name])).toBe(termux ? "android" : "desktop");
  });
});

describe("shellFor", () => {
  it.each<[Name, string]>([
    ["Termux (android)", `${TERMUX_PREFIX}/bin/sh`],
    ["Termux reporting linux", `${TERMUX_PREFIX}/bin/sh`],
    // Nothing says where Termux's sh is; /bin/sh is the only guess left.
    ["android without PREFIX", "/bin/sh"],
    ["linux desktop", "/bin/sh"],
    ["darwin", "/bin/sh"],
  ])("%s: %s", (name, shell) => {
    expect(shellFor(hosts[name])).toBe(shell);
  });
});

describe("defaultEndpoints", () => {
  it.each<Name>(["Termux (android)", "android without PREFIX", "linux desktop", "linux without PREFIX"])(
    "%s: the abstract namespace",
    (name) => {
      expect(hasAbstractNamespace(hosts[name])).toBe(true);
      expect(defaultEndpoints(hosts[name])).toEqual({ control: "ipc://@flowinit/control", status: "ipc://@flowinit/status" });
    },
  );

  it("darwin: files in the temp dir", () => {
    expect(hasAbstractNamespace(hosts.darwin)).toBe(false);
    expect(defaultEndpoints(hosts.darwin)).toEqual({
      control: "ipc:///var/folders/xy/T/flowinit-control",
      status: "ipc:///var/folders/xy/T/flowinit-status",
    });
  });

  it("win32: files in the temp dir", () => {
    expect(hasAbstractNamespace(hosts.win32)).toBe(false);
    const eps = defaultEndpoints(hosts.win32);
    // The separator is the test machine's: path.join is not the host's.
    expect(eps.control).toMatch(/^ipc:\/\/C:\\Users\\me\\AppData\\Local\\Temp[\\/]flowinit-control$/);
    expect(eps.status).toMatch(/^ipc:\/\/C:\\Users\\me\\AppData\\Local\\Temp[\\/]flowinit-status$/);
  });
});

describe("defaultEndpoint", () => {
  it("is the first endpoint the daemon gives its services, else the platform's", () => {
    const env = { FLOWINIT_CONTROL: "ipc://@a/control, tcp://127.0.0.1:5555", FLOWINIT_STATUS: "ipc://@a/status" };
    expect(defaultEndpoint("control", host("linux", env))).toBe("ipc://@a/control");
    expect(defaultEndpoint("status", host("linux", env))).toBe("ipc://@a/status");
    expect(defaultEndpoint("status", hosts.darwin)).toBe("ipc:///var/folders/xy/T/flowinit-status");
  });
});

describe("runtimeDir", () => {
  it.each<[string, Host, string]>([
    // Termux's tmp is wiped when the app restarts; $PREFIX/var/run is not.
    ["Termux", hosts["Termux (android)"], `${TERMUX_PREFIX}/var/run`],
    ["Termux with XDG_RUNTIME_DIR", host("android", { PREFIX: TERMUX_PREFIX, XDG_RUNTIME_DIR: "/run/user/10123" }), `${TERMUX_PREFIX}/var/run`],
    ["linux with XDG_RUNTIME_DIR", host("linux", { XDG_RUNTIME_DIR: "/run/user/1000" }), "/run/user/1000"],
    ["linux with an empty XDG_RUNTIME_DIR", host("linux", { XDG_RUNTIME_DIR: "" }, "/tmp"), "/tmp"],
    ["darwin", hosts.darwin, "/var/folders/xy/T"],
  ])("%s", (_, h, dir) => {
    expect(runtimeDir(h)).toBe(dir);
  });
});
