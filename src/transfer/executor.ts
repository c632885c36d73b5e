/**
 * The one executor of transfer plans: the pool, retries, progress, results,
 * `throwOnError` and abort, for every kind of action.
 *
 * @module
 */
import { delay } from "../delay.ts";
import { QfcException, QfcRequestException } from "../errors.ts";
import { backoffMs, type RequestCore, resolveRetryPolicy } from "../http.ts";
import { FileTransferStatus, FileTransferType } from "../types.ts";
import type { ActionContext, ActionRunner } from "./actions/context.ts";
import { deleteLocal } from "./actions/delete_local.ts";
import { deleteRemote } from "./actions/delete_remote.ts";
import { download } from "./actions/download.ts";
import { upload, uploadPath } from "./actions/upload.ts";
import { childController } from "./child_abort.ts";
import { failedResult } from "./failed_result.ts";
import { DirSnapshot } from "./dir_snapshot.ts";
import { IdleWatchdog } from "./idle_watchdog.ts";
import type { TransferAction, TransferActionKind, TransferPlan } from "./plan.ts";
import { DEFAULT_CONCURRENCY, runPool } from "../pool.ts";
import { ProgressTracker, type TransferOperation } from "./progress.ts";
import { SharedListing } from "./project_listing.ts";
import { verificationOf } from "./verification.ts";
import { isQgisProjectFile } from "./walk.ts";
import type { DownloadVerification, TransferOptions, TransferResult } from "./types.ts";

/** A download stalls out when no byte arrives for this long; it is then retried (resumed). */
const BODY_IDLE_TIMEOUT_MS = 60_000;

const RUNNERS: Record<TransferActionKind, ActionRunner> = {
  upload,
  download,
  delete_remote: deleteRemote,
  delete_local: deleteLocal,
};

const DRY_RUN_REASONS: Record<TransferActionKind, string> = {
  upload: "Would be uploaded (dry run)",
  download: "Would be downloaded (dry run)",
  delete_remote: "Would be deleted (dry run)",
  delete_local: "Would be deleted locally (dry run)",
};

/** Options of {@linkcode executePlan}. */
export interface ExecuteOptions extends TransferOptions {
  /** Uploads: `project` (default) or `package` files; downloads: project or latest package files. */
  type?: FileTransferType;
  /** The package job, required for uploads of `type: "package"`. */
  jobId?: string;
  /** How complete downloads are checked: `"etag"` (default) or `"size"`. */
  verify?: DownloadVerification;
  /**
   * The folder the actions work in: no download writes and no `delete_local` removes outside it
   * (symbolic links followed), and it is created if missing. Without it, each download's folder
   * is simply created.
   */
  localDir?: string;
  /** What progress events say the call does; by default from the kinds of the actions. */
  operation?: TransferOperation;
  /**
   * Called once per action that finished, so that a caller can record state as each file
   * completes: with its result, SUCCESS, FAILED, or SKIPPED (a download answered 304). Awaited
   * before the action counts as done (its `file-end` progress event). The calls never overlap,
   * whatever the concurrency: each starts once the one before it has settled, in the order
   * the actions finished. Never called in a dry run, for the plan's `settled` results, or for
   * an action cut off by an abort or by the run stopping at another action's failure. If it
   * throws, the run stops and throws that error.
   */
  onSettled?: (action: TransferAction, result: TransferResult) => void | Promise<void>;
}

/**
 * Carries out a plan: each action with retries, `concurrency` at a time (QGIS project uploads
 * last, since they start a server job), reporting progress. Resolves with the plan's settled
 * results followed by one result per action, in plan order.
 *
 * Failures: without `throwOnError`, a failed action is a FAILED result and the others go on;
 * with it, the first failure (or a FAILED settled result, before anything is done) stops the
 * run and is thrown. An upload refused for being over quota (402) always stops the run. An
 * abort stops the run and throws the signal's reason; partial downloads are kept for a resume.
 *
 * @example Upload one file and delete another
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { executePlan } from "./executor.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const results = await executePlan(client.core, projectId, {
 *   actions: [
 *     { kind: "upload", name: "a.txt", localPath: "/data/a.txt", size: 3, reason: "New" },
 *     { kind: "delete_remote", name: "old.txt", localPath: "/data/old.txt", size: 9, reason: "Gone" },
 *   ],
 *   settled: [],
 * });
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param plan The actions and the settled results.
 * @param options Concurrency, progress, dry run, throwOnError, abort signal, onSettled...
 */
