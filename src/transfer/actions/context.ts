/**
 * What every kind of action gets from the executor, and what the executor
 * asks of each kind.
 *
 * @module
 */
import type { RequestCore, RetryPolicy } from "../../http.ts";
import type { FileTransferType } from "../../types.ts";
import type { DirSnapshot } from "../dir_snapshot.ts";
import type { IdleWatchdog } from "../idle_watchdog.ts";
import type { TransferAction } from "../plan.ts";
import type { ProgressTracker } from "../progress.ts";
import type { SharedListing } from "../project_listing.ts";
import type { DownloadVerification, TransferResult } from "../types.ts";

/** State shared by the actions of one `executePlan` call. */
export interface ActionContext {
  core: RequestCore;
  projectId: string;
  tracker: ProgressTracker;
  /** Aborted when the caller aborts or the run stops at a failure. */
  signal: AbortSignal;
  /** Retries of one action. */
  policy: RetryPolicy;
  /** Project files, or the files of a package (job). */
  type: FileTransferType;
  /** The package job of package uploads. */
  jobId?: string;
  /** How complete downloads are checked. */
  verify: DownloadVerification;
  /** Downloads never write outside this folder (symbolic links followed), when set. */
  localDir?: string;
  /** What the target directories held before: local files, partial files of earlier runs. */
  dirs: DirSnapshot;
  /** Aborts a download body that stalls. */
  watchdog: IdleWatchdog;
  /** The listing shared by the uploads that check what the cloud holds. */
  listing: SharedListing;
  /** Directories already created and checked to be inside `localDir`. */
  createdDirs: Map<string, Promise<void>>;
}

/** The tries of one action so far. */
export interface Tries {
  /** This try's number, from 1. */
  attempt: number;
  /** The errors of the earlier tries, oldest first. */
  errors: readonly unknown[];
}

/** What the outcome of a try that did not fail is. */
export type ActionOutcome = Pick<TransferResult, "status" | "reason" | "size">;

/** One kind of action, as the executor runs it. */
export interface ActionRunner {
  /** One try; resolves with SUCCESS or SKIPPED (and the bytes moved), throws on failure. */
  attempt(ctx: ActionContext, action: TransferAction, tries: Tries): Promise<ActionOutcome>;
  /** Whether a failed try may be made again (after a backoff). */
  retryable(error: unknown): boolean;
  /** The error reported once no try is left; the last one by default. */
  failure?(action: TransferAction, error: unknown, ctx?: ActionContext): unknown;
}
