import { Argument, type Command } from "commander";
import { addEndpointOptions, clientFor, parsePositiveInt, type EndpointFlags } from "../options.js";

interface FlagFlags extends EndpointFlags {
  pid?: number;
  name?: string;
}

/** Prints nothing on success, like kill(1): scripts and the Android app only read the exit code. */
export function flagCommand(program: Command): void {
  const cmd = program
    .command("flag")
    .description("send the green flag (start the gated services) or the stop flag")
    .addArgument(new Argument("[which]", "green or stop").choices(["green", "stop"]).default("green"))
    .option("--pid <pid>", "the Android app's PID: listed as a service while it lives", parsePositiveInt)
    .option("--name <name>", "the name the app is listed under (default: app)");
  addEndpointOptions(cmd).action(async (which: "green" | "stop", flags: FlagFlags) => {
    const client = (await clientFor(flags));
    await client.flag(which, { pid: flags.pid, name: flags.name });
  });
}
