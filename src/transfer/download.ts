/**
 * Downloads of project and package files: parallel, streamed to a partial
 * file beside the target, checked against the listed etag or size (the
 * `verify` option), renamed into place only when complete, resumed with
 * `Range` after an interruption, given the cloud's modification time, and
 * skipped when the local file is already up to date. A plan
 * (`plan_download.ts`) carried out by the executor.
 *
 * @module
 */
import { resolve } from "node:path";
import type { RequestCore } from "../http.ts";
import { FileTransferType, type LatestPackage } from "../types.ts";
import { inOrder } from "./result_order.ts";
import { listProjectFiles } from "./project_listing.ts";
import { executePlan } from "./executor.ts";
import type { TransferPlan } from "./plan.ts";
import {
  assertDownloadFolder,
  checkLocal,
  downloadAction,
  planDownload,
  upToDate,
} from "./plan_download.ts";
import type {
  DownloadableFile,
  DownloadFileOptions,
  DownloadFilesOptions,
  DownloadListedFilesOptions,
  TransferResult,
} from "./types.ts";
import { verificationOf } from "./verification.ts";

/**
 * Downloads every file of a project into `localDir` (one listing request, then
 * the files, `concurrency` at a time). Files whose local etag equals the listed
 * one are skipped without a request. Each file's bytes go to a temporary file, are
 * checked against the listed etag (or size, `verify`) and only then replace the local
 * file; an interrupted download resumes on the next run. Listed names that would
 * escape `localDir` are refused and reported (see {@linkcode downloadFiles}).
 *
 * @example
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { downloadProject } from "./download.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const results = await downloadProject(client.core, projectId, "./survey", { filter: "*.gpkg" });
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param localDir Where to put the files; created if missing.
 * @param options Filter, concurrency, progress, dry run...
 * @returns One result per listed file that passes the filter.
 */
export async function downloadProject(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: DownloadFilesOptions = {},
): Promise<TransferResult[]> {
  await downloadPrelude(localDir, options);
  const files = await listProjectFiles(core, projectId, options.signal);
  return await downloadChecked(core, projectId, files, localDir, {
    ...options,
    type: FileTransferType.PROJECT,
  });
}

/**
 * Downloads the files of a project's latest package into `localDir` (one request
 * for the package, then the files in parallel), with the checks of
 * {@linkcode downloadProject}. Package files whose local etag equals their listed
 * `md5sum` are skipped, unlike the Python SDK, which downloads them again every time.
 *
 * @example
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { packageDownload } from "./download.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * await packageDownload(client.core, projectId, "./for-qfield");
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param localDir Where to put the files; created if missing.
 * @param options Filter, concurrency, progress, dry run...
 */
export async function packageDownload(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: DownloadFilesOptions = {},
): Promise<TransferResult[]> {
  await downloadPrelude(localDir, options);
  const latest = await core.json<LatestPackage>({
    path: ["packages", projectId, "latest"],
    signal: options.signal,
  });
  return await downloadChecked(core, projectId, latest.files, localDir, {
    ...options,
    type: FileTransferType.PACKAGE,
  });
}

/**
 * Downloads already-listed files (from `listRemoteFiles`, or package files from
 * `packageLatest` with `type: "package"`) into `localDir`, with the checks of
 * {@linkcode downloadProject}. Names are untrusted: one that is absolute, has a `..` part,
 * a backslash, a drive letter or a NUL, or resolves outside `localDir`, is
 * refused and reported as `FAILED`; nothing is written outside `localDir`.
 *
 * @example
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { downloadFiles } from "./download.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const files = await client.listRemoteFiles(projectId);
 * await downloadFiles(client.core, projectId, files.filter((f) => f.size < 1e6), "./small");
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param files The files to download, with their listed `md5sum` and `size`.
 * @param localDir Where to put the files; created if missing.
 * @param options Type (project or package files), filter, concurrency, progress, dry run...
 */
export async function downloadFiles(
  core: RequestCore,
  projectId: string,
  files: readonly DownloadableFile[],
  localDir: string,
  options: DownloadListedFilesOptions = {},
): Promise<TransferResult[]> {
  await downloadPrelude(localDir, options);
  return await downloadChecked(core, projectId, files, localDir, options);
}

/**
 * Refuses a bad `verify` option and a `localDir` that is not a folder (creating it unless in a
 * dry run), once per call and before any request.
 */
async function downloadPrelude(
  localDir: string,
  options: Pick<DownloadFilesOptions, "verify" | "dryRun">,
): Promise<void> {
  verificationOf(options.verify);
  await assertDownloadFolder(localDir, !options.dryRun);
}

/** {@linkcode downloadFiles} once {@linkcode downloadPrelude} has checked its arguments. */
async function downloadChecked(
  core: RequestCore,
  projectId: string,
  files: readonly DownloadableFile[],
  localDir: string,
  options: DownloadListedFilesOptions,
): Promise<TransferResult[]> {
  const { plan, order } = await planDownload(files, localDir, options);
  const results = await executePlan(core, projectId, plan, {
    ...options,
    localDir: resolve(localDir),
    operation: "download",
  });
  return inOrder(results, order);
}

/**
 * Downloads one file to `localPath` (a path you choose, so it is trusted),
 * optionally a given version. With `etag`, a local file that already has it is
 * left alone without a request; otherwise the local file's etag goes out as
 * `If-None-Match` and a 304 leaves it untouched. Throws on failure.
 *
 * @example Download an older version
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { downloadFile } from "./download.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const [file] = await client.listRemoteFiles(projectId);
 * const old = file.versions!.at(-1)!;
 * await downloadFile(client.core, projectId, file.name, "old.gpkg", {
 *   version: old.version_id,
 *   etag: old.md5sum,
 * });
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param name The remote name.
 * @param localPath Where to write the file.
 * @param options Version, expected etag and size, type, progress...
 */
export async function downloadFile(
  core: RequestCore,
  projectId: string,
  name: string,
  localPath: string,
  options: DownloadFileOptions = {},
): Promise<TransferResult> {
  const type = options.type ?? FileTransferType.PROJECT;
  verificationOf(options.verify);
  if (options.version !== undefined && type === FileTransferType.PACKAGE) {
    throw new TypeError(
      `Cannot download version "${options.version}" of a package file: package files have no versions`,
    );
  }
  const action = {
    ...downloadAction({ name, size: options.size, etag: options.etag }, localPath),
    version: options.version,
  };
  const check = await checkLocal(action, options.forceDownload ?? false);
  const plan: TransferPlan = check.upToDate
    ? { actions: [], settled: [upToDate(action)] }
    : { actions: [{ ...action, localEtag: check.localEtag }], settled: [] };
  const [result] = await executePlan(core, projectId, plan, {
    ...options,
    type,
    throwOnError: true,
    concurrency: 1,
    operation: "download",
  });
  return result;
}
