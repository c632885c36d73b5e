/**
 * Deciding a download without state: which listed files to fetch, which to
 * skip because the local file already has their etag, and which to refuse
 * (a hostile name, or a local obstacle such as a folder where the file must
 * go).
 *
 * @module
 */
import { mkdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { QfcException } from "../errors.ts";
import { FileTransferStatus } from "../types.ts";
import { failedResult } from "./failed_result.ts";
import { filterGlobs, passesFilter } from "./name_filter.ts";
import { DirSnapshot } from "./dir_snapshot.ts";
import { obstacle } from "./download_errors.ts";
import { fastStat } from "./fast_fs.ts";
import { etagOfFileOfSize } from "./file_etag.ts";
import { folderProblem } from "./folder_problem.ts";
import { loadIgnoreRules } from "./ignore_rules.ts";
import { byName } from "./walk.ts";
import type { OrderedPlan, TransferAction } from "./plan.ts";
import { DEFAULT_CONCURRENCY, runPool } from "../pool.ts";
import { resolveLocalPath } from "./remote_names.ts";
import type { DownloadableFile, DownloadFilesOptions, TransferResult } from "./types.ts";

/**
 * A `LOCAL_DIR` that is not a folder, or (with `create`) cannot be created, is one error before
 * anything is done, rather than one failure per file.
 */
export async function assertDownloadFolder(localDir: string, create = false): Promise<void> {
  try {
    const info = await stat(localDir).catch((error) => {
      if (error?.code !== "ENOENT") throw error;
    });
    if (info && !info.isDirectory()) {
      throw Object.assign(new Error("Not a folder"), { code: "ENOTDIR" });
    }
    if (!info && create) await mkdir(localDir, { recursive: true });
  } catch (error) {
    const problem = await folderProblem(localDir, error);
    throw new QfcException(`Cannot download into "${localDir}": ${problem}`, { cause: error });
  }
}

/**
 * Plans the download of listed files into `localDir`: the files that pass the filter, sorted
 * by name, minus those whose local copy has the listed etag (unless `forceDownload`). A hostile
 * name or a local obstacle is a FAILED result; the other files go on. The caller has checked
 * `localDir` ({@linkcode assertDownloadFolder}).
 */
export async function planDownload(
  files: readonly DownloadableFile[],
  localDir: string,
  options: DownloadFilesOptions = {},
): Promise<OrderedPlan> {
  const globs = filterGlobs(options.filter);
  const rules = await loadIgnoreRules(localDir);
  const selected = files
    .filter((file) => passesFilter(file.name, globs) && !rules?.ignores(file.name))
    .sort(byName);
  const settled: TransferResult[] = [];
  const candidates: TransferAction[] = [];
  // Refuse hostile names before anything touches the disk.
  const root = resolve(localDir); // once: resolving a relative folder asks for the working directory
  for (const file of selected) {
    const target = resolveLocalPath(root, file.name);
    if (target.problem !== undefined) {
      settled.push({
        name: file.name,
        status: FileTransferStatus.FAILED,
        reason: target.problem,
        size: file.size ?? 0,
        error: new QfcException(target.problem),
      });
      continue;
    }
    candidates.push(downloadAction(file, target.path));
  }
  // Hash the local files that may already be in place.
  const dirs = new DirSnapshot();
  const keep: boolean[] = new Array(candidates.length).fill(true);
  await runPool(candidates, options.concurrency ?? DEFAULT_CONCURRENCY, async (action, index) => {
    try {
      const check = await checkLocal(action, options.forceDownload ?? false, dirs);
      if (check.upToDate) {
        keep[index] = false;
        settled.push(upToDate(action));
      } else if (check.localEtag) {
        action.localEtag = check.localEtag;
      }
    } catch (error) {
      keep[index] = false;
      settled.push(failedResult(pendingResult(action), error));
    }
  }, options.signal);
  return {
    plan: { actions: candidates.filter((_, index) => keep[index]), settled },
    order: selected.map((file) => file.name),
  };
}

/** The download action of one listed file. */
export function downloadAction(file: DownloadableFile, localPath: string): TransferAction {
  return {
    kind: "download",
    name: file.name,
    localPath: resolve(localPath),
    size: file.size ?? 0,
    ...(file.size === undefined ? { sizeUnknown: true } : {}),
    etag: file.md5sum ?? file.etag,
    lastModified: file.last_modified,
    reason: "Not up to date locally",
  };
}

/** The SKIPPED result of a file whose local copy is up to date. */
export function upToDate(action: TransferAction): TransferResult {
  return {
    ...pendingResult(action),
    status: FileTransferStatus.SKIPPED,
    reason: "Local file is up to date (same etag)",
  };
}

function pendingResult(action: TransferAction): TransferResult {
  return {
    name: action.name,
    localPath: action.localPath,
    status: FileTransferStatus.PENDING,
    size: action.size,
  };
}

/**
 * Decides from the local file alone whether a download can be skipped, and the local etag to
 * send as `If-None-Match`. With `dirs`, a file missing from its directory's listing is taken as
 * absent without a `stat`. Something that is not a file in the way is an error.
 */
export async function checkLocal(
  action: TransferAction,
  force: boolean,
  dirs?: DirSnapshot,
): Promise<{ upToDate: boolean; localEtag?: string }> {
  if (dirs && !(await dirs.mayExist(action.localPath))) return { upToDate: false };
  let info;
  try {
    info = fastStat(action.localPath);
  } catch {
    return { upToDate: false };
  }
  if (!info.isFile) throw obstacle(action);
  if (force) return { upToDate: false };
  // A different size means a different etag: no need to hash (or to send If-None-Match).
  if (!action.sizeUnknown && info.size !== action.size) return { upToDate: false };
  const localEtag = await etagOfFileOfSize(action.localPath, info.size);
  return { upToDate: action.etag !== undefined && localEtag === action.etag, localEtag };
}
