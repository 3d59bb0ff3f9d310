import { normalize } from "node:path";
import type { Command } from "commander";
import { configOption, loadManifestOrThrow } from "../options.js";

export function validateCommand(program: Command): void {
  program
    .command("validate")
    .description("check a manifest without running it")
    .addOption(configOption())
    .action(async (flags: { config: string }) => {
      const n = (await loadManifestOrThrow(flags.config)).services.length;
      process.stdout.write(`${normalize(flags.config)}: ok, ${n} service${n === 1 ? "" : "s"}\n`);
    });
}
