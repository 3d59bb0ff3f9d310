import type { Command } from "commander";
import pc from "picocolors";
import { formatHistory } from "../format.js";
import { addEndpointOptions, clientFor, type EndpointFlags } from "../options.js";

interface HistoryFlags extends EndpointFlags {
  json?: boolean;
}

export function historyCommand(program: Command): void {
  const cmd = program
    .command("history")
    .description("show a service's last exits: when, why, after how long, and its last stderr lines")
    .argument("<service>", "the service's name")
    .option("--json", "print the exits as JSON, newest first");
  addEndpointOptions(cmd).action(async (service: string, flags: HistoryFlags) => {
    const history = await (await clientFor(flags)).history(service);
    const text = flags.json ? JSON.stringify(history, null, 2) : formatHistory(service, history, pc.isColorSupported);
    process.stdout.write(`${text}\n`);
  });
}
