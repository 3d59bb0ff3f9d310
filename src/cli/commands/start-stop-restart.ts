import type { Command } from "commander";
import { formatServiceLine } from "../format.js";
import { addEndpointOptions, clientFor, type EndpointFlags } from "../options.js";

type Verb = "start" | "stop" | "restart";

const DESCRIPTIONS: Record<Verb, string> = {
  start: "start a service",
  stop: "stop a service and wait until its processes are gone",
  restart: "stop a service, then start it again",
};

/** The three share one shape: a service name in, that service's entry out as one line. */
function serviceCommand(program: Command, verb: Verb): void {
  const cmd = program.command(verb).description(DESCRIPTIONS[verb]).argument("<service>", "the service's name");
  addEndpointOptions(cmd).action(async (service: string, flags: EndpointFlags) => {
    const client = (await clientFor(flags));
    const entry = await client[verb](service);
    process.stdout.write(`${formatServiceLine(entry)}\n`);
  });
}

export const startCommand = (program: Command) => serviceCommand(program, "start");
export const stopCommand = (program: Command) => serviceCommand(program, "stop");
export const restartCommand = (program: Command) => serviceCommand(program, "restart");
