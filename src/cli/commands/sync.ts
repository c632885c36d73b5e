/**
 * `pull`, `push` and `sync`: keep a folder and a project in step with the
 * three-way comparison (what changed on each side since the last run).
 *
 * @module
 */

import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import {
  FileTransferStatus,
  type SyncDirection,
  type SyncPlan,
  type SyncReport,
  type SyncResult,
  walkLocalFiles,
} from "../../../mod.ts";
import { folderProblem } from "../../transfer/folder_problem.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { ExitCode } from "../exit_codes.ts";
import { formatBytes } from "../output.ts";
import { projectArgument, projectClient } from "../project_ref.ts";
import { concurrencyOption, filterOption } from "./files.ts";
import {
  failureNote,
  filterGlobsOf,
  reportFilterMatchedNone,
  startProgress,
} from "./transfer_report.ts";

/** One action as `--json` prints it. */
export interface SyncActionJson {
  name: string;
  action: string;
  conflict: boolean;
  status: string;
  reason: string | null;
  size: number;
  error: string | null;
}

const DESCRIPTIONS: Record<SyncDirection, string> = {
  pull: "Download what changed on the cloud since the last pull, push or sync of the folder.\n" +
    "A local file edited since then is a conflict, left alone unless --prefer says otherwise.\n" +
    "With --delete, also deletes local files deleted on the cloud (into .qfieldcloud/backups).",
  push: "Upload what changed in the folder since the last pull, push or sync. A cloud file\n" +
    "changed since then (by QField, a collaborator or a job) is a conflict, left alone unless\n" +
    "--prefer says otherwise. With --delete, also deletes cloud files deleted locally.",
  sync: "Sync a folder and a project both ways. Uploads local changes, downloads cloud changes\n" +
    "and propagates deletions made since the last run; a file changed on both sides is a\n" +
    "conflict, left alone unless --prefer says otherwise. Replaced local files go to\n" +
    ".qfieldcloud/backups.",
};

const PROGRESS_VERBS: Record<SyncDirection, string> = {
  pull: "Pulling",
  push: "Pushing",
  sync: "Syncing",
};

/**
 * Adds `pull`, `push` and `sync`.
 *
 * @example
 * ```ts ignore
 * registerSyncCommands(program, ctx);
 * ```
 */
export function registerSyncCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  for (const direction of ["pull", "push", "sync"] as const) {
    const command = program.command(direction)
      .description(
        `${DESCRIPTIONS[direction]}\nExits 13 if conflicts were left alone, 8 if files failed, ` +
          "14 if it refused to start.",
      )
      .addArgument(projectArgument())
      .argument("<local_dir>", "Local folder.")
      .option("--dry-run", "Print the plan; change nothing, anywhere.")
      .addOption(
        new Option(
          "--prefer <side>",
          "Resolve conflicts: cloud downloads (the local file is backed up first), local " +
            "uploads (the cloud keeps the old bytes as a version). Default: leave them alone.",
        ).choices(["local", "cloud"]),
      )
      .addOption(filterOption("every file"))
      .addOption(concurrencyOption())
      .option("--throw-on-error", "Stop at the first file that fails. Default: no.")
      .option("--no-throw-on-error", "Go on with the other files when one fails.")
      .option(
        "--allow-mass-delete",
        "Go ahead even when the plan deletes more than half of one side's files (and more than 10).",
      );
    if (direction !== "sync") {
      command.option(
        "--delete",
        direction === "pull"
          ? "Also delete local files deleted on the cloud since the last sync (unchanged ones)."
          : "Also delete cloud files deleted locally since the last sync (unchanged ones).",
      );
    }
    command.action(async (ref, localDir, options) => {
      await assertLocalFolder(direction, localDir);
      const { client, projectId } = await projectClient(ctx, ref);
      const dryRun = options.dryRun ?? false;
      const progress = startProgress(ctx, PROGRESS_VERBS[direction]);
      let report: SyncReport;
      try {
        report = await client.syncProject(projectId, localDir, {
          direction,
          dryRun,
          delete: (options as { delete?: boolean }).delete ?? false,
          prefer: options.prefer as "local" | "cloud" | undefined,
          filter: filterGlobsOf(options.filter),
          concurrency: options.concurrency,
          throwOnError: options.throwOnError ?? false,
          allowMassDelete: options.allowMassDelete ?? false,
          signal: ctx.io.signal,
          onProgress: progress.onProgress,
          onWarning: (message) => ctx.out.warn(message),
          onPlan: (plan) => printPlan(ctx, plan),
        });
      } finally {
        progress.finish();
      }
      if (report.results.length === 0 && report.summary.unchanged === 0) {
        await reportFilterMatchedNone(ctx, {
          globs: options.filter,
          countFiles: async () => {
            const names = new Set((await client.listRemoteFiles(projectId)).map((f) => f.name));
            for (const file of await walkLocalFiles(localDir).catch(() => [])) names.add(file.name);
            return names.size;
          },
        });
      }
      reportSync(ctx, report);
    });
  }
}

