/**
 * The upload action: one file sent as `multipart/form-data`. A try that
 * failed after its body may have been stored (a 5xx from the proxy, a reset,
 * an answer cut off) is not blindly sent again: a listing started after the
 * failure (shared by every upload waiting to check) is looked at first, and a
 * new version (not the one listed before the first send) with the etag of the
 * bytes sent counts as uploaded, so that no extra version is made. Forced
 * uploads too: the version, not the etag alone, tells. Package files are not
 * listed, so a failed package upload is sent again blindly.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { QfcException } from "../../errors.ts";
import { FileTransferStatus, FileTransferType } from "../../types.ts";
import { childController } from "../child_abort.ts";
import { reasonOf } from "../failed_result.ts";
import { etagOfFileOfSize } from "../file_etag.ts";
import { fastStat } from "../fast_fs.ts";
import { multipartFileBody, multipartFileBytes, multipartHeaders } from "../multipart.ts";
import type { TransferAction } from "../plan.ts";
import { latestVersionOf, type ListingMark } from "../project_listing.ts";
import type { ActionContext, ActionOutcome, ActionRunner } from "./context.ts";
import { isRetryableRequestFailure, mayHaveBeenCarriedOut } from "./request_failures.ts";

/** Files up to this size are uploaded from memory; larger ones are streamed from disk. */
const SMALL_UPLOAD_SIZE = 1024 * 1024;

/** The server's answer broke off after its status arrived: the file may be stored. */
class AnswerCutOff extends QfcException {}

/** Uploads one file; before sending it again, checks whether an earlier try stored it. */
export const upload: ActionRunner = {
  async attempt(ctx, action): Promise<ActionOutcome> {
    const memo = memoOf(ctx, action);
    if (memo.checkable && memo.mayBeStored && await storedEarlier(ctx, memo)) {
      ctx.tracker.bytes(action.name, action.size, action.size);
      return {
        status: FileTransferStatus.SUCCESS,
        reason: "Stored by an earlier try (the listing shows a new version with its etag)",
        size: action.size,
      };
    }
    if (memo.checkable && memo.before === undefined) {
      // What the cloud held before anything was sent, to recognize a version a failed try made.
      const listed = (await ctx.listing.any()).get(action.name);
      memo.before = listed ? latestVersionOf(listed) : null;
    }
    memo.sent = undefined;
    try {
      return await send(ctx, action, memo);
    } catch (error) {
      memo.failedAt = ctx.listing.mark();
      // Only a send can have stored the file (not a failed listing, which sends nothing).
      if (mayHaveBeenStored(error)) memo.mayBeStored = true;
      throw error;
    }
  },
  retryable(error) {
    return error instanceof AnswerCutOff || isRetryableRequestFailure(error);
  },
};

/** What the tries of one upload know. */
interface UploadMemo {
  action: TransferAction;
  /** Project uploads only: package files are not listed, and are sent again blindly. */
  checkable: boolean;
  /** The cloud's latest version before the first send, `null` for none; unset: not known yet. */
  before?: string | null;
  /** The file as the last try found it before sending. */
  sent?: { size: number; mtimeMs: number };
  /** When the last try failed, in the run's listings. */
  failedAt?: ListingMark;
  /** Whether a send failed in a way that may have stored the file. */
  mayBeStored?: boolean;
}

const memos = new WeakMap<ActionContext, Map<TransferAction, UploadMemo>>();

function memoOf(ctx: ActionContext, action: TransferAction): UploadMemo {
  let mine = memos.get(ctx);
  if (!mine) memos.set(ctx, mine = new Map());
  let memo = mine.get(action);
  if (!memo) {
    memo = {
      action,
      checkable: ctx.type === FileTransferType.PROJECT,
      before: action.cloudVersion,
    };
    mine.set(action, memo);
  }
  return memo;
}

/**
 * The request path of uploads: the project's files, or the files of a package job.
 * Throws a `TypeError` for a package upload without a job or an unknown type.
 */
export function uploadPath(projectId: string, type: FileTransferType, jobId?: string): string[] {
  if (type === FileTransferType.PROJECT) return ["files", projectId];
  if (type === FileTransferType.PACKAGE) {
    if (!jobId) {
      throw new TypeError(
        `Cannot upload package files without a "jobId": pass the package job's id`,
      );
    }
    return ["packages", projectId, jobId, "files"];
  }
  throw new TypeError(`Unknown transfer type "${type}": use "project" or "package"`);
}

