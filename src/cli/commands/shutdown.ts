import type { Command } from "commander";
import { addEndpointOptions, clientFor, type EndpointFlags } from "../options.js";

/** Returns once the daemon has accepted; it then stops every service and exits on its own. */
export function shutdownCommand(program: Command): void {
  const cmd = program.command("shutdown").description("stop every service and the daemon");
  addEndpointOptions(cmd).action(async (flags: EndpointFlags) => {
    await (await clientFor(flags)).shutdown();
  });
}