/**
 * LOCAL_DIR must be a folder; pull and sync create a missing one, push has nothing to send
 * from it. One clear line before any request, not a raw `ENOTDIR … readdir`.
 */
async function assertLocalFolder(direction: SyncDirection, localDir: string): Promise<void> {
  let failure: unknown;
  try {
    if ((await stat(localDir)).isDirectory()) return;
    failure = { code: "ENOTDIR" };
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT" && direction !== "push") return;
    failure = error;
  }
  const where = direction === "pull" ? `pull into "${localDir}"` : `${direction} "${localDir}"`;
  throw new CliError(`Cannot ${where}: ${await folderProblem(localDir, failure)}`);
}

/** The human plan: one row per file to change or left in conflict. */
function printPlan(ctx: CliContext, plan: SyncPlan): void {
  const rows = [
    ...plan.actions.map((a) => ({ action: a.kind, name: a.name, size: a.size, reason: a.reason })),
    ...plan.settled.map((r) => ({
      action: r.status === FileTransferStatus.FAILED ? "failed" : "conflict",
      name: r.name,
      size: r.size,
      reason: r.reason ?? "",
    })),
  ];
  if (rows.length === 0) return;
  ctx.out.table(rows, [
    { header: "ACTION", value: (r) => r.action },
    { header: "NAME", value: (r) => r.name },
    { header: "SIZE", value: (r) => formatBytes(r.size), right: true },
    { header: "REASON", value: (r) => r.reason },
  ]);
}

/** An action as `--json` prints it. */
export function syncActionJson(result: SyncResult): SyncActionJson {
  return {
    name: result.name,
    action: result.action,
    conflict: result.conflict,
    status: result.status,
    reason: result.reason ?? null,
    size: result.size,
    error: result.error ? result.error.message : null,
  };
}

/** Prints the JSON document or the summary line, and ends with the exit code the run earned. */
function reportSync(ctx: CliContext, report: SyncReport): void {
  const { summary, results, dryRun } = report;
  ctx.out.result(
    { dry_run: dryRun, actions: results.map(syncActionJson), summary },
    () => {
      const parts = [
        `${summary.upload} to upload`,
        `${summary.download} to download`,
        `${summary.delete_remote} to delete on the cloud`,
        `${summary.delete_local} to delete locally`,
        `${summary.conflicts} conflict(s) left alone`,
        `${summary.failed} failed`,
        `${summary.unchanged} unchanged`,
      ];
      const line = dryRun
        ? `Dry run: ${parts.join(", ")}; nothing was changed.`
        : parts.join(", ").replace(/ to (upload|download|delete)/g, (_, verb) =>
          ({ upload: " uploaded", download: " downloaded", delete: " deleted" })[
            verb as "upload" | "download" | "delete"
          ]) + ".";
      ctx.out.line(line[0].toUpperCase() + line.slice(1));
    },
  );
  if (!dryRun) {
    const replaced = results.filter((r) =>
      r.conflict && r.action === "upload" && r.status === FileTransferStatus.SUCCESS
    );
    if (replaced.length > 0) {
      ctx.out.notice(
        `${replaced.length} conflicting file(s) uploaded with --prefer local; the cloud keeps ` +
          "the bytes they replaced as a file version (list-files shows them).",
      );
    }
    // Every download and local delete may back up; the folder exists only if one did.
    const backups = report.plan.actions.find((a) => a.backupDir)?.backupDir;
    if (backups && existsSync(backups)) {
      ctx.out.notice(`Local files replaced or deleted were moved to "${backups}".`);
    }
  }
  // The plan table already lists the conflicts and the files refused while planning; a file
  // that failed while the plan ran gets its one line here. With --quiet there is no table, so
  // every failed or conflicting file is an error line. Each is printed once.
  const quiet = ctx.out.quiet && !ctx.out.json;
  const inTable = new Set(report.plan.settled.map((r) => r.name));
  for (const result of results) {
    if (result.status === FileTransferStatus.FAILED && (quiet || !inTable.has(result.name))) {
      const text = `File "${result.name}" failed: ${failureNote(result)}`;
      quiet ? ctx.out.error(`error: ${text}`) : ctx.out.warn(text);
    } else if (result.action === "conflict" && !dryRun && quiet) {
      ctx.out.error(`error: Conflict, left alone: "${result.name}": ${result.reason}`);
    }
  }
  if (summary.failed > 0) {
    throw new CliError(`${summary.failed} file(s) failed`, ExitCode.PARTIAL);
  }
  if (summary.conflicts > 0) {
    throw new CliError(
      `${summary.conflicts} conflict(s) left alone; resolve them with --prefer local or --prefer cloud`,
      ExitCode.CONFLICT,
    );
  }
}
