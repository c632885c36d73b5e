/**
 * `completions bash|zsh|fish`: prints a completion script generated from the
 * command tree.
 *
 * @module
 */

import { Argument, type CommandUnknownOpts } from "@commander-js/extra-typings";
import type { CliContext } from "../context.ts";
import { generateCompletions, SHELLS, specFromCommand } from "../completions.ts";

/**
 * Adds the `completions` command.
 *
 * @example
 * ```ts ignore
 * registerCompletionCommand(program, ctx);
 * ```
 */
export function registerCompletionCommand(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("completions")
    .description(
      "Print a shell completion script. bash: source <(qfieldcloud-cli completions bash);\n" +
        "zsh: source <(qfieldcloud-cli completions zsh); fish: qfieldcloud-cli completions fish | source",
    )
    .addArgument(new Argument("<shell>", "bash, zsh or fish.").choices(SHELLS))
    .action((shell) => {
      const script = generateCompletions(shell, specFromCommand(program));
      ctx.out.result({ shell, script }, () => ctx.io.stdout.write(script));
    });
}
