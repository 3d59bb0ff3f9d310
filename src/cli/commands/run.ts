import { Option, type Command } from "commander";
import type { DaemonOptions } from "../../daemon-options.js";
import { PLATFORMS, type Platform } from "../../manifest/spec.js";
import { addEndpointOptions, configOption, parseNonNegativeInt, type EndpointFlags } from "../options.js";

interface RunFlags extends EndpointFlags {
  config: string;
  platform?: Platform;
  /** Commander's name for `--no-wait`: false when it is given. */
  wait: boolean;
  logDir?: string;
  allowUid?: number[];
  verbose?: boolean;
}

function toDaemonOptions(flags: RunFlags): DaemonOptions {
  return {
    config: flags.config,
    control: flags.control,
    status: flags.status,
    platform: flags.platform,
    noWait: !flags.wait,
    logDir: flags.logDir,
    allowUids: flags.allowUid,
    verbose: flags.verbose,
  };
}

/** `exit` receives the daemon's own exit code, which main returns; `started` is called once its services have started. */
export function runCommand(program: Command, exit: (code: number) => void, started?: () => void): void {
  const cmd = program
    .command("run")
    .description("run the services of a manifest until shutdown")
    .addOption(configOption());
  addEndpointOptions(cmd, "daemon")
    .addOption(new Option("--platform <name>", "run as on this platform (default: detected)").choices(PLATFORMS))
    .option("--no-wait", "behave as if the green flag had arrived at start")
    .option("--log-dir <dir>", "where service logs go (default: settings.log_dir, else a logs folder)")
    .option(
      "--allow-uid <uid>",
      "also accept control connections from this UID (repeatable)",
      (value: string, previous: number[] = []) => [...previous, parseNonNegativeInt(value)],
    )
    .option("-v, --verbose", "debug logs")
    .action(async (flags: RunFlags) => {
      // Loaded here so that client commands do not pay for the whole daemon.
      const { runDaemon } = await import("../../daemon.js");
      exit(await runDaemon(toDaemonOptions(flags), started));
    });
}
