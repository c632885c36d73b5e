/**
 * Uploads of project (and package) files: names checked against the server's
 * rules before any byte is sent, files whose etag equals the remote one
 * skipped, bodies streamed from disk, `concurrency` files at a time, QGIS
 * project files last.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { QfcException, QfcRequestException } from "../errors.ts";
import type { RequestCore, RetryOptions } from "../http.ts";
import { FileTransferStatus, FileTransferType, type RemoteFile } from "../types.ts";
import {
  childController,
  failedResult,
  filterGlobs,
  listProjectFiles,
  passesFilter,
  reasonOf,
  startReport,
} from "./common.ts";
import { etagOfFile } from "./file_etag.ts";
import { multipartFileBody, multipartFileBytes } from "./multipart.ts";
import { DEFAULT_CONCURRENCY, runPool } from "./pool.ts";
import { ProgressTracker } from "./progress.ts";
import { remoteNameProblem } from "./remote_names.ts";
import type { TransferResult, UploadFileOptions, UploadFilesOptions } from "./types.ts";
import { isQgisProjectFile, type LocalFile, walkLocalFiles } from "./walk.ts";

/** Files up to this size are uploaded from memory; larger ones are streamed from disk. */
const SMALL_UPLOAD_SIZE = 1024 * 1024;

/**
 * Uploads the files of `localDir` to a project. The walk skips hidden names
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
 * @returns One result per local file that passes the filter, in upload order.
 */
export async function uploadFiles(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: UploadFilesOptions = {},
): Promise<TransferResult[]> {
  const type = options.type ?? FileTransferType.PROJECT;
  const path = uploadPath(projectId, type, options.jobId);
  const globs = filterGlobs(options.filter);
  const tracker = new ProgressTracker("upload", options.onProgress);
  let local: LocalFile[];
  try {
    local = await walkLocalFiles(localDir);
  } catch (error) {
    throw new QfcException(`Cannot read the local folder "${localDir}": ${reasonOf(error)}`, {
      cause: error,
    });
  }
  const files = local.filter((file) => passesFilter(file.name, globs));
  const results: TransferResult[] = files.map((file) => {
    const problem = remoteNameProblem(file.name);
    if (problem === undefined) {
      return {
        name: file.name,
        localPath: file.localPath,
        status: FileTransferStatus.PENDING,
        size: file.size,
      };
    }
    const reason = `Cannot upload "${file.name}": ${problem}`;
    return {
      name: file.name,
      localPath: file.localPath,
      status: FileTransferStatus.FAILED,
      reason,
      size: file.size,
      error: new QfcException(reason),
    };
  });
  const refused = results.find((r) => r.status === FileTransferStatus.FAILED);
  if (refused && options.throwOnError) throw refused.error;

  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const force = options.force || type === FileTransferType.PACKAGE;
  if (!force && results.some((r) => r.status === FileTransferStatus.PENDING)) {
    const remote = new Map<string, RemoteFile>();
    for (const file of await listProjectFiles(core, projectId, options.signal)) {
      remote.set(file.name, file);
    }
    await runPool(results, concurrency, async (result, index) => {
      const other = remote.get(result.name);
      if (result.status !== FileTransferStatus.PENDING || !other) return;
      if (other.size !== result.size) return; // a different size is a different etag
      if ((await etagOfFile(files[index].localPath)) === other.md5sum) {
        results[index] = {
          ...result,
          status: FileTransferStatus.SKIPPED,
          reason: "Remote file has the same etag",
        };
      }
    }, options.signal);
  }

  const todo = results
    .map((result, index) => ({ result, index }))
    .filter(({ result }) => result.status === FileTransferStatus.PENDING);
  const todoBytes = todo.reduce((sum, { result }) => sum + result.size, 0);
  const dryRun = { enabled: options.dryRun, reason: "Would be uploaded (dry run)" };
  if (startReport(tracker, results, todo, todoBytes, dryRun)) return results;

  const stop = childController(options.signal);
  const signal = stop.controller.signal;
  let fatal: unknown;
  const send = async ({ index }: { index: number }) => {
    const result = results[index];
    try {
      results[index] = await sendFile(
        core,
        [...path, result.name],
        result,
        tracker,
        signal,
        options.retry,
      );
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (fatal !== undefined) throw fatal;
      results[index] = failedResult(result, error);
      const overQuota = error instanceof QfcRequestException && error.status === 402;
      if (overQuota || options.throwOnError) {
        fatal = error;
        stop.controller.abort(error);
        throw error;
      }
    }
    tracker.end(results[index]);
  };
  try {
    // The QGIS project file last: its upload makes the server process the project.
    const first = todo.filter(({ result }) => !isQgisProjectFile(result.name));
    const last = todo.filter(({ result }) => isQgisProjectFile(result.name));
    await runPool(first, concurrency, send, signal);
    await runPool(last, concurrency, send, signal);
  } finally {
    stop.dispose();
  }
  return results;
}

