/**
 * The `flowinit` command. This is the one place where errors become output
 * and exit codes (CONTRACT.md section 7): commands throw, main reports.
 */
import { Command, CommanderError } from "commander";
import { RequestError } from "../client/client.js";
import { EXIT, InvalidManifest, UserError } from "../errors.js";
import { VERSION } from "../package.js";
import { flagCommand } from "./commands/flag.js";
import { gateCommand } from "./commands/gate.js";
import { keysCommand } from "./commands/keys.js";
import { runCommand } from "./commands/run.js";
import { serviceCommand } from "./commands/service.js";
import { shutdownCommand } from "./commands/shutdown.js";
import { logsCommand } from "./commands/logs.js";
import { historyCommand } from "./commands/history.js";
import { reloadCommand } from "./commands/reload.js";
import { restartCommand, startCommand, stopCommand } from "./commands/start-stop-restart.js";
import { statusCommand } from "./commands/status.js";
import { validateCommand } from "./commands/validate.js";
import { watchCommand } from "./commands/watch.js";

export interface MainHooks {
  /** Called once, when `run`'s daemon has started its services (bin/flowinit.js makes its code cache then). */
  started?: () => void;
}

export async function main(argv: string[], hooks: MainHooks = {}): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command("flowinit")
    .description("a process supervisor for Termux and Android: services gated by a green flag")
    .version(VERSION)
    // Set before the commands are added: subcommands inherit both.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`flowinit: ${text.replace(/^error: /, "")}`) });

  runCommand(program, (code) => (exitCode = code), hooks.started);
  flagCommand(program);
  gateCommand(program);
  statusCommand(program);
  startCommand(program);
  stopCommand(program);
  restartCommand(program);
  reloadCommand(program);
  logsCommand(program);
  historyCommand(program);
  shutdownCommand(program);
  watchCommand(program);
  validateCommand(program);
  keysCommand(program);
  serviceCommand(program);

  // Once stdout is gone (EPIPE after `| head -1`, EIO after the terminal closed) there is no one left to
  // tell; unhandled, the error would end the process with a stack trace.
  const onStdoutError = () => undefined;
  process.stdout.on("error", onStdoutError);
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (e) {
    return report(e);
  } finally {
    process.stdout.off("error", onStdoutError);
  }
}

function report(e: unknown): number {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  // Commander has already printed its message or the help.
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  // Diagnostics stand alone as FILE:LINE:COL lines, the form editors and CI recognise.
  if (e instanceof InvalidManifest) {
    say(e.message);
    return e.exitCode;
  }
  if (e instanceof UserError) {
    say(`flowinit: ${e.message}`);
    return e.exitCode;
  }
  if (e instanceof RequestError) {
    say(`flowinit: ${e.message}`);
    return e.code === "bad_request" ? EXIT.usage : EXIT.failure;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (process.env.FLOWINIT_DEBUG) {
    say(e instanceof Error && e.stack !== undefined ? e.stack : message);
  } else {
    say(`flowinit: unexpected error: ${message.split("\n")[0]} (FLOWINIT_DEBUG=1 shows the stack)`);
  }
  return EXIT.failure;
}
