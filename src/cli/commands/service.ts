import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { EXIT, UserError } from "../../errors.js";
import { SERVICE_NAME, TERMUX_DEFAULTS, serviceDir, serviceFiles, type ServiceFile } from "../../platform/service-files.js";
import { BIN_PATH } from "../../package.js";
import { configOption, loadManifestOrThrow } from "../options.js";

interface InstallFlags {
  config: string;
  boot?: boolean;
  print?: boolean;
  force?: boolean;
}

export function serviceCommand(program: Command): void {
  const service = program.command("service").description("run the daemon as a Termux service");
  service
    .command("install")
    .description("write the termux-services (runit) service, and with --boot the Termux:Boot script")
    .addOption(configOption())
    .option("--boot", "also start it at boot with Termux:Boot")
    .option("--print", "print the files instead of writing them")
    .option("--force", "replace files that exist")
    .action(async (flags: InstallFlags) => {
      const manifest = await loadManifestOrThrow(flags.config);

      const prefix = process.env.PREFIX;
      if (!prefix && !flags.print) {
        throw new UserError("PREFIX is unset: this is not Termux (--print shows the files anyway)", EXIT.usage);
      }
      const env = {
        ...(prefix ? { prefix, home: homedir() } : TERMUX_DEFAULTS),
        manifest: manifest.file,
        node: process.execPath,
        bin: BIN_PATH,
      };
      const files = serviceFiles(env, { boot: flags.boot === true, fresh: !existsSync(serviceDir(env.prefix)) });

      if (flags.print) {
        process.stdout.write(files.map(formatFile).join("\n"));
        return;
      }
      const taken = flags.force ? undefined : files.find((f) => existsSync(f.path));
      if (taken !== undefined) throw new UserError(`${taken.path} exists; --force replaces it`);
      for (const f of files) {
        write(f);
        process.stdout.write(`wrote ${f.path}\n`);
      }
      process.stdout.write(`start it with \`sv up ${SERVICE_NAME}\`; \`sv-enable ${SERVICE_NAME}\` starts it now and whenever termux-services starts\n`);
    });
}

const formatFile = (f: ServiceFile): string => `==> ${f.path} (mode ${f.mode.toString(8).padStart(4, "0")}) <==\n${f.content}`;

/** Through a temporary file and a rename: runsv may run `run` at any moment, and must never see half of it. */
function write(f: ServiceFile): void {
  mkdirSync(dirname(f.path), { recursive: true });
  const tmp = join(dirname(f.path), `.${SERVICE_NAME}-install-${process.pid}`);
  writeFileSync(tmp, f.content);
  // chmod, not writeFile's mode: that one is filtered by the umask.
  chmodSync(tmp, f.mode);
  renameSync(tmp, f.path);
}
