import type { Command } from "commander";
import pc from "picocolors";
import { formatStatus } from "../format.js";
import { addEndpointOptions, clientFor, type EndpointFlags } from "../options.js";

interface StatusFlags extends EndpointFlags {
  json?: boolean;
}

export function statusCommand(program: Command): void {
  const cmd = program
    .command("status")
    .description("show the daemon and its services")
    .option("--json", "print the status snapshot as JSON");
  addEndpointOptions(cmd).action(async (flags: StatusFlags) => {
    const client = await clientFor(flags);
    const snapshot = await client.status();
    const text = flags.json ? JSON.stringify(snapshot, null, 2) : formatStatus(snapshot, client.control, pc.isColorSupported);
    process.stdout.write(`${text}\n`);
  });
}
