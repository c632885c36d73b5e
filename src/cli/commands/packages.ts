/**
 * Package commands: `package-latest` and `package-download`.
 *
 * @module
 */

import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import type { LayerInfo } from "../../../mod.ts";
import type { CliContext } from "../context.ts";
import { formatBytes } from "../output.ts";
import { concurrencyOption, filterOption, verifyOption } from "./files.ts";
import { downloadOptions, runTransfer } from "./transfer_report.ts";
import { projectArgument, projectClient } from "../project_ref.ts";

/**
 * Adds the package commands.
 *
 * @example
 * ```ts ignore
 * registerPackageCommands(program, ctx);
 * ```
 */
export function registerPackageCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("package-latest")
    .description("Show the latest package of a project: its status, files and layer checks.")
    .addArgument(projectArgument())
    .action(async (ref) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const latest = await client.packageLatest(projectId);
      ctx.out.result(latest, () => {
        ctx.out.line(`Packaging status for ${ref.text}: ${latest.status}`);
        if (latest.packaged_at) ctx.out.line(`Packaged at: ${latest.packaged_at}`);
        if (latest.files?.length) {
          ctx.out.line();
          ctx.out.table(latest.files, [
            { header: "SIZE", value: (f) => formatBytes(f.size), right: true },
            { header: "FILE", value: (f) => f.name },
          ]);
        }
        const layers: LayerInfo[] = Object.values(latest.layers ?? {});
        if (layers.length) {
          ctx.out.line();
          ctx.out.table(layers, [
            { header: "VALID", value: (l) => l.is_valid ? "yes" : "NO" },
            { header: "LAYER", value: (l) => l.name },
            { header: "STATUS", value: (l) => l.error_code ?? "" },
            { header: "SUMMARY", value: (l) => l.error_summary ?? "" },
          ]);
        }
      });
      const invalid = Object.values(latest.layers ?? {}).filter((l) => !l.is_valid);
      for (const layer of invalid) {
        ctx.out.warn(`Invalid layer "${layer.name}": ${layer.error_code}`);
      }
    });

  program.command("package-download")
    .description(
      "Download the files of the project's latest package (for QField) into a local folder.\n" +
        "Files whose local etag equals the package's are skipped (unless --force-download).",
    )
    .addArgument(projectArgument())
    .argument("<local_dir>", "Local folder to download into.")
    .addOption(filterOption("every packaged file"))
    .option("--throw-on-error", "Stop at the first file that fails. Default: no.")
    .option("--no-throw-on-error", "Go on with the other files when one fails.")
    .option("--force-download", "Download even the files that are up to date. Default: no.")
    .option("--no-force-download", "Skip the files that are up to date.")
    .addOption(verifyOption())
    .addOption(concurrencyOption())
    .option("--dry-run", "Show what would be downloaded; download nothing.")
    .action(async (ref, localDir, options) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const dryRun = options.dryRun ?? false;
      const words = {
        verb: "download",
        done: "Downloaded",
        nothing: "No packaged files to download.",
      };
      await runTransfer(
        ctx,
        "Downloading",
        words,
        dryRun,
        (hooks) =>
          client.packageDownload(projectId, localDir, { ...downloadOptions(options), ...hooks }),
        {
          globs: options.filter,
          countFiles: async () => (await client.packageLatest(projectId)).files?.length ?? 0,
        },
      );
    });
}
