/**
 * The `delete_remote` action: one project file deleted on the cloud, with
 * all its versions, or only the version the plan names. The executor retries
 * it: a 404 after a try that may have been carried out (a 5xx, a reset) means
 * that try deleted the file.
 *
 * @module
 */
import { QfcRequestException } from "../../errors.ts";
import { FileTransferStatus } from "../../types.ts";
import type { ActionOutcome, ActionRunner } from "./context.ts";
import { isRetryableRequestFailure, mayHaveBeenCarriedOut } from "./request_failures.ts";

/** Deletes one cloud file. */
export const deleteRemote: ActionRunner = {
  async attempt(ctx, action, tries): Promise<ActionOutcome> {
    ctx.tracker.start(action.name, action.size);
    try {
      const response = await ctx.core.request({
        method: "DELETE",
        path: ["files", ctx.projectId, action.name],
        headers: action.version !== undefined ? { "x-file-version": action.version } : undefined,
        signal: ctx.signal,
        // The executor retries, knowing that a 404 may be the success of an earlier try.
        retry: false,
      });
      await response.body?.cancel();
    } catch (error) {
      const gone = error instanceof QfcRequestException && error.status === 404;
      if (!gone || !tries.errors.some(mayHaveBeenCarriedOut)) throw error;
      return {
        status: FileTransferStatus.SUCCESS,
        reason: "Deleted by an earlier try (the file is gone)",
        size: action.size,
      };
    }
    return { status: FileTransferStatus.SUCCESS, size: action.size };
  },
  retryable: isRetryableRequestFailure,
};
