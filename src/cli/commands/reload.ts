import type { Command } from "commander";
import { RequestError } from "../../client/client.js";
import { EXIT, InvalidManifest, UserError, type Diagnostic } from "../../errors.js";
import { formatReload } from "../format.js";
import { addEndpointOptions, clientFor, type EndpointFlags } from "../options.js";

export function reloadCommand(program: Command): void {
  const cmd = program.command("reload").description("re-read the manifest and apply what changed");
  addEndpointOptions(cmd).action(async (flags: EndpointFlags) => {
    try {
      const reply = await (await clientFor(flags)).reload();
      process.stdout.write(`${formatReload(reply)}\n`);
      // The services' changes are in; a part that did not take is still a failed reload for whoever asked.
      if (reply.warnings.length > 0) throw new UserError(reply.warnings.join("; "), EXIT.failure);
    } catch (e) {
      if (e instanceof RequestError && e.code === "invalid_manifest" && Array.isArray(e.details.diagnostics)) {
        throw new InvalidManifest(e.details.diagnostics as Diagnostic[]);
      }
      throw e;
    }
  });
}
