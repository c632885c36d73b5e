/**
 * Uploads of project (and package) files: names checked against the server's
 * rules before any byte is sent, files whose etag equals the remote one
 * skipped, bodies streamed from disk, `concurrency` files at a time, QGIS
 * project files last. A plan (`plan_upload.ts`) carried out by the executor.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { QfcException } from "../errors.ts";
import type { RequestCore } from "../http.ts";
import { FileTransferType } from "../types.ts";
import { uploadPath } from "./actions/upload.ts";
import { inOrder } from "./result_order.ts";
import { executePlan } from "./executor.ts";
import { planUpload } from "./plan_upload.ts";
import { remoteNameProblem } from "./remote_names.ts";
import type { TransferResult, UploadFileOptions, UploadFilesOptions } from "./types.ts";

/**
 * Uploads the files of `localDir` to a project, `concurrency` at a time (default 8), each
 * body streamed from disk. The walk skips hidden names
 * (a part starting with `.`), backups (ending with `~`) and GeoPackage
 * `-wal`/`-shm` sidecars; remote names use `/`. Unless `force` is set, one
 * listing request finds the files whose etag already matches and skips them.
 * QGIS project files (`.qgs`/`.qgz`) go last, since uploading one starts a
 * server job. A name the server would reject fails before anything is sent.
 * An `over_quota` (402) answer stops the whole upload at once and is thrown.
 *
 * @example Upload a project folder, photos included
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { uploadFiles } from "./upload.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const results = await uploadFiles(client.core, projectId, "./survey", { concurrency: 4 });
 * console.log(results.filter((r) => r.status === "SUCCESS").length, "uploaded");
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param localDir The folder to upload.
 * @param options Filter, force, concurrency, progress, dry run, package upload...
 * @returns One result per local file that passes the filter, in upload order: `SUCCESS`,
 *   `SKIPPED` (with the reason) or `FAILED` (with the error), or `PENDING` in a dry run.
 */
export async function uploadFiles(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: UploadFilesOptions = {},
): Promise<TransferResult[]> {
  const type = options.type ?? FileTransferType.PROJECT;
  uploadPath(projectId, type, options.jobId); // refuse a bad target before anything
  const { plan, order } = await planUpload(core, projectId, localDir, options);
  const results = await executePlan(core, projectId, plan, {
    ...options,
    type,
    operation: "upload",
  });
  return inOrder(results, order);
}

/**
 * Uploads one local file under `remoteName`, streamed from disk (always, without comparing
 * etags; one listing request first tells a version a failed try stored from an older one),
 * or, with `type: "package"` and a `jobId`, as a file of a package job (worker
 * tokens only). Throws on failure, including a name the server would reject.
 *
 * @example
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { uploadFile } from "./upload.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * await uploadFile(client.core, projectId, "/tmp/photo.jpg", "DCIM/photo.jpg");
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param localPath The file to send.
 * @param remoteName Its name in the project, `/`-separated.
 * @param options Type and job id, progress, abort signal, dry run.
 */
export async function uploadFile(
  core: RequestCore,
  projectId: string,
  localPath: string,
  remoteName: string,
  options: UploadFileOptions = {},
): Promise<TransferResult> {
  uploadPath(projectId, options.type ?? FileTransferType.PROJECT, options.jobId);
  const problem = remoteNameProblem(remoteName);
  if (problem !== undefined) throw new TypeError(`Cannot upload "${remoteName}": ${problem}`);
  const info = await stat(localPath).catch(() => undefined);
  if (!info?.isFile()) throw new QfcException(`Cannot upload "${localPath}": it is not a file`);
  const [result] = await executePlan(core, projectId, {
    actions: [{
      kind: "upload",
      name: remoteName,
      localPath: resolve(localPath),
      size: info.size,
      reason: "Upload of one file",
    }],
    settled: [],
  }, { ...options, throwOnError: true, concurrency: 1 });
  return result;
}
