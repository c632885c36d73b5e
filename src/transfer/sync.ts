/**
 * Push, pull and sync carried out: plan (see `sync_plan.ts`), then the
 * executor, recording each file's new base in the state as it completes.
 *
 * @module
 */
import type { RequestCore } from "../http.ts";
import { FileTransferStatus } from "../types.ts";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { type ExecuteOptions, executePlan } from "./executor.ts";
import { acquireFolderLock } from "./folder_lock.ts";
import { statScanned } from "./local_scan.ts";
import type { TransferAction } from "./plan.ts";
import { QfcMassDeletionException } from "./sync_mass_deletion.ts";
import { prepareSync, type SyncActionKind, type SyncOptions, type SyncPlan } from "./sync_plan.ts";
import type { TransferResult } from "./types.ts";

/** What happened to one file in a push, pull or sync. */
export interface SyncResult extends TransferResult {
  /** `upload`, `download`, `delete_remote`, `delete_local`, or `conflict` (left alone). */
  action: SyncActionKind;
  /** Whether the file was in conflict (resolved when `action` is not `conflict`). */
  conflict: boolean;
}

/** Counts of a push, pull or sync, as the CLI's `--json` summary prints them. */
export interface SyncSummary {
  /** Files uploaded (planned, in a dry run). */
  upload: number;
  /** Files downloaded. */
  download: number;
  /** Cloud files deleted. */
  delete_remote: number;
  /** Local files deleted (moved to the backups folder). */
  delete_local: number;
  /** Conflicts left alone (not those that `prefer` resolved). */
  conflicts: number;
  /** Conflicts that `prefer` resolved (by a transfer, or by keeping one side). */
  resolved_conflicts: number;
  /** Files that failed. */
  failed: number;
  /** Files already in step. */
  unchanged: number;
}

/** What {@linkcode syncProject} did. */
export interface SyncReport {
  /** Whether it was a dry run (results `PENDING`, nothing changed). */
  dryRun: boolean;
  /** The plan carried out. */
  plan: SyncPlan;
  /** One result per listed file (files already in step are only counted). */
  results: SyncResult[];
  /** Counts per action, conflicts and failures. */
  summary: SyncSummary;
}

/**
 * Pushes, pulls or syncs a folder with a project: plans with the three-way comparison,
 * then carries the plan out, recording each file in `LOCAL_DIR/.qfieldcloud/` as soon
 * as its bytes are in place on both sides. An interrupted run loses nothing; the next
 * one carries on. Local files that are replaced or deleted (other than an unchanged file
 * the cloud still keeps as a version) are first moved to `LOCAL_DIR/.qfieldcloud/backups/`.
 *
 * Throws `QfcFolderBusyException` while another run works on the folder (one run per folder;
 * a dry run takes no lock), `QfcFolderBoundException` for a folder synced with another project, and
 * {@linkcode QfcMassDeletionException} for a plan that deletes too many files, both
 * before anything is done.
 *
 * @example Sync a folder both ways, the cloud winning conflicts
 * ```ts
 * import { RequestCore, syncProject } from "@qfieldcloud/sdk";
 * const core = new RequestCore({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const report = await syncProject(core, "8d1a2c8e-…", "./survey", {
 *   direction: "sync",
 *   prefer: "cloud",
 * });
 * console.log(report.summary);
 * ```
 */
export async function syncProject(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: SyncOptions,
): Promise<SyncReport> {
  const info = await stat(localDir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) {
    throw new TypeError(
      `Cannot sync "${localDir}", which is not a folder: give a folder (created if missing)`,
    );
  }
  // One run per folder, taken before the state is read. A dry run changes nothing (not even
  // `.qfieldcloud/`), so it takes no lock.
  if (options.dryRun === true) return await runSync(core, projectId, localDir, options);
  const lock = await acquireFolderLock(localDir, { operation: options.direction });
  try {
    return await runSync(core, projectId, localDir, options);
  } finally {
    await lock.release();
  }
}

