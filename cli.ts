/**
 * `qfieldcloud-cli`: the QFieldCloud command line. Every command and option
 * of the official Python CLI (so its scripts run unchanged), plus waiting for
 * jobs, parallel resumable transfers, saved logins, shell completions and exit
 * codes that tell what failed.
 *
 * Run it from a clone with `deno run -A cli.ts --help` (once the package is on
 * JSR, also `deno run -A jsr:@qfieldcloud/sdk/cli --help`), or call
 * {@linkcode main} to run it in-process.
 *
 * @example Run a command in-process and capture its output
 * ```ts ignore
 * import { main } from "@qfieldcloud/sdk/cli";
 * let out = "";
 * const code = await main(["--json", "status"], {
 *   stdout: { write: (text) => out += text, isTerminal: false },
 * });
 * console.log(code, JSON.parse(out).database);
 * ```
 *
 * @module
 */

import { CommanderError } from "@commander-js/extra-typings";
import { CliContext } from "./src/cli/context.ts";
import { describeError, formatErrorLine } from "./src/cli/errors.ts";
import { ExitCode } from "./src/cli/exit_codes.ts";
import { type CliIo, completeIo } from "./src/cli/io.ts";
import { Output } from "./src/cli/output.ts";
import { createProgram } from "./src/cli/program.ts";

export type { CliIo, TextSink } from "./src/cli/io.ts";
export type { FetchLike } from "./mod.ts";
export { ExitCode } from "./src/cli/exit_codes.ts";

/** Whether the raw arguments ask for JSON output (the last of `--json`/`--human` wins). */
function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  const options = end === -1 ? args : args.slice(0, end);
  return options.lastIndexOf("--json") > options.lastIndexOf("--human");
}

/** The commands whose partial downloads are kept and resumed: only they get that hint on Ctrl-C. */
const DOWNLOADING_COMMANDS = new Set(["download-files", "package-download", "pull", "sync"]);

/**
 * Runs the CLI with the arguments (without the program name) and returns the
 * exit code. Pass `io` to capture output or to set the environment; anything
 * not given comes from the real process.
 *
 * @example
 * ```ts ignore
 * import { main } from "./cli.ts";
 * const code = await main(["--version"]);
 * ```
 */
export async function main(args: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const fullIo: CliIo = completeIo(io);
  const ctx = new CliContext(fullIo);
  let parseError: string | undefined;
  const program = createProgram(ctx, { onParseError: (message) => parseError = message });
  const fallbackOutput = () =>
    new Output(fullIo.stdout, fullIo.stderr, {
      json: wantsJson(args),
      color: fullIo.stderr.isTerminal && !fullIo.env("NO_COLOR"),
    });
  try {
    await program.parseAsync([...args], { from: "user" });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      const helpShown = error.code === "commander.help" && error.exitCode === 0;
      if (
        error.code === "commander.helpDisplayed" || error.code === "commander.version" || helpShown
      ) {
        return ExitCode.OK;
      }
      const out = ctx.ready ? ctx.out : fallbackOutput();
      if (out.json && !out.printedJson) {
        const message = (parseError ?? error.message).replace(/^error:\s*/, "");
        out.printJson({
          error: {
            message,
            exit_code: ExitCode.USAGE,
            hint: 'See "qfieldcloud-cli --help"',
            status: null,
            code: null,
            server_message: null,
            method: null,
            url: null,
          },
        });
      }
      return ExitCode.USAGE;
    }
    const report = describeError(error, { ssoLogin: ctx.ssoLogin });
    if (fullIo.signal?.aborted && report.exitCode !== ExitCode.USAGE) {
      report.exitCode = ExitCode.INTERRUPTED;
      report.message = "Interrupted";
      report.hint = DOWNLOADING_COMMANDS.has(ctx.commandName ?? "")
        ? "Partial downloads are kept and resume on the next run"
        : undefined;
      report.json = {
        ...report.json,
        message: report.message,
        exit_code: report.exitCode,
        hint: report.hint ?? null,
      };
    }
    const out = ctx.ready ? ctx.out : fallbackOutput();
    out.error(formatErrorLine(report));
    if (ctx.ready && ctx.globals.debug && error instanceof Error && error.stack) {
      out.debug(error.stack);
      let cause = error.cause;
      while (cause instanceof Error) {
        out.debug(`Caused by: ${cause.stack ?? cause.message}`);
        cause = cause.cause;
      }
    }
    if (out.json && !out.printedJson) out.printJson({ error: report.json });
    return report.exitCode;
  } finally {
    ctx.close();
  }
}

if (import.meta.main) {
  const controller = new AbortController();
  let interrupted = false;
  const onInterrupt = () => {
    // The first Ctrl-C stops transfers cleanly; a second one exits at once.
    if (interrupted) Deno.exit(ExitCode.INTERRUPTED);
    interrupted = true;
    controller.abort(new DOMException("Interrupted", "AbortError"));
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  const code = await main(Deno.args, { signal: controller.signal });
  Deno.removeSignalListener("SIGINT", onInterrupt);
  Deno.exit(code);
}
