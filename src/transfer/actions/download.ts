/**
 * The download action: one file fetched into its partial file (resumed with
 * `Range` when an earlier try or run left one), checked, given the cloud's
 * modification time, and renamed into place; the file it replaces is moved to
 * the backup folder when the plan says so, and a GeoPackage's old sidecars
 * never stay beside the new file.
 *
 * @module
 */
import { type FileHandle, lstat, mkdir, open, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { QfcException, QfcRequestException } from "../../errors.ts";
import { FileTransferStatus, FileTransferType } from "../../types.ts";
import { setCloudMtime } from "../cloud_mtime.ts";
import { renamePath, writeWholeFile } from "../fast_fs.ts";
import { childController } from "../child_abort.ts";
import { reasonOf } from "../failed_result.ts";
import { BodyInterrupted, fileInTheWay, obstacle, RestartDownload } from "../download_errors.ts";
import type { Watch } from "../idle_watchdog.ts";
import { mkdirInside } from "../inside_root.ts";
import {
  isGeoPackage,
  moveBack,
  type Moved,
  moveSidecarsAside,
  moveToBackup,
} from "../local_backup.ts";
import {
  claimPartial,
  type PartialFile,
  partialPrefix,
  removeStalePartials,
} from "../partial_file.ts";
import type { TransferAction } from "../plan.ts";
import { StreamingEtag } from "../streaming_etag.ts";
import { checkEtag, checksByEtag, parseEtag } from "../verification.ts";
import type { ActionContext, ActionOutcome, ActionRunner } from "./context.ts";

/** Bodies up to this size are read in one piece (a stream costs CPU per chunk, per file). */
const WHOLE_BODY_MAX = 256 * 1024;

/** Downloads one file; a broken-off body is resumed, a file that cannot be continued restarted. */
export const download: ActionRunner = {
  async attempt(ctx, action, tries): Promise<ActionOutcome> {
    const dir = dirname(action.localPath);
    if (tries.attempt === 1) await makeFolder(ctx, action, dir);
    const partial = await partialOf(ctx, action, dir);
    const temp = partial.path;
    try {
      const outcome = await fetchInto(ctx, action, partial, tries.attempt === 1);
      if (outcome.notModified) {
        await rm(temp, { force: true });
        forgetPartial(ctx, action);
        return {
          status: FileTransferStatus.SKIPPED,
          reason: "Not modified on the server (304)",
          size: action.size,
        };
      }
      await setCloudMtime(temp, action.lastModified);
      await putInPlace(action, temp);
      forgetPartial(ctx, action);
      await removeStalePartials(ctx.dirs, partial);
      return { status: FileTransferStatus.SUCCESS, size: outcome.size };
    } catch (error) {
      if (ctx.signal.aborted) {
        forgetPartial(ctx, action); // no more tries: kept on disk for the next run's resume
        throw error;
      }
      // Keep a partial file only while it can be resumed: after a broken-off body, or when
      // the server could not be reached or failed (a later run resumes it).
      const keep = resumable(action) && (error instanceof BodyInterrupted ||
        (error instanceof QfcRequestException && (error.status ?? 500) >= 500));
      if (!keep) await rm(temp, { force: true });
      throw error;
    }
  },
  retryable(error) {
    return error instanceof BodyInterrupted || error instanceof RestartDownload;
  },
  failure(action, error, ctx) {
    if (ctx) forgetPartial(ctx, action);
    return error instanceof BodyInterrupted || error instanceof RestartDownload
      ? new QfcException(`Cannot download "${action.name}": ${error.message}`, { cause: error })
      : error;
  },
};

/** Creates the file's folder (inside `localDir`); a file in the way is named. */
async function makeFolder(ctx: ActionContext, action: TransferAction, dir: string): Promise<void> {
  try {
    if (ctx.localDir !== undefined) {
      await mkdirInside(ctx.localDir, dir, ctx.createdDirs);
    } else {
      await mkdir(dir, { recursive: true });
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "EEXIST" && code !== "ENOTDIR") throw error;
    throw (await fileInTheWay(action, ctx.localDir, error)) ?? error;
  }
}

/** The partial file each download of a run writes, kept from one try to the next. */
const partials = new WeakMap<ActionContext, Map<TransferAction, PartialFile>>();

/**
 * This run's partial file for a download: on the first try, a partial of the same content left
 * by a run that is gone (taken over), or else a new one; no other run writes it.
 */
async function partialOf(
  ctx: ActionContext,
  action: TransferAction,
  dir: string,
): Promise<PartialFile> {
  let mine = partials.get(ctx);
  if (!mine) partials.set(ctx, mine = new Map());
  let partial = mine.get(action);
  if (!partial) {
    const content = action.etag ?? (action.version ? `version:${action.version}` : "");
    const prefix = partialPrefix(action.localPath, content);
    // Without an expected etag, bytes of another run cannot be verified: never taken over.
    const names = resumable(action) ? await ctx.dirs.entriesStartingWith(dir, prefix) : [];
    partial = await claimPartial(dir, prefix, names);
    mine.set(action, partial);
  }
  return partial;
}

/** Whether a partial file of this download may be continued: only with an etag to check. */
function resumable(action: TransferAction): boolean {
  return action.etag !== undefined;
}

/** The download is over (done, or no try left): its partial file is no longer being written. */
function forgetPartial(ctx: ActionContext, action: TransferAction): void {
  partials.get(ctx)?.get(action)?.release();
  partials.get(ctx)?.delete(action);
}

/**
 * Renames the complete partial file into place. The file it replaces goes to the backup
 * folder if the plan gave one; the old `-wal`/`-shm` of a GeoPackage are moved aside.
 */
async function putInPlace(action: TransferAction, temp: string): Promise<void> {
  const moved: Moved[] = [];
  if (action.backupDir !== undefined) {
    const existing = await lstat(action.localPath).catch(() => undefined);
    if (existing?.isDirectory()) throw obstacle(action);
    const expected = action.expectedStat;
    const unchanged = existing !== undefined && expected !== undefined &&
      existing.isFile() && existing.size === expected.size &&
      Math.trunc(existing.mtimeMs) === Math.trunc(expected.mtimeMs) &&
      (expected.ino === 0 || Number(existing.ino) === expected.ino);
    if (!unchanged) {
      const backup = await moveToBackup(action.localPath, action.backupDir, action.name);
      if (backup !== undefined) moved.push({ from: action.localPath, to: backup });
    }
  }
  if (isGeoPackage(action.localPath)) {
    moved.push(
      ...await moveSidecarsAside(action.localPath, action.name, "download", action.backupDir),
    );
  }
  try {
    await renamePath(temp, action.localPath);
  } catch (error) {
    // The old file and its sidecars go back together: they belong to each other.
    await moveBack(moved).catch(() => {});
    // A folder in the way (the plan looked, but it may have come since).
    const code = (error as { code?: string }).code;
    if (code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST") {
      throw obstacle(action, error);
    }
    throw error;
  }
}

/** The request path of a download. */
function downloadPath(ctx: ActionContext, action: TransferAction): string[] {
  return ctx.type === FileTransferType.PACKAGE
    ? ["packages", ctx.projectId, "latest", "files", action.name]
    : ["files", ctx.projectId, action.name];
}

/** One try: continue the partial file if any, stream the body to it, verify. */
async function fetchInto(
  ctx: ActionContext,
  action: TransferAction,
  partialFile: PartialFile,
  firstAttempt: boolean,
): Promise<{ notModified: boolean; size: number }> {
  const temp = partialFile.path;
  const listedSize = action.sizeUnknown ? undefined : action.size;
  let offset = 0;
  // On the first try, a partial file exists only if it was taken over from a run that is gone.
  // Without an expected etag, nothing is resumed: the joined bytes could not be verified.
  const partial = !resumable(action) || (firstAttempt && !partialFile.takenOver)
    ? undefined
    : await stat(temp).catch(() => undefined);
  if (partial && partial.size > 0) {
    if (listedSize !== undefined && partial.size > listedSize) {
      await rm(temp, { force: true });
    } else {
      offset = partial.size;
    }
  }
  if (offset > 0 && offset === listedSize) {
    // Complete already (killed before the rename): verify without a request.
    const feed = StreamingEtag.start(offset);
    try {
      await feed.updateFromFile(temp);
      checkEtag(action.etag, await feed.digest(), undefined, true);
    } finally {
      await feed.close(); // not `await using`: Node 20 does not parse it
    }
    return { notModified: false, size: offset };
  }
  const headers: Record<string, string> = {};
  if (offset > 0) headers["Range"] = `bytes=${offset}-`;
  if (action.localEtag) headers["If-None-Match"] = `"${action.localEtag}"`;

  const idle = childController(ctx.signal);
  let watch: Watch | undefined;
  let feed: StreamingEtag | undefined;
  let response: Response | undefined;
  try {
    response = await ctx.core.request({
      path: downloadPath(ctx, action),
      query: action.version !== undefined ? { version: action.version } : undefined,
      headers,
      signal: idle.controller.signal,
      acceptStatuses: [304, 416],
      // The transfer's retry option, not the core's: one policy for the whole download.
      retry: ctx.policy,
    });
    if (response.status === 304) {
      await response.body?.cancel();
      return { notModified: true, size: 0 };
    }
    if (response.status === 416) {
      await response.body?.cancel();
      throw new RestartDownload("the server refused to resume the partial file (416)");
    }
    let total: number | undefined;
    const length = response.headers.get("content-length");
    const bodyLength = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
    if (response.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(
        response.headers.get("content-range") ?? "",
      );
      if (!range || Number(range[1]) !== offset) {
        await response.body?.cancel();
        throw new RestartDownload("the server answered a different range");
      }
      total = range[3] === "*" ? undefined : Number(range[3]);
    } else {
      // Without a 206 the server ignored Range: start over with the full body.
      offset = 0;
      total = bodyLength;
    }
    const expectedSize = listedSize ?? total;
    const serverEtag = parseEtag(response.headers.get("etag"));
    const size = expectedSize ?? 0;
    // A resumed file joins two responses: only its etag shows they belong together.
    const byEtag = (action.etag ?? serverEtag) !== undefined &&
      (offset > 0 || checksByEtag(ctx.verify, expectedSize));
    if (byEtag) {
      feed = StreamingEtag.start(size);
      // The etag of the resumed file needs the hash of the bytes already there (re-read once).
      if (offset > 0) await feed.updateFromFile(temp, offset);
    }
    ctx.tracker.start(action.name, size, offset);

    if (!response.body) throw new BodyInterrupted("the response has no body");
    // In one piece only when the server says the body is small (a stale listing could be wrong).
    const small = bodyLength !== undefined && bodyLength <= WHOLE_BODY_MAX;
    const reader = small ? wholeBodyReader(response) : response.body.getReader();
    // Opened at the first byte, so that a body that breaks off at once leaves no empty file.
    let file: FileHandle | undefined;
    const openTemp = () => open(temp, offset > 0 ? "a" : "w");
    // A small new file arrives as one chunk: one call creates and writes it (open, write and
    // close would be three round trips to the file system thread, per file).
    const inOneCall = small && offset === 0;
    let writtenInOneCall = false;
    let written = offset;
    let ended = false;
    try {
      watch = ctx.watchdog.watch(() =>
        idle.controller.abort(
          new BodyInterrupted(`no data received for ${ctx.watchdog.limitMs / 1000} s`),
        )
      );
      while (true) {
        let chunk;
        try {
          const next = await reader.read();
          if (next.done) break;
          chunk = next.value;
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          const why = idle.controller.signal.reason instanceof BodyInterrupted
            ? idle.controller.signal.reason.message
            : reasonOf(error);
          throw new BodyInterrupted(`the transfer broke off after ${written} bytes: ${why}`, {
            cause: error,
          });
        }
        watch.touch();
        if (expectedSize !== undefined && written + chunk.byteLength > expectedSize) {
          throw new RestartDownload(`the server sent more than the expected ${expectedSize} bytes`);
        }
        // Each chunk is on disk before the next is read: a break keeps every byte received so far
        // for the resume. (Writes of 1 MiB batches beside the reads cost more CPU in the kernel.)
        if (inOneCall) {
          await writeWholeFile(temp, chunk);
          writtenInOneCall = true;
        } else {
          file ??= await openTemp();
          await writeAll(file, chunk);
        }
        written += chunk.byteLength;
        await feed?.update(chunk);
        ctx.tracker.bytes(action.name, written, size);
      }
      if (!writtenInOneCall) file ??= await openTemp(); // an empty file
      ended = true;
    } finally {
      if (!ended) await reader.cancel().catch(() => {});
      await file?.close();
    }
    if (expectedSize !== undefined && written < expectedSize) {
      throw new BodyInterrupted(`the body ended after ${written} of ${expectedSize} bytes`);
    }
    if (feed) checkEtag(action.etag, await feed.digest(), serverEtag, offset > 0);
    return { notModified: false, size: written };
  } finally {
    watch?.stop();
    // Releases the response if something failed before its body was touched.
    if (response && !response.bodyUsed) await response.body?.cancel().catch(() => {});
    idle.dispose();
    await feed?.close();
  }
}

/** A reader that returns the whole body as its one chunk. */
function wholeBodyReader(
  response: Response,
): Pick<ReadableStreamDefaultReader<Uint8Array>, "read" | "cancel"> {
  let done = false;
  return {
    async read() {
      if (done) return { done: true, value: undefined };
      done = true;
      return { done: false, value: new Uint8Array(await response.arrayBuffer()) };
    },
    async cancel() {
      if (!response.bodyUsed) await response.body?.cancel();
    },
  };
}

async function writeAll(file: FileHandle, bytes: Uint8Array) {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done, null);
    done += bytesWritten;
  }
}