async function runSync(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: SyncOptions,
): Promise<SyncReport> {
  const dryRun = options.dryRun === true;
  const prepared = await prepareSync(core, projectId, localDir, options);
  const { state, cache, localNames } = prepared;
  // The guard comes before anything is done, the GeoPackage checkpoints included.
  if (prepared.plan.massDeletion && !options.allowMassDelete) {
    options.onPlan?.(prepared.plan);
    throw new QfcMassDeletionException(prepared.plan.massDeletion);
  }
  const plan = dryRun ? prepared.plan : await prepared.checkpoint();
  options.onPlan?.(plan);
  if (plan.massDeletion && !options.allowMassDelete) {
    throw new QfcMassDeletionException(plan.massDeletion);
  }
  const execute: ExecuteOptions = {
    concurrency: options.concurrency,
    onProgress: options.onProgress,
    signal: options.signal,
    throwOnError: options.throwOnError,
    retry: options.retry,
    idleTimeoutMs: options.idleTimeoutMs,
    // Downloads stay in the folder (no symbolic link followed out of it), and are checked
    // against the listed etag: a file is recorded under that etag only if it has those bytes.
    localDir: resolve(localDir),
    verify: "etag",
  };
  if (dryRun) {
    const results = await executePlan(core, projectId, plan, { ...execute, dryRun: true });
    return report(plan, results, true);
  }

  const present = new Set(localNames);
  // A run with nothing to record leaves the state as it is (a no-op sync writes nothing).
  if (plan.actions.length > 0 || plan.agreed.length > 0) state.bind();
  for (const [name, etag] of plan.agreed) state.record(name, etag ?? undefined);
  const onSettled = async (action: TransferAction, result: TransferResult) => {
    if (result.status !== FileTransferStatus.SUCCESS) return;
    switch (action.kind) {
      case "upload":
        // The executor holds back the end of an upload until the bytes sent have this etag.
        state.record(action.name, action.etag);
        break;
      case "download": {
        state.record(action.name, action.etag);
        present.add(action.name);
        const file = await statScanned(action.name, action.localPath);
        if (file && action.etag) cache.remember(file, action.etag, Date.now());
        break;
      }
      case "delete_local":
        present.delete(action.name);
        state.record(action.name, undefined);
        break;
      case "delete_remote":
        state.record(action.name, undefined);
        break;
    }
  };
  try {
    const results = await executePlan(core, projectId, plan, { ...execute, onSettled });
    return report(plan, results, false);
  } finally {
    state.close();
    cache.save(present);
  }
}

function report(plan: SyncPlan, results: TransferResult[], dryRun: boolean): SyncReport {
  const actions = new Map(plan.actions.map((a) => [a.name, a]));
  const conflicts = new Map(plan.conflicts.map((c) => [c.name, c]));
  // What counts as done: a success, or (in a dry run) what would be done.
  const done = dryRun ? FileTransferStatus.PENDING : FileTransferStatus.SUCCESS;
  const summary: SyncSummary = {
    upload: 0,
    download: 0,
    delete_remote: 0,
    delete_local: 0,
    conflicts: 0,
    resolved_conflicts: 0,
    failed: 0,
    unchanged: plan.unchanged,
  };
  const synced = results.map((result): SyncResult => {
    const action = actions.get(result.name);
    const conflict = conflicts.get(result.name);
    const kind: SyncActionKind = action?.kind ?? plan.settledActions.get(result.name) ??
      (conflict ? "conflict" : plan.direction === "pull" ? "download" : "upload");
    if (kind !== "conflict" && result.status === done) summary[kind]++;
    if (conflict && !conflict.kept) summary.conflicts++;
    if (conflict?.kept || action?.conflict) summary.resolved_conflicts++;
    if (result.status === FileTransferStatus.FAILED) summary.failed++;
    return {
      ...result,
      reason: result.reason ?? action?.reason,
      action: kind,
      conflict: !!(conflict || action?.conflict),
    };
  });
  return { dryRun, plan, results: synced, summary };
}
