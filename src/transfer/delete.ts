/**
 * Deletion of project files by glob, and of one file or one of its versions.
 *
 * @module
 */
import type { RequestCore } from "../http.ts";
import { FileTransferStatus } from "../types.ts";
import { childController, failedResult, listProjectFiles, startReport } from "./common.ts";
import { fnmatch } from "./fnmatch.ts";
import { DEFAULT_CONCURRENCY, runPool } from "./pool.ts";
import { ProgressTracker } from "./progress.ts";
import type { DeleteFileOptions, DeleteFilesOptions, TransferResult } from "./types.ts";

/**
 * Deletes the project files whose names match any of `globs` (Python `fnmatch`
 * semantics: `*` also matches `/`), with one listing request and then one
 * `DELETE` per file. With `throwOnError` the first failure stops the deletion
 * and is thrown; without it, failures are reported and the other files are
 * still deleted. (The Python SDK has this flag inverted.)
 *
 * @example Delete all photos of a project, after a dry run
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { deleteFiles } from "./delete.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const plan = await deleteFiles(client.core, projectId, ["DCIM/*"], { dryRun: true });
 * console.log(plan.map((r) => r.name));
 * await deleteFiles(client.core, projectId, ["DCIM/*"], { throwOnError: true });
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param globs Patterns of the names to delete.
 * @param options throwOnError, dry run, concurrency, progress.
 * @returns One result per matched file, sorted by name.
 */
export async function deleteFiles(
  core: RequestCore,
  projectId: string,
  globs: readonly string[],
  options: DeleteFilesOptions = {},
): Promise<TransferResult[]> {
  const tracker = new ProgressTracker("delete", options.onProgress);
  const listed = await listProjectFiles(core, projectId, options.signal);
  const matched = listed
    .filter((file) => globs.some((glob) => fnmatch(file.name, glob)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const results: TransferResult[] = matched.map((file) => ({
    name: file.name,
    status: FileTransferStatus.PENDING,
    size: file.size,
  }));
  const all = results.map((_, index) => ({ index }));
  const bytes = results.reduce((sum, r) => sum + r.size, 0);
  const dryRun = { enabled: options.dryRun, reason: "Would be deleted (dry run)" };
  if (startReport(tracker, results, all, bytes, dryRun)) return results;
  const stop = childController(options.signal);
  try {
    await runPool(results, options.concurrency ?? DEFAULT_CONCURRENCY, async (result, index) => {
      tracker.start(result.name, result.size);
      try {
        await deleteRequest(core, projectId, result.name, undefined, stop.controller.signal);
        results[index] = { ...result, status: FileTransferStatus.SUCCESS };
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        results[index] = failedResult(result, error);
        if (options.throwOnError) {
          stop.controller.abort(error);
          throw error;
        }
      }
      tracker.end(results[index]);
    }, stop.controller.signal);
  } finally {
    stop.dispose();
  }
  return results;
}

/**
 * Deletes one project file with all its versions, or only the version
 * `versionId` (sent as the `x-file-version` header). Throws on failure: an
 * unknown file is a 404, deleting the last remaining version a 400
 * `explicit_deletion_of_last_version`.
 *
 * @example Drop an old version
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { deleteFile } from "./delete.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * await deleteFile(client.core, projectId, "data.gpkg", { versionId: "0f6e…" });
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param name The remote name.
 * @param options The version to delete, abort signal.
 */
export async function deleteFile(
  core: RequestCore,
  projectId: string,
  name: string,
  options: DeleteFileOptions = {},
): Promise<TransferResult> {
  await deleteRequest(core, projectId, name, options.versionId, options.signal);
  return { name, status: FileTransferStatus.SUCCESS, size: 0 };
}

async function deleteRequest(
  core: RequestCore,
  projectId: string,
  name: string,
  versionId: string | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const response = await core.request({
    method: "DELETE",
    path: ["files", projectId, name],
    headers: versionId ? { "x-file-version": versionId } : undefined,
    signal,
  });
  await response.body?.cancel();
}
