import { normalize } from "node:path";
import type { Command } from "commander";
import { InvalidManifest } from "../../errors.js";
import { configOption } from "../options.js";

export function validateCommand(program: Command): void {
  program
    .command("validate")
    .description("check a manifest without running it")
    .addOption(configOption())
    .action(async (flags: { config: string }) => {
      // Loaded here so that client commands do not pay for the manifest's parser.
      const { loadManifest } = await import("../../manifest/index.js");
      const loaded = await loadManifest(flags.config);
      if (!loaded.ok) throw new InvalidManifest(loaded.error);
      const n = loaded.value.services.length;
      process.stdout.write(`${normalize(flags.config)}: ok, ${n} service${n === 1 ? "" : "s"}\n`);
    });
}
