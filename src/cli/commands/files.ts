/**
 * File commands: `list-files`, `upload-files`, `download-files`,
 * `delete-files` and `delete-file`.
 *
 * @module
 */

import { type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import {
  loadIgnoreRules,
  type RemoteFile,
  resolveLocalPath,
  walkLocalFiles,
} from "../../../mod.ts";
import type { CliContext } from "../context.ts";
import { CliError, CliUsageError } from "../errors.ts";
import { ExitCode } from "../exit_codes.ts";
import { formatBytes } from "../output.ts";
import { integerParser } from "../options.ts";
import { projectArgument, projectClient } from "../project_ref.ts";
import {
  downloadOptions,
  filterGlobsOf,
  reportTransfer,
  resultJson,
  runTransfer,
} from "./transfer_report.ts";

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--filter GLOB`, repeatable. */
export function filterOption(
  what: string,
): Option<"--filter <glob>", undefined, undefined, string[]> {
  return new Option(
    "--filter <glob>",
    `Only the files which match the glob (* also matches /); repeat for more. Default: ${what}.`,
  ).argParser(collect);
}

/** `--concurrency N`. */
export function concurrencyOption(): Option<"--concurrency <n>", undefined, undefined, number> {
  return new Option("--concurrency <n>", "Files transferred at the same time. Default: 8.")
    .argParser(integerParser(1));
}

/** `--verify`: how the download commands check a complete file before renaming it into place. */
export function verifyOption(): Option<"--verify <how>", undefined, undefined, string> {
  return new Option(
    "--verify <how>",
    "How each complete download is checked before it replaces the local file: etag hashes " +
      "every file as it arrives (a mismatch is retried, then the file fails), size checks its " +
      "size only. Resumed downloads are always checked by etag.",
  ).choices(["etag", "size"]).default("etag");
}

const GLOB_CHARS = /[*?[]/;

/**
 * Adds the file commands.
 *
 * @example
 * ```ts ignore
 * registerFileCommands(program, ctx);
 * ```
 */
export function registerFileCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("list-files")
    .description("List a project's files.")
    .addArgument(projectArgument())
    .addOption(new Option("--skip-metadata", "Accepted for compatibility; no effect.").hideHelp())
    .addOption(new Option("--no-skip-metadata", "Accepted for compatibility.").hideHelp())
    .action(async (ref) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const files = await client.listRemoteFiles(projectId);
      files.sort((a, b) => a.name.localeCompare(b.name));
      ctx.out.result(files, () => {
        if (files.length === 0) {
          ctx.out.line(`No files in project "${ref.text}".`);
          return;
        }
        ctx.out.table(files, [
          { header: "LAST MODIFIED", value: (f: RemoteFile) => f.last_modified ?? "" },
          { header: "SIZE", value: (f: RemoteFile) => formatBytes(f.size), right: true },
          {
            header: "VERSIONS",
            value: (f: RemoteFile) => String(f.versions?.length ?? 1),
            right: true,
          },
          { header: "NAME", value: (f: RemoteFile) => f.name },
        ]);
      });
    });

  const upload = program.command("upload-files")
    .description(
      "Upload the files of a local folder to a project. Files whose etag equals the remote one\n" +
        "are skipped (unless --force); .qgs/.qgz files go last; paths the folder's\n" +
        ".qfieldcloudignore names are left out. Exits 8 if some files failed.",
    )
    .addArgument(projectArgument())
    .argument("<project_path>", "Local folder to upload.")
    .addOption(filterOption("every file"))
    .option("--throw-on-error", "Stop at the first file that fails. Default: no.")
    .option("--no-throw-on-error", "Go on with the other files when one fails.")
    .option("--force", "Upload even the files that are unchanged. Default: no.")
    .option("--no-force", "Skip the files that are unchanged.")
    .addOption(concurrencyOption())
    .option("--dry-run", "Show what would be uploaded; upload nothing.");
  upload.action(async (ref, projectPath, options) => {
    const { client, projectId } = await projectClient(ctx, ref);
    const dryRun = options.dryRun ?? false;
    const words = { verb: "upload", done: "Uploaded", nothing: "Nothing to upload." };
    await runTransfer(
      ctx,
      "Uploading",
      words,
      dryRun,
      (hooks) =>
        client.uploadFiles(projectId, projectPath, {
          filter: filterGlobsOf(options.filter),
          throwOnError: options.throwOnError ?? false,
          force: options.force ?? false,
          concurrency: options.concurrency,
          dryRun,
          ...hooks,
        }),
      {
        globs: options.filter,
        countFiles: async () => (await walkLocalFiles(projectPath)).length,
      },
    );
  });

  program.command("download-files")
    .description(
      "Download a project's files into a local folder. Files whose local etag equals the remote\n" +
        "one are skipped (unless --force-download); interrupted downloads resume; paths the\n" +
        "folder's .qfieldcloudignore names are left out. With\n" +
        "--version-id, downloads that version of the one file named by --filter.",
    )
    .addArgument(projectArgument())
    .argument("<local_dir>", "Local folder to download into.")
    .addOption(filterOption("every file"))
    .option("--throw-on-error", "Stop at the first file that fails. Default: no.")
    .option("--no-throw-on-error", "Go on with the other files when one fails.")
    .option("--force-download", "Download even the files that are up to date. Default: no.")
    .option("--no-force-download", "Skip the files that are up to date.")
    .option("--version-id <version_id>", "Download this version of the file named by --filter.")
    .addOption(verifyOption())
    .addOption(concurrencyOption())
    .option("--dry-run", "Show what would be downloaded; download nothing.")
    .action(async (ref, localDir, options) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const dryRun = options.dryRun ?? false;
      const words = { verb: "download", done: "Downloaded", nothing: "Nothing to download." };
      if (options.versionId !== undefined) {
        const name = options.filter?.length === 1 ? options.filter[0] : undefined;
        if (!name || GLOB_CHARS.test(name)) {
          throw new CliUsageError(
            "--version-id needs the file's exact name in one --filter, e.g. --filter data.gpkg",
          );
        }
        const target = resolveLocalPath(localDir, name);
        if (target.problem !== undefined) throw new CliUsageError(target.problem);
        const file = (await client.listRemoteFiles(projectId)).find((f) => f.name === name);
        const version = file?.versions?.find((v) => v.version_id === options.versionId);
        if (!file || !version) {
          throw new CliError(
            file
              ? `File "${name}" has no version "${options.versionId}"`
              : `Project "${ref.text}" has no file "${name}"`,
            ExitCode.NOT_FOUND,
          );
        }
        await runTransfer(
          ctx,
          "Downloading",
          words,
          dryRun,
          (hooks) =>
            client.downloadFile(projectId, name, target.path, {
              version: version.version_id,
              etag: version.md5sum,
              size: version.size,
              forceDownload: options.forceDownload ?? false,
              verify: downloadOptions(options).verify,
              dryRun,
              ...hooks,
            }),
        );
        return;
      }
      await runTransfer(
        ctx,
        "Downloading",
        words,
        dryRun,
        (hooks) =>
          client.downloadProject(projectId, localDir, { ...downloadOptions(options), ...hooks }),
        {
          globs: options.filter,
          countFiles: async () => (await client.listRemoteFiles(projectId)).length,
        },
      );
    });

  program.command("delete-files")
    .description(
      "Delete the project files that match any of the globs. A * also matches /. Files that\n" +
        "the .qfieldcloudignore of the current folder names are left alone. Exits 8 if some\n" +
        "files failed.",
    )
    .addArgument(projectArgument())
    .argument("<paths...>", "Globs or names of the files to delete.")
    .option("--throw-on-error", "Stop at the first file that fails. Default: no.")
    .option("--no-throw-on-error", "Go on with the other files when one fails.")
    .addOption(concurrencyOption())
    .option("--dry-run", "Show what would be deleted; delete nothing.")
    .action(async (ref, paths, options) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const results = await client.deleteFiles(projectId, paths, {
        throwOnError: options.throwOnError ?? false,
        concurrency: options.concurrency,
        dryRun: options.dryRun ?? false,
        signal: ctx.io.signal,
        ignore: await loadIgnoreRules("."),
      });
      reportTransfer(
        ctx,
        results,
        { verb: "delete", done: "Deleted", nothing: "No file matches; nothing to delete." },
        options.dryRun ?? false,
      );
    });

  program.command("delete-file")
    .description("Delete one file with all its versions, or only one version.")
    .addArgument(projectArgument())
    .argument("<filename>", "The file's name in the project, e.g. DCIM/photo.jpg.")
    .option(
      "--version-id <version_id>",
      "Delete only this version. Otherwise the file and all its versions are deleted.",
    )
    .action(async (ref, filename, options) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const result = await client.deleteFile(projectId, filename, {
        versionId: options.versionId,
        signal: ctx.io.signal,
      });
      ctx.out.result(
        { ...resultJson(result), project_id: projectId, version_id: options.versionId ?? null },
        () => {
          ctx.out.line(
            options.versionId
              ? `Deleted version "${options.versionId}" of "${filename}".`
              : `Deleted "${filename}" and all its versions.`,
          );
        },
      );
    });
}
