/**
 * The upload action: one file sent as `multipart/form-data`. A try that
 * failed after its body may have been stored (a 5xx from the proxy, a reset,
 * an answer cut off) is not blindly sent again: the listing is checked first,
 * and a file the server already holds with the same etag counts as uploaded,
 * so that no extra version is made.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { FileTransferStatus, FileTransferType } from "../../types.ts";
import { listProjectFiles, reasonOf } from "../common.ts";
import { etagOfFile } from "../file_etag.ts";
import { multipartFileBody, multipartFileBytes } from "../multipart.ts";
import type { TransferAction } from "../plan.ts";
import type { ActionContext, ActionOutcome, ActionRunner } from "./context.ts";
import { isRetryableRequestFailure, mayHaveBeenCarriedOut } from "./request_failures.ts";

/** Files up to this size are uploaded from memory; larger ones are streamed from disk. */
const SMALL_UPLOAD_SIZE = 1024 * 1024;

/** The server's answer broke off after its status arrived: the file may be stored. */
class AnswerCutOff extends Error {}

/** Uploads one file; before sending it again, checks whether an earlier try stored it. */
export const upload: ActionRunner = {
  async attempt(ctx, action, tries): Promise<ActionOutcome> {
    const checkable = ctx.type === FileTransferType.PROJECT && !action.resendBlindly;
    if (checkable && tries.errors.some(mayHaveBeenStored) && await alreadyStored(ctx, action)) {
      ctx.tracker.bytes(action.name, action.size, action.size);
      return {
        status: FileTransferStatus.SUCCESS,
        reason: "Stored by an earlier try (the listing shows the same etag)",
        size: action.size,
      };
    }
    return await send(ctx, action);
  },
  retryable(error) {
    return error instanceof AnswerCutOff || isRetryableRequestFailure(error);
  },
};

/**
 * The request path of uploads: the project's files, or the files of a package job.
 * Throws a `TypeError` for a package upload without a job or an unknown type.
 */
export function uploadPath(projectId: string, type: FileTransferType, jobId?: string): string[] {
  if (type === FileTransferType.PROJECT) return ["files", projectId];
  if (type === FileTransferType.PACKAGE) {
    if (!jobId) {
      throw new TypeError('Cannot upload package files without a "jobId" (the package job)');
    }
    return ["packages", projectId, jobId, "files"];
  }
  throw new TypeError(`Unknown transfer type "${type}": use "project" or "package"`);
}

/** Whether a failed try may have reached the server and stored the file. */
function mayHaveBeenStored(error: unknown): boolean {
  return error instanceof AnswerCutOff || mayHaveBeenCarriedOut(error);
}

/** Whether the listing shows the file with the etag of the local bytes. */
async function alreadyStored(ctx: ActionContext, action: TransferAction): Promise<boolean> {
  const listed = await listProjectFiles(ctx.core, ctx.projectId, ctx.signal);
  const remote = listed.find((file) => file.name === action.name);
  if (!remote) return false;
  return remote.md5sum === (action.etag ?? await etagOfFile(action.localPath));
}

/**
 * Streams one file as `multipart/form-data` part `file`, one try. The bytes are hashed as they
 * are sent and the end of the body is held back until they are the file the plan decided on
 * (its etag, when the plan knows it) and the file did not change while it was read; otherwise
 * the request is aborted before its end, so the server stores nothing, and the try fails.
 */
async function send(ctx: ActionContext, action: TransferAction): Promise<ActionOutcome> {
  const { localPath, name } = action;
  const { tracker } = ctx;
  // The size may have changed since the walk; the body must announce the right one.
  const size = (await stat(localPath)).size;
  const boundary = `----qfieldcloud-${crypto.randomUUID()}`;
  const changed = new AbortController();
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
    headers: small?.headers ?? multipartFileBody(localPath, body).headers,
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
    signal: AbortSignal.any([ctx.signal, changed.signal]),
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
