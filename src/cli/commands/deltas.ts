/**
 * Delta commands: `delta-push` and `list-deltas`.
 *
 * @module
 */

import { type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { type Delta, Pagination } from "../../../mod.ts";
import type { CliContext } from "../context.ts";
import { checkDeltafile } from "../deltafile_check.ts";
import { integerParser } from "../options.ts";
import { projectArgument, projectClient } from "../project_ref.ts";

const COLUMNS = [
  { header: "ID", value: (d: Delta) => d.id },
  { header: "STATUS", value: (d: Delta) => d.status ?? "" },
  { header: "CREATED", value: (d: Delta) => d.created_at ?? "" },
  { header: "BY", value: (d: Delta) => String(d.created_by ?? "") },
];

/**
 * Adds the delta commands.
 *
 * @example
 * ```ts ignore
 * registerDeltaCommands(program, ctx);
 * ```
 */
export function registerDeltaCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("delta-push")
    .description("Push a delta file (JSON, as QField writes them) to a project.")
    .addArgument(projectArgument())
    .argument("<delta_filename>", "The delta file.")
    .action(async (ref, deltaFilename) => {
      const { client, projectId } = await projectClient(ctx, ref);
      await checkDeltafile(deltaFilename, projectId);
      await client.pushDelta(projectId, deltaFilename);
      ctx.out.result({ pushed: true, project_id: projectId, delta_file: deltaFilename }, () => {
        ctx.out.line(`Delta file "${deltaFilename}" pushed to project "${ref.text}".`);
      });
    });

  program.command("list-deltas")
    .description("List the deltas pushed to a project, with their status.")
    .addArgument(projectArgument())
    .addOption(
      new Option("-l, --limit <n>", "Return at most this many deltas (one page).")
        .argParser(integerParser(1)),
    )
    .addOption(
      new Option("-o, --offset <n>", "Skip this many deltas (one page).")
        .argParser(integerParser(0)),
    )
    .action(async (ref, options) => {
      const pagination = options.limit !== undefined || options.offset !== undefined
        ? new Pagination({ limit: options.limit, offset: options.offset })
        : undefined;
      const { client, projectId } = await projectClient(ctx, ref);
      const deltas = await client.listDeltas(projectId, { pagination });
      ctx.out.result(deltas, () => {
        if (deltas.length === 0) ctx.out.line(`No deltas in project "${ref.text}".`);
        else ctx.out.table(deltas, COLUMNS);
      });
    });
}
