/**
 * What the transfer commands share: live progress on stderr, the results as
 * a table or JSON, and exit code 8 when some files failed.
 *
 * @module
 */

import {
  type DownloadVerification,
  FileTransferStatus,
  type TransferProgressEvent,
  type TransferResult,
} from "../../../mod.ts";
import type { CliContext } from "../context.ts";
import { briefErrorLine, CliError } from "../errors.ts";
import { ExitCode } from "../exit_codes.ts";
import { formatBytes } from "../output.ts";
import { ProgressDisplay } from "../progress.ts";

/** A transfer result as printed in `--json` mode (snake_case, stable keys). */
export interface TransferResultJson {
  name: string;
  status: string;
  size: number;
  reason: string | null;
  error: string | null;
  local_path: string | null;
}

/**
 * Converts results for `--json` output: the error becomes its message.
 *
 * @example
 * ```ts ignore
 * ctx.out.printJson(results.map(resultJson));
 * ```
 */
export function resultJson(result: TransferResult): TransferResultJson {
  return {
    name: result.name,
    status: result.status,
    size: result.size,
    reason: result.reason ?? null,
    error: result.error ? result.error.message : null,
    local_path: result.localPath ?? null,
  };
}

/**
 * Live progress for a transfer: drawn on stderr only when it is a terminal
 * and `--json` is off. Call `finish()` when the transfer ends.
 *
 * @example
 * ```ts ignore
 * const progress = startProgress(ctx, "Uploading");
 * try { await client.uploadFiles(id, dir, { onProgress: progress.onProgress }); }
 * finally { progress.finish(); }
 * ```
 */
export function startProgress(
  ctx: CliContext,
  verb: string,
): { onProgress: (event: TransferProgressEvent) => void; finish: () => void } {
  const live = ctx.io.stderr.isTerminal && ctx.out.human;
  const display = new ProgressDisplay({
    sink: ctx.io.stderr,
    verb,
    live,
    color: ctx.out.color,
  });
  return {
    onProgress: live ? (event) => display.update(event) : () => {},
    finish: () => display.finish(),
  };
}

/** What a transfer command hands to its library call: progress events and the Ctrl-C signal. */
export interface TransferHooks {
  /** Feeds the live progress display. */
  onProgress: (event: TransferProgressEvent) => void;
  /** Aborted by Ctrl-C. */
  signal: AbortSignal | undefined;
}

/**
 * Runs a transfer with live progress, then reports its results like {@linkcode reportTransfer}.
 *
 * @example
 * ```ts ignore
 * await runTransfer(ctx, "Uploading", words, false, (hooks) => client.uploadFiles(id, dir, hooks));
 * ```
 */
export async function runTransfer(
  ctx: CliContext,
  progressVerb: string,
  words: TransferWords,
  dryRun: boolean,
  transfer: (hooks: TransferHooks) => Promise<TransferResult | TransferResult[]>,
  filter?: FilterCheck,
): Promise<void> {
  const progress = startProgress(ctx, progressVerb);
  let results;
  try {
    results = await transfer({ onProgress: progress.onProgress, signal: ctx.io.signal });
  } finally {
    progress.finish();
  }
  const list = Array.isArray(results) ? results : [results];
  reportTransfer(ctx, list, words, dryRun);
  if (list.length === 0 && filter) await reportFilterMatchedNone(ctx, filter);
}

/** What {@linkcode runTransfer} needs to say that `--filter` matched nothing. */
export interface FilterCheck {
  /** The `--filter` globs as given. */
  globs: readonly string[] | undefined;
  /** Counts the files the filter chose from; called only when it matched none. */
  countFiles: () => Promise<number>;
}

/**
 * The `--filter` globs that filter: an empty glob (`--filter ''`) means every file, as
 * no `--filter` does, in every command (the Python SDK's `upload_files` turns "" into "*").
 *
 * @example
 * ```ts
 * import { filterGlobsOf } from "./transfer_report.ts";
 * console.log(filterGlobsOf([""])); // undefined
 * ```
 */
export function filterGlobsOf(globs: readonly string[] | undefined): string[] | undefined {
  const kept = (globs ?? []).filter((glob) => glob !== "");
  return kept.length > 0 ? kept : undefined;
}

/**
 * Says on stderr that the filter matched none of the files, when there were some; the exit
 * code stays 0, as in the Python CLI.
 *
 * @example
 * ```ts ignore
 * await reportFilterMatchedNone(ctx, { globs: ["*.GPKG"], countFiles: async () => 3 });
 * ```
 */
