/**
 * Deletion of project files by glob, and of one file or one of its versions:
 * a plan (`plan_delete.ts`) carried out by the executor.
 *
 * @module
 */
import type { RequestCore } from "../http.ts";
import { executePlan } from "./executor.ts";
import { planRemoteDeletes } from "./plan_delete.ts";
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
  const plan = await planRemoteDeletes(core, projectId, globs, options.signal);
  return await executePlan(core, projectId, plan, { ...options, operation: "delete" });
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
  const [result] = await executePlan(core, projectId, {
    actions: [{
      kind: "delete_remote",
      name,
      localPath: "",
      size: 0,
      reason: "Deletion of one file",
      version: options.versionId,
    }],
    settled: [],
  }, { signal: options.signal, throwOnError: true, operation: "delete" });
  return result;
}
