/**
 * A transfer plan: what to do with each file, decided before anything is
 * done. Every transfer is a plan (from the local walk, the listing and, for a
 * sync, the recorded state) carried out by `executePlan`.
 *
 * @module
 */
import type { TransferResult } from "./types.ts";

/** What an action does to one file. */
export type TransferActionKind = "upload" | "download" | "delete_remote" | "delete_local";

/**
 * One file to move or delete.
 *
 * @example Upload one file
 * ```ts
 * import type { TransferAction } from "./plan.ts";
 * const action: TransferAction = {
 *   kind: "upload",
 *   name: "DCIM/photo.jpg",
 *   localPath: "/data/survey/DCIM/photo.jpg",
 *   size: 52_000,
 *   reason: "New local file",
 * };
 * ```
 */
export interface TransferAction {
  /** What to do. */
  kind: TransferActionKind;
  /** Remote name, `/`-separated. */
  name: string;
  /**
   * Absolute local path: read for an upload, written for a download, removed for `delete_local`;
   * may be empty for `delete_remote`.
   */
  localPath: string;
  /** Bytes to move: the local size (upload), the listed size (download), the file size (deletes). */
  size: number;
  /**
   * Upload: the local etag decided at plan time (used to recognize an upload that an earlier
   * try stored). Download: the listed etag, which the downloaded bytes are checked against.
   */
  etag?: string;
  /** Why, in one line, shown in plans and results. */
  reason: string;
  /** True for a resolved conflict. */
  conflict?: boolean;
  /**
   * Download and `delete_local`: move the existing local file (and a `.gpkg`'s `-wal`/`-shm`)
   * here, under its relative name, instead of overwriting or unlinking it.
   */
  backupDir?: string;
  /**
   * Download with a `backupDir`: the stat the plan saw of the file it replaces. If the file
   * still has it (size, modification time, inode where known), it is replaced without a
   * backup; anything else there is moved to `backupDir` first.
   */
  expectedStat?: { size: number; mtimeMs: number; ino: number };
  /** Download: the size is not known (`size` is then 0); the answer's length counts instead. */
  sizeUnknown?: boolean;
  /** Download: the local file's etag, sent as `If-None-Match` (a 304 leaves the file alone). */
  localEtag?: string;
  /** Download: this version (`version_id`) instead of the latest. `delete_remote`: only this version. */
  version?: string;
  /**
   * Download: the cloud's `last_modified` (ISO 8601, or `dd.mm.YYYY HH:MM:SS UTC` as listed),
   * set as the downloaded file's modification time.
   */
  lastModified?: string;
  /**
   * Upload: the cloud's latest version of this name when the upload was decided (its
   * `version_id`, or `null` when the name was not listed). After a failed try, a version other
   * than this one with the sent bytes' etag shows that the try stored the file. Unset: the
   * executor lists the project once, before the first send of such uploads.
   */
  cloudVersion?: string | null;
}

/** What a transfer will do: one action per file to change, and the files already decided. */
export interface TransferPlan {
  /** What to do, in plan order (the executor uploads `.qgs`/`.qgz` files last). */
  actions: TransferAction[];
  /** Files decided without an action (SKIPPED, or FAILED before any request), reported as-is. */
  settled: TransferResult[];
}

/** A plan, and the remote names in the order its results are reported. */
export interface OrderedPlan {
  /** The plan. */
  plan: TransferPlan;
  /** The names in report order (see `inOrder`). */
  order: string[];
}
