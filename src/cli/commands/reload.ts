import type { Command } from "commander";
import { RequestError } from "../../client/client.js";
import { InvalidManifest, type Diagnostic } from "../../errors.js";
import { formatReload } from "../format.js";
import { addEndpointOptions, clientFor, type EndpointFlags } from "../options.js";

export function reloadCommand(program: Command): void {
  const cmd = program.command("reload").description("re-read the manifest and apply what changed");
  addEndpointOptions(cmd).action(async (flags: EndpointFlags) => {
    try {
      const diff = await (await clientFor(flags)).reload();
      process.stdout.write(`${formatReload(diff)}\n`);
    } catch (e) {
      if (e instanceof RequestError && e.code === "invalid_manifest" && Array.isArray(e.details.diagnostics)) {
        throw new InvalidManifest(e.details.diagnostics as Diagnostic[]);
      }
      throw e;
    }
  });
}
