import { Argument, type Command } from "commander";
import { addEndpointOptions, clientFor, type EndpointFlags } from "../options.js";

interface GateFlags extends EndpointFlags {
  reason?: string;
}

/**
 * Sets an external gate: a deviceState bridge, a car-ignition script. Prints
 * nothing on success, like `flag`: scripts read the exit code.
 */
export function gateCommand(program: Command): void {
  const cmd = program
    .command("gate")
    .description("open or close an external gate (settings.gates NAME: {external: true}); waits until what it stops is down")
    .argument("<name>", "the gate's name")
    .addArgument(new Argument("<state>", "open or close").choices(["open", "close"]))
    .option("--reason <text>", "why, as the gate's event and the snapshot show it (default: gate request)");
  addEndpointOptions(cmd).action(async (name: string, state: "open" | "close", flags: GateFlags) => {
    const client = await clientFor(flags);
    await client.gate(name, state === "open", flags.reason);
  });
}