export async function executePlan(
  core: RequestCore,
  projectId: string,
  plan: TransferPlan,
  options: ExecuteOptions = {},
): Promise<TransferResult[]> {
  const verify = verificationOf(options.verify);
  const idleTimeoutMs = options.idleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS;
  if (!(idleTimeoutMs > 0 && Number.isFinite(idleTimeoutMs))) {
    throw new RangeError(
      `Cannot use idleTimeoutMs "${options.idleTimeoutMs}": it must be a positive number of milliseconds`,
    );
  }
  const type = options.type ?? FileTransferType.PROJECT;
  if (plan.actions.some((action) => action.kind === "upload")) {
    uploadPath(projectId, type, options.jobId); // refuse a bad target before anything
  }
  if (options.throwOnError) {
    const refused = plan.settled.find((r) => r.status === FileTransferStatus.FAILED);
    if (refused) throw refused.error ?? new QfcException(refused.reason ?? "Failed");
  }
  const tracker = new ProgressTracker(
    options.operation ?? operationOf(plan.actions),
    options.onProgress,
  );
  const actions = plan.actions;
  const results: TransferResult[] = actions.map((action) => ({
    name: action.name,
    ...(action.localPath ? { localPath: action.localPath } : {}),
    status: FileTransferStatus.PENDING,
    size: action.size,
  }));
  const all = () => [...plan.settled, ...results];
  tracker.plan(plan.settled.length + actions.length, sumSizes(actions));
  for (const result of plan.settled) tracker.end(result);
  if (options.dryRun) {
    actions.forEach((action, index) => {
      results[index] = { ...results[index], reason: DRY_RUN_REASONS[action.kind] };
      tracker.end(results[index]);
    });
    return all();
  }

  const stop = childController(options.signal);
  const ctx: ActionContext = {
    core,
    projectId,
    tracker,
    signal: stop.controller.signal,
    policy: options.retry ? resolveRetryPolicy(options.retry) : core.retryPolicy,
    type,
    jobId: options.jobId,
    verify,
    localDir: options.localDir,
    dirs: new DirSnapshot(),
    watchdog: new IdleWatchdog(idleTimeoutMs),
    listing: new SharedListing(core, projectId, stop.controller.signal),
    createdDirs: new Map(),
  };
  let stopped = false;
  const stopWith = (error: unknown): never => {
    stopped = true;
    stop.controller.abort(error);
    throw error;
  };
  // One call at a time: a caller's state store need not handle overlapping writes.
  let settling: Promise<void> = Promise.resolve();
  const settle = (action: TransferAction, result: TransferResult): Promise<void> => {
    const call = settling.then(() => options.onSettled?.(action, result));
    settling = call.catch(() => {});
    return call;
  };
  const run = async (index: number) => {
    const action = actions[index];
    let failure: unknown;
    try {
      const outcome = await withRetries(ctx, action, RUNNERS[action.kind]);
      results[index] = { ...results[index], ...outcome };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (stopped) throw ctx.signal.reason; // another action stopped the run
      results[index] = failedResult(results[index], error);
      if (options.throwOnError || isFatal(error)) failure = error;
    }
    try {
      await settle(action, results[index]);
    } catch (error) {
      stopWith(error);
    }
    if (failure !== undefined) stopWith(failure);
    tracker.end(results[index]);
  };
  try {
    // The QGIS project file last: its upload makes the server process the project.
    const isLast = (a: TransferAction) => a.kind === "upload" && isQgisProjectFile(a.name);
    const indexes = actions.map((_, index) => index);
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    await runPool(indexes.filter((i) => !isLast(actions[i])), concurrency, run, ctx.signal);
    await runPool(indexes.filter((i) => isLast(actions[i])), concurrency, run, ctx.signal);
  } finally {
    stop.dispose();
  }
  return all();
}

/** Runs the tries of one action, with backoff between them. */
async function withRetries(ctx: ActionContext, action: TransferAction, runner: ActionRunner) {
  const errors: unknown[] = [];
  for (let attempt = 1;; attempt++) {
    try {
      return await runner.attempt(ctx, action, { attempt, errors });
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
      errors.push(error);
      if (!runner.retryable(error) || attempt >= ctx.policy.attempts) {
        throw runner.failure ? runner.failure(action, error, ctx) : error;
      }
      await delay(backoffMs(ctx.policy, attempt), ctx.signal);
    }
  }
}

/** An error that stops the whole run, whatever `throwOnError` says: over quota. */
function isFatal(error: unknown): boolean {
  return error instanceof QfcRequestException && error.status === 402;
}

function operationOf(actions: readonly TransferAction[]): TransferOperation {
  const kinds = new Set(actions.map((a) => a.kind));
  if (kinds.size !== 1) return kinds.size === 0 ? "download" : "sync";
  const [kind] = kinds;
  return kind === "upload" ? "upload" : kind === "download" ? "download" : "delete";
}

function sumSizes(actions: readonly TransferAction[]): number {
  return actions.reduce((sum, a) => sum + a.size, 0);
}
