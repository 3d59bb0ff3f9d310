import type { Command } from "commander";
import { follow, lastLines } from "../../client/tail.js";
import { UserError } from "../../errors.js";
import { addEndpointOptions, clientFor, parseNonNegativeInt, type EndpointFlags } from "../options.js";

export function logsCommand(program: Command): void {
  const cmd = program
    .command("logs")
    .description("print a service's last output lines; -f follows it across rotations")
    .argument("<service>", "the service's name")
    .option("-n, --lines <n>", "how many lines", parseNonNegativeInt, 10)
    .option("-f, --follow", "keep printing what the service writes");
  addEndpointOptions(cmd).action(async (service: string, flags: EndpointFlags & { lines: number; follow?: boolean }) => {
    const path = await (await clientFor(flags)).logPath(service);
    const tail = await lastLines(path, flags.lines).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return { text: "", end: 0, missing: true };
      throw new UserError(`cannot read ${path}: ${e.code ?? e.message}`);
    });
    process.stdout.write(tail.text);
    if (!flags.follow) {
      if ("missing" in tail) throw new UserError(`${service} has no log yet (${path})`);
      return;
    }
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    process.once("SIGTERM", () => stop.abort());
    await follow(path, tail.end, (chunk) => process.stdout.write(chunk), stop.signal);
  });
}
