/**
 * Builds the command tree of `qfieldcloud-cli`: the global options of the
 * official Python CLI (and a few more), then one group of commands per file
 * in `commands/`.
 *
 * @module
 */

import { Command, type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { VERSION } from "../../mod.ts";
import { type CliContext, DEFAULT_URL } from "./context.ts";
import { EXIT_CODE_DESCRIPTIONS } from "./exit_codes.ts";
import type { TextSink } from "./io.ts";
import { parseSeconds, resolveGlobals } from "./options.ts";
import { registerAuthCommands } from "./commands/auth.ts";
import { registerProjectCommands } from "./commands/projects.ts";
import { registerFileCommands } from "./commands/files.ts";
import { registerSyncCommands } from "./commands/sync.ts";
import { registerJobCommands } from "./commands/jobs.ts";
import { registerDeltaCommands } from "./commands/deltas.ts";
import { registerPackageCommands } from "./commands/packages.ts";
import { registerCollaboratorCommands } from "./commands/collaborators.ts";
import { registerMemberCommands } from "./commands/members.ts";
import { registerTeamCommands } from "./commands/teams.ts";
import { registerUserCommands } from "./commands/users.ts";
import { registerCompletionCommand } from "./commands/completions.ts";

/** Width of help text when stdout is not a terminal (keeps golden files stable). */
const HELP_WIDTH = 100;

const ENVIRONMENT = `Environment:
  QFIELDCLOUD_URL, QFIELDCLOUD_API  API URL (like -U/--url)
  QFIELDCLOUD_USERNAME              username or email (like -u/--username)
  QFIELDCLOUD_PASSWORD              password (like -p/--password)
  QFIELDCLOUD_TOKEN                 session token (like -t/--token)
  QFIELDCLOUD_VERIFY_SSL            0 has the effect of --no-verify-ssl
  QFIELDCLOUD_CA_CERT               like --ca-cert
  QFC_SDK_CONNECT_TIMEOUT_S         like --connect-timeout
  QFC_SDK_READ_TIMEOUT_S            like --read-timeout
  QFIELDCLOUD_CONFIG_DIR            where logins are saved (default: the platform's config dir)
  NO_COLOR                          no colors on stderr`;

function exitCodesHelp(): string {
  return "Exit codes:\n" +
    EXIT_CODE_DESCRIPTIONS.map(([code, text]) => `  ${String(code).padStart(3)}  ${text}`)
      .join("\n");
}

const EXAMPLES = `Examples:
  qfieldcloud-cli login surveyor                  # prompts for the password, saves the token
  qfieldcloud-cli -U https://qfc.example.org/api/v1/ login --sso   # single sign-on in a browser
  qfieldcloud-cli list-projects
  qfieldcloud-cli -u user -p pass -U https://localhost/api/v1/ list-projects
  qfieldcloud-cli --json list-files PROJECT_ID | jq '.[].name'
  qfieldcloud-cli job-trigger PROJECT_ID package --wait`;

function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  return end === -1 ? text : text.slice(0, end + 1);
}

/** Hooks the program uses to report how parsing went. */
export interface ProgramHooks {
  /** Called with commander's error text (already printed on stderr). */
  onParseError?: (message: string) => void;
}

/**
 * Builds the command tree for one run; `main()` parses the arguments with it.
 *
 * @example
 * ```ts ignore
 * const program = createProgram(new CliContext(denoIo()));
 * await program.parseAsync(["list-projects"], { from: "user" });
 * ```
 */
export function createProgram(ctx: CliContext, hooks: ProgramHooks = {}): CommandUnknownOpts {
  let format: "json" | "human" | undefined;
  const helpWidth = (sink: TextSink) => sink.isTerminal && sink.columns ? sink.columns : HELP_WIDTH;
  const program = new Command("qfieldcloud-cli")
    .description(
      "The QFieldCloud command line: projects, files, jobs, packages, deltas, collaborators,\n" +
        "organization members and teams, as in the official Python CLI, plus waiting for jobs,\n" +
        "parallel resumable transfers, saved logins and exit codes that tell what failed.",
    )
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
      outputError: (text, write) => {
        hooks.onParseError?.(text.trim());
        write(text);
      },
      getOutHelpWidth: () => helpWidth(ctx.io.stdout),
      getErrHelpWidth: () => helpWidth(ctx.io.stderr),
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .helpOption("-h, --help", "Show this message and exit.")
    .version(VERSION, "--version", "Show the version and exit.")
    .addOption(
      new Option("-U, --url <url>", `URL of the QFieldCloud API. Default: ${DEFAULT_URL}`),
    )
    .addOption(new Option("-u, --username <username>", "Username or email."))
    .addOption(new Option("-p, --password <password>", "Password (prefer the prompt of login)."))
    .addOption(new Option("-t, --token <token>", "Session token."))
    .addOption(new Option("--json", "Output the result as one JSON document on stdout."))
    .addOption(new Option("--human", "Output readable tables and sentences. Default."))
    .addOption(new Option("--verify-ssl", "Verify the server's TLS certificate. Default."))
    .addOption(new Option("--no-verify-ssl", "Do not verify the server's TLS certificate."))
    .addOption(
      new Option("--ca-cert <file>", "Also trust the CA certificate(s) in this PEM file."),
    )
    .addOption(
      new Option(
        "--connect-timeout <seconds>",
        "Seconds to wait to connect; 0 or less: no timeout. Default: 10",
      ).argParser(parseSeconds),
    )
    .addOption(
      new Option(
        "--read-timeout <seconds>",
        "Seconds to wait for each answer; 0 or less: no timeout. Default: 300",
      ).argParser(parseSeconds),
    )
    .addOption(new Option("--debug", "Print requests and stack traces on stderr (tokens masked)."))
    .addOption(
      new Option(
        "-q, --quiet",
        "Print nothing but errors: no tables, sentences, notices, warnings or progress (a --json " +
          "document is still printed).",
      ),
    )
    .addHelpText("after", `\n${ENVIRONMENT}\n\n${exitCodesHelp()}\n\n${EXAMPLES}\n`);

  program.on("option:json", () => format = "json");
  program.on("option:human", () => format = "human");
  program.hook("preAction", async (_program, actionCommand) => {
    ctx.commandName = actionCommand.name();
    // The last login's server is the default, as gh remembers its host; -U and the environment win.
    const savedUrl = await ctx.credentials.defaultUrl().catch(() => undefined);
    ctx.setGlobals(resolveGlobals(program.opts(), format, ctx.io, savedUrl));
  });

  registerAuthCommands(program, ctx);
  registerProjectCommands(program, ctx);
  registerFileCommands(program, ctx);
  registerSyncCommands(program, ctx);
  registerJobCommands(program, ctx);
  registerDeltaCommands(program, ctx);
  registerPackageCommands(program, ctx);
  registerCollaboratorCommands(program, ctx);
  registerMemberCommands(program, ctx);
  registerTeamCommands(program, ctx);
  registerUserCommands(program, ctx);
  registerCompletionCommand(program, ctx);
  program.helpCommand("help [command]", "Show help for a command.");
  program.configureHelp({ subcommandTerm: (command) => command.name() });
  for (const command of program.commands) {
    // Descriptions are written across lines in the source; let commander wrap them.
    const description = command.description().replace(/\s*\n\s*/g, " ");
    command.description(description);
    if (!command.summary()) command.summary(firstSentence(description));
  }
  return program;
}