/** Whether a failed try may have reached the server and stored the file. */
function mayHaveBeenStored(error: unknown): boolean {
  return error instanceof AnswerCutOff || mayHaveBeenCarriedOut(error);
}

/**
 * Whether a listing started after the last failure shows a new version (not the one before the
 * first send) with the etag of the bytes sent. Those are the plan's etag (the body's end is held
 * back until the bytes match it), or else the file's, if it did not change since it was sent.
 */
async function storedEarlier(ctx: ActionContext, memo: UploadMemo): Promise<boolean> {
  const { action } = memo;
  const remote = (await ctx.listing.after(memo.failedAt ?? -1)).get(action.name);
  if (!remote || latestVersionOf(remote) === memo.before) return false;
  return remote.md5sum === (action.etag ?? await currentEtagIfUnchanged(memo));
}

/** The etag of the file if it is as the last try found it, else `undefined`. */
async function currentEtagIfUnchanged(memo: UploadMemo): Promise<string | undefined> {
  const now = await stat(memo.action.localPath).catch(() => undefined);
  if (!now || !memo.sent || now.size !== memo.sent.size || now.mtimeMs !== memo.sent.mtimeMs) {
    return undefined;
  }
  return await etagOfFileOfSize(memo.action.localPath, now.size);
}

/**
 * Streams one file as `multipart/form-data` part `file`, one try. The bytes are hashed as they
 * are sent and the end of the body is held back until they are the file the plan decided on
 * (its etag, when the plan knows it) and the file did not change while it was read; otherwise
 * the request is aborted before its end, so the server stores nothing, and the try fails.
 */
async function send(
  ctx: ActionContext,
  action: TransferAction,
  memo: UploadMemo,
): Promise<ActionOutcome> {
  const { localPath } = action;
  // The size may have changed since the walk; the body must announce the right one.
  const info = fastStat(localPath);
  const size = info.size;
  memo.sent = { size, mtimeMs: info.mtimeMs };
  const boundary = `----qfieldcloud-${crypto.randomUUID()}`;
  // Aborted by the run or by a change of the file. Not `AbortSignal.any`: its signals stay tied
  // to the run's signal until a full garbage collection, which made memory grow with each file.
  const changed = childController(ctx.signal);
  try {
    return await sendOnce(ctx, action, size, boundary, changed.controller);
  } finally {
    changed.dispose();
  }
}

async function sendOnce(
  ctx: ActionContext,
  action: TransferAction,
  size: number,
  boundary: string,
  changed: AbortController,
): Promise<ActionOutcome> {
  const { localPath, name } = action;
  const { tracker } = ctx;
  const body = {
    filename: name,
    size,
    boundary,
    etag: action.etag,
    onChanged: (error: Error) => changed.abort(error),
  };
  tracker.start(name, size);
  // Small files are sent from memory (one read, Content-Length framing everywhere); larger
  // ones are streamed from disk so that memory stays flat whatever their size.
  const small = size <= SMALL_UPLOAD_SIZE ? await multipartFileBytes(localPath, body) : undefined;
  const response = await ctx.core.request({
    method: "POST",
    path: [...uploadPath(ctx.projectId, ctx.type, ctx.jobId), name],
    headers: small?.headers ?? multipartHeaders(body),
    body: () => {
      if (small) return small.bytes;
      return multipartFileBody(localPath, {
        ...body,
        onBytes: (bytes) => tracker.bytes(name, bytes, size),
      }).stream;
    },
    // The executor retries, after checking whether the failed try stored the file.
    retry: false,
    // The time to send the body is unbounded; only the wait for the answer would be limited.
    timeoutMs: 0,
    // A file that changed while it was read aborts the request at once, with that error.
    signal: changed.signal,
  });
  try {
    await response.text();
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    throw new AnswerCutOff(`The answer to the upload of "${name}" broke off: ${reasonOf(error)}`, {
      cause: error,
    });
  }
  if (small) tracker.bytes(name, size, size);
  return { status: FileTransferStatus.SUCCESS, size };
}