/**
 * Uploads one local file under `remoteName` (always, without comparing etags),
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
  const path = uploadPath(projectId, options.type ?? FileTransferType.PROJECT, options.jobId);
  const problem = remoteNameProblem(remoteName);
  if (problem !== undefined) throw new QfcException(`Cannot upload "${remoteName}": ${problem}`);
  const info = await stat(localPath).catch(() => undefined);
  if (!info?.isFile()) throw new QfcException(`Cannot upload "${localPath}": it is not a file`);
  const tracker = new ProgressTracker("upload", options.onProgress);
  let result: TransferResult = {
    name: remoteName,
    localPath: resolve(localPath),
    status: FileTransferStatus.PENDING,
    size: info.size,
  };
  tracker.plan(1, info.size);
  if (options.dryRun) {
    result = { ...result, reason: "Would be uploaded (dry run)" };
  } else {
    result = await sendFile(
      core,
      [...path, remoteName],
      result,
      tracker,
      options.signal,
      options.retry,
    );
  }
  tracker.end(result);
  return result;
}

function uploadPath(projectId: string, type: FileTransferType, jobId?: string): string[] {
  if (type === FileTransferType.PROJECT) return ["files", projectId];
  if (type === FileTransferType.PACKAGE) {
    if (!jobId) {
      throw new TypeError('Cannot upload package files without a "jobId" (the package job)');
    }
    return ["packages", projectId, jobId, "files"];
  }
  throw new TypeError(`Unknown transfer type "${type}": use "project" or "package"`);
}

/** Streams one file as `multipart/form-data` part `file`; retried on network errors and 5xx. */
async function sendFile(
  core: RequestCore,
  path: string[],
  result: TransferResult,
  tracker: ProgressTracker,
  signal: AbortSignal | undefined,
  retry: RetryOptions | undefined,
): Promise<TransferResult> {
  const localPath = result.localPath!;
  // The size may have changed since the walk; the body must announce the right one.
  const info = await stat(localPath);
  const size = info.size;
  const boundary = `----qfieldcloud-${crypto.randomUUID()}`;
  tracker.start(result.name, size);
  // Small files are sent from memory (one read, Content-Length framing everywhere); larger
  // ones are streamed from disk so that memory stays flat whatever their size.
  const small = size <= SMALL_UPLOAD_SIZE
    ? await multipartFileBytes(localPath, { filename: result.name, size, boundary })
    : undefined;
  const response = await core.request({
    method: "POST",
    path,
    headers: small?.headers ??
      multipartFileBody(localPath, { filename: result.name, size, boundary }).headers,
    body: () => {
      if (small) return small.bytes;
      return multipartFileBody(localPath, {
        filename: result.name,
        size,
        boundary,
        onBytes: (bytes) => tracker.bytes(result.name, bytes, size),
      }).stream;
    },
    // An upload adds a version; sending it again after a failure adds at most one more.
    retry: retry ?? true,
    // The time to send the body is unbounded; only the wait for the answer would be limited.
    timeoutMs: 0,
    signal,
  });
  await response.text();
  if (small) tracker.bytes(result.name, size, size);
  return { ...result, status: FileTransferStatus.SUCCESS, size };
}
