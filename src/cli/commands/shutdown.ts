import type { Command } from "commander";
import { Client } from "../../client/client.js";
import { addEndpointOptions, clientEndpoint, type EndpointFlags } from "../options.js";

/** Returns once the daemon has accepted; it then stops every service and exits on its own. */
export function shutdownCommand(program: Command): void {
  const cmd = program.command("shutdown").description("stop every service and the daemon");
  addEndpointOptions(cmd).action(async (flags: EndpointFlags) => {
    await new Client({ control: await clientEndpoint("control", flags) }).shutdown();
  });
}
