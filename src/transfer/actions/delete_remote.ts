/**
 * The `delete_remote` action: one project file deleted on the cloud, with
 * all its versions, or only the version the plan names.
 *
 * @module
 */
import { FileTransferStatus } from "../../types.ts";
import type { ActionOutcome, ActionRunner } from "./context.ts";

/** Deletes one cloud file (the request core retries it: a `DELETE` is idempotent). */
export const deleteRemote: ActionRunner = {
  async attempt(ctx, action): Promise<ActionOutcome> {
    ctx.tracker.start(action.name, action.size);
    const response = await ctx.core.request({
      method: "DELETE",
      path: ["files", ctx.projectId, action.name],
      headers: action.version !== undefined ? { "x-file-version": action.version } : undefined,
      signal: ctx.signal,
    });
    await response.body?.cancel();
    return { status: FileTransferStatus.SUCCESS, size: action.size };
  },
  retryable: () => false,
};
