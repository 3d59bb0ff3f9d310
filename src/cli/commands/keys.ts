import { existsSync } from "node:fs";
import type { Command } from "commander";
import { createKeyPair, readKeyPair } from "../../bus/auth.js";
import { EXIT, UserError } from "../../errors.js";
import { configOption, loadManifestOrThrow } from "../options.js";

/**
 * Prints only the public key on stdout, so that
 * `flowinit keys --client phone.key >> authorized_keys` authorizes a client.
 */
export function keysCommand(program: Command): void {
  program
    .command("keys")
    .description("create the daemon's CURVE key pair (settings.curve.secret_key_file) if missing; print its public key")
    .addOption(configOption())
    .option("--client <file>", "instead, create a client key pair in FILE (for --key-file) if missing; print its public key")
    .action(async (flags: { config: string; client?: string }) => {
      const file = flags.client ?? (await secretKeyFile(flags.config));
      const existed = existsSync(file);
      const keys = existed ? await readKeyPair(file) : await createKeyPair(file);
      if (!existed) process.stderr.write(`flowinit: created ${file} (mode 0600)\n`);
      process.stdout.write(`${keys.publicKey}\n`);
    });
}

async function secretKeyFile(config: string): Promise<string> {
  const manifest = await loadManifestOrThrow(config);
  const { curve } = manifest.settings;
  if (curve === null) {
    throw new UserError(`${manifest.file}: settings.curve is not set (it names secret_key_file and authorized_keys_file)`, EXIT.usage);
  }
  return curve.secretKeyFile;
}