export async function reportFilterMatchedNone(ctx: CliContext, filter: FilterCheck): Promise<void> {
  const globs = filterGlobsOf(filter.globs);
  if (!globs || ctx.out.quiet) return;
  const count = await filter.countFiles().catch(() => 0);
  if (count === 0) return;
  const flags = globs.map((glob) => `--filter '${glob}'`).join(" ");
  ctx.out.notice(
    `${flags} matched none of the ${count} file${
      count === 1 ? "" : "s"
    }; matching is case-sensitive`,
  );
}

/** The flags the download commands share, as commander parses them. */
export interface DownloadFlags {
  /** `--filter`, repeatable. */
  filter?: string[];
  /** `--throw-on-error`. */
  throwOnError?: boolean;
  /** `--force-download`. */
  forceDownload?: boolean;
  /** `--concurrency`. */
  concurrency?: number;
  /** `--verify`: `etag` or `size` (commander has checked the choice). */
  verify?: string;
  /** `--dry-run`. */
  dryRun?: boolean;
}

/**
 * The library options of a download command's flags, defaults filled in.
 *
 * @example
 * ```ts ignore
 * await client.downloadProject(id, dir, { ...downloadOptions(options), ...hooks });
 * ```
 */
export function downloadOptions(
  flags: DownloadFlags,
):
  & Required<Omit<DownloadFlags, "filter" | "concurrency" | "verify">>
  & Pick<DownloadFlags, "filter" | "concurrency">
  & { verify: DownloadVerification } {
  return {
    filter: filterGlobsOf(flags.filter),
    throwOnError: flags.throwOnError ?? false,
    forceDownload: flags.forceDownload ?? false,
    concurrency: flags.concurrency,
    verify: (flags.verify ?? "etag") as DownloadVerification,
    dryRun: flags.dryRun ?? false,
  };
}

/** Words of {@linkcode reportTransfer}. */
export interface TransferWords {
  /** E.g. `upload`. */
  verb: string;
  /** E.g. `Uploaded`. */
  done: string;
  /** E.g. `Nothing to upload.` */
  nothing: string;
}

/** A failed file's reason, once: what went wrong and what to do, without the request's URL. */
export function failureNote(result: TransferResult): string {
  return result.error ? briefErrorLine(result.error) : result.reason ?? "unknown error";
}

/**
 * Prints the results (a table and a summary, or the JSON document) and fails
 * with exit code 8 if any file failed. Each failure's reason is printed once:
 * in the table, or with `--quiet` (no table) as one `error:` line per file.
 *
 * @example
 * ```ts ignore
 * reportTransfer(ctx, results, { verb: "upload", done: "Uploaded", nothing: "Nothing to upload." }, false);
 * ```
 */
export function reportTransfer(
  ctx: CliContext,
  results: readonly TransferResult[],
  words: TransferWords,
  dryRun: boolean,
): void {
  const out = ctx.out;
  const failed = results.filter((r) => r.status === FileTransferStatus.FAILED);
  const count = (status: string) => results.filter((r) => r.status === status).length;
  out.result(results.map(resultJson), () => {
    if (results.length === 0) {
      out.line(words.nothing);
      return;
    }
    out.table(results, [
      {
        header: "STATUS",
        value: (r) =>
          dryRun && r.status === "PENDING" ? `WOULD ${words.verb.toUpperCase()}` : r.status,
      },
      { header: "SIZE", value: (r) => formatBytes(r.size), right: true },
      { header: "NAME", value: (r) => r.name },
      {
        header: "NOTE",
        value: (r) => r.status === FileTransferStatus.FAILED ? failureNote(r) : r.reason ?? "",
      },
    ]);
    if (dryRun) {
      out.line(
        `Dry run: ${count(FileTransferStatus.PENDING)} file(s) would ${words.verb}, ` +
          `${count(FileTransferStatus.SKIPPED)} skipped; nothing was changed.`,
      );
    } else {
      out.line(
        `${words.done} ${count(FileTransferStatus.SUCCESS)} file(s), ` +
          `${count(FileTransferStatus.SKIPPED)} skipped, ${failed.length} failed.`,
      );
    }
  });
  if (out.quiet && !out.json) {
    for (const result of failed) {
      out.error(`error: "${result.name}" failed to ${words.verb}: ${failureNote(result)}`);
    }
  }
  if (failed.length > 0) {
    throw new CliError(
      `${failed.length} of ${results.length} file(s) failed to ${words.verb}`,
      ExitCode.PARTIAL,
    );
  }
}
