/**
 * Deciding an upload without state: which local files to send, which to skip
 * because the cloud already has their etag, and which names the server would
 * refuse.
 *
 * @module
 */
import { QfcException } from "../errors.ts";
import type { RequestCore } from "../http.ts";
import { FileTransferStatus, FileTransferType, type RemoteFile } from "../types.ts";
import { etagOfFileOfSize } from "./file_etag.ts";
import { folderProblem } from "./folder_problem.ts";
import { loadIgnoreRules } from "./ignore_rules.ts";
import { filterGlobs, passesFilter } from "./name_filter.ts";
import type { OrderedPlan, TransferAction } from "./plan.ts";
import { DEFAULT_CONCURRENCY, runPool } from "../pool.ts";
import { latestVersionOf, listProjectFiles } from "./project_listing.ts";
import { remoteNameProblem } from "./remote_names.ts";
import type { TransferResult, UploadFilesOptions } from "./types.ts";
import { type LocalFile, walkLocalFiles } from "./walk.ts";

/**
 * Plans the upload of `localDir`: every project file the walk finds that passes the filter,
 * minus (unless forced) those whose etag the listing already shows. A name the server would
 * refuse is a FAILED result (which `executePlan` throws, with `throwOnError`, before it sends
 * anything).
 */
export async function planUpload(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: UploadFilesOptions = {},
): Promise<OrderedPlan> {
  const type = options.type ?? FileTransferType.PROJECT;
  const globs = filterGlobs(options.filter);
  let local: LocalFile[];
  try {
    // The folder's ignore rules skip whole ignored folders during the walk.
    local = await walkLocalFiles(localDir, await loadIgnoreRules(localDir));
  } catch (error) {
    const problem = await folderProblem(localDir, error);
    throw new QfcException(`Cannot read the local folder "${localDir}": ${problem}`, {
      cause: error,
    });
  }
  const files = local.filter((file) => passesFilter(file.name, globs));
  const settled: TransferResult[] = [];
  const candidates: LocalFile[] = [];
  for (const file of files) {
    const problem = remoteNameProblem(file.name);
    if (problem === undefined) {
      candidates.push(file);
      continue;
    }
    const reason = `Cannot upload "${file.name}": ${problem}`;
    const error = new QfcException(reason);
    settled.push({
      name: file.name,
      localPath: file.localPath,
      status: FileTransferStatus.FAILED,
      reason,
      size: file.size,
      error,
    });
  }

  const force = options.force || type === FileTransferType.PACKAGE;
  const remote = new Map<string, RemoteFile>();
  if (!force && candidates.length > 0) {
    for (const file of await listProjectFiles(core, projectId, options.signal)) {
      remote.set(file.name, file);
    }
  }
  const actions: (TransferAction | undefined)[] = new Array(candidates.length);
  await runPool(candidates, options.concurrency ?? DEFAULT_CONCURRENCY, async (file, index) => {
    const other = remote.get(file.name);
    let etag: string | undefined;
    // A different size is a different etag: hash only files of the same size.
    if (other && other.size === file.size) {
      etag = await etagOfFileOfSize(file.localPath, file.size);
      if (etag === other.md5sum) {
        settled.push({
          name: file.name,
          localPath: file.localPath,
          status: FileTransferStatus.SKIPPED,
          reason: "Remote file has the same etag",
          size: file.size,
        });
        return;
      }
    }
    actions[index] = {
      kind: "upload",
      name: file.name,
      localPath: file.localPath,
      size: file.size,
      etag,
      reason: force ? "Forced upload" : other ? "Differs from the cloud" : "Not on the cloud",
      // Forced: not listed at plan time (the executor lists once before sending).
      ...(force ? {} : { cloudVersion: other ? latestVersionOf(other) : null }),
    };
  }, options.signal);
  return {
    plan: { actions: actions.filter((a) => a !== undefined), settled },
    order: files.map((file) => file.name),
  };
}
