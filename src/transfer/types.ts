/**
 * Results and options of the file-transfer functions.
 *
 * @module
 */
import type { RetryOptions } from "../http.ts";
import type { FileTransferStatus, FileTransferType } from "../types.ts";
import type { IgnoreRules } from "./ignore_rules.ts";

/**
 * What happened to one file in an upload, download or delete.
 *
 * @example Report failures
 * ```ts
 * import type { TransferResult } from "./types.ts";
 * function report(results: TransferResult[]) {
 *   for (const r of results) if (r.status === "FAILED") console.error(r.name, r.reason);
 * }
 * ```
 */
export interface TransferResult {
  /** Remote name, `/`-separated (such as `DCIM/photo.jpg`). */
  name: string;
  /** The local file read or written, when there is one. */
  localPath?: string;
  /**
   * `SUCCESS`, `FAILED`, `SKIPPED` (nothing to do; `reason` says why) or, in a dry run,
   * `PENDING` (would be transferred).
   */
  status: FileTransferStatus;
  /** Why the file was skipped or failed, or what a dry run would do, in one line. */
  reason?: string;
  /** Size of the file in bytes (the local size for uploads, the listed size for downloads). */
  size: number;
  /** The error of a failed file. */
  error?: Error;
}

/**
 * Backoff for retrying a file whose body transfer broke off (network error, truncated body):
 * the same fields and defaults as the request core's {@linkcode RetryOptions}.
 */
export type TransferRetryOptions = RetryOptions;

/** Options every multi-file transfer takes. */
export interface TransferOptions {
  /**
   * Stop at the first file that fails and throw its error (transfers in flight are aborted).
   * Default false: failed files are reported in the results and the others continue.
   */
  throwOnError?: boolean;
  /** Files transferred at the same time. Default 8. */
  concurrency?: number;
  /** Receives progress events (per-file and total bytes, file counts). */
  onProgress?: (event: TransferProgressEvent) => void;
  /** Aborts the transfer; partial downloads are kept for a later resume. */
  signal?: AbortSignal;
  /**
   * Plan only: list and compare, but transfer nothing. Files that would be transferred come
   * back `PENDING`, files already in place `SKIPPED`.
   */
  dryRun?: boolean;
  /** Retries of a file whose body transfer broke off. */
  retry?: TransferRetryOptions;
  /**
   * A download body that brings no byte for this long (milliseconds, default 60 000) is given
   * up and resumed with `Range`, counting as one try.
   */
  idleTimeoutMs?: number;
}

/** Options of {@linkcode uploadFiles}. */
export interface UploadFilesOptions extends TransferOptions {
  /**
   * Only files whose remote name matches this glob (or one of these globs), with Python
   * `fnmatch` semantics: `*` also matches `/`. Default: every file.
   */
  filter?: string | readonly string[];
  /** Upload even the files whose etag equals the remote one. Implied for package uploads. */
  force?: boolean;
  /** `project` (default) or `package` (a worker uploading the files of a package job). */
  type?: FileTransferType;
  /** The package job, required when `type` is `package`. */
  jobId?: string;
}

/** Options of {@linkcode uploadFile}. */
export interface UploadFileOptions {
  /** `project` (default) or `package`. */
  type?: FileTransferType;
  /** The package job, required when `type` is `package`. */
  jobId?: string;
  /** Receives progress events. */
  onProgress?: (event: TransferProgressEvent) => void;
  /** Aborts the upload. */
  signal?: AbortSignal;
  /** Check the name and the local file, send nothing; the result is `PENDING`. */
  dryRun?: boolean;
  /** Retries of the upload after a network error or a 5xx; the request core's policy by default. */
  retry?: TransferRetryOptions;
}

/**
 * How a complete download is checked before it is renamed into place:
 * - `"etag"` (default): every file by its listed etag, hashed on worker threads while the bytes
 *   arrive. A mismatch is retried, then the file is FAILED; it never replaces the local file.
 * - `"size"`: every file by its size alone (an opt-out, for a link so fast that hashing would
 *   set the pace).
 *
 * A resumed download is always checked by its etag, and so is a file whose size is not known,
 * whenever an etag is known (listed, given, or sent by the server).
 */
export type DownloadVerification = "etag" | "size";

/** Options of {@linkcode downloadProject}, {@linkcode downloadFiles} and {@linkcode packageDownload}. */
export interface DownloadFilesOptions extends TransferOptions {
  /**
   * Only files whose remote name matches this glob (or one of these globs), with Python
   * `fnmatch` semantics: `*` also matches `/`. Default: every file.
   */
  filter?: string | readonly string[];
  /** Download even the files whose local etag equals the listed one (no `If-None-Match`). */
  forceDownload?: boolean;
  /** How complete downloads are checked: `"etag"` (default) or `"size"`. */
  verify?: DownloadVerification;
}

/** Options of {@linkcode downloadFiles}. */
export interface DownloadListedFilesOptions extends DownloadFilesOptions {
  /** Whether the files are project files (default) or files of the latest package. */
  type?: FileTransferType;
}

/** A file to download, as `listRemoteFiles` or `packageLatest` lists it. */
export interface DownloadableFile {
  /** Remote name. Untrusted: checked before anything is written. */
  name: string;
  /** Listed size in bytes, checked after the download. */
  size?: number;
  /** Listed S3-style etag, checked after the download. */
  md5sum?: string;
  /** Same as `md5sum` (the SDK's name); used when `md5sum` is missing. */
  etag?: string;
  /**
   * The cloud's modification time (`dd.mm.YYYY HH:MM:SS UTC` as listed, or ISO 8601), given to
   * the downloaded file.
   */
  last_modified?: string;
}

/** Options of {@linkcode downloadFile}. */
export interface DownloadFileOptions {
  /** `project` (default) or `package`. */
  type?: FileTransferType;
  /** Download this version (`version_id`) instead of the latest one; project files only. */
  version?: string;
  /** The expected etag (`md5sum`): skips the request when the local file has it, and checks the download. */
  etag?: string;
  /** The expected size in bytes, checked after the download. */
  size?: number;
  /** Download even when the local file is up to date. */
  forceDownload?: boolean;
  /** How the complete download is checked: `"etag"` (default) or `"size"`. */
  verify?: DownloadVerification;
  /** Receives progress events. */
  onProgress?: (event: TransferProgressEvent) => void;
  /** Aborts the download; the partial file is kept for a later resume. */
  signal?: AbortSignal;
  /** Check only; the result is `PENDING` or `SKIPPED`. */
  dryRun?: boolean;
  /** Retries of a broken-off body transfer. */
  retry?: TransferRetryOptions;
  /** A body that brings no byte for this long (ms, default 60 000) is resumed with `Range`. */
  idleTimeoutMs?: number;
}

/** Options of {@linkcode deleteFiles}. */
export interface DeleteFilesOptions {
  /**
   * Stop at the first file that fails to delete and throw its error. Default false: failures
   * are reported in the results and the other files are still deleted.
   */
  throwOnError?: boolean;
  /** List what would be deleted (`PENDING`), delete nothing. */
  dryRun?: boolean;
  /** Deletions sent at the same time. Default 8. */
  concurrency?: number;
  /** Receives an event per deleted file. */
  onProgress?: (event: TransferProgressEvent) => void;
  /** Aborts the deletion. */
  signal?: AbortSignal;
  /**
   * Leave alone the files these rules ignore (a project folder's `.qfieldcloudignore`, read
   * with `loadIgnoreRules`); they come back `SKIPPED`.
   */
  ignore?: IgnoreRules;
}

/** Options of {@linkcode deleteFile}. */
export interface DeleteFileOptions {
  /** Delete only this version (`version_id`); without it, the file and all its versions go. */
  versionId?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** What a transfer does (`sync`: a plan that mixes kinds of actions). */
export type TransferOperation = "upload" | "download" | "delete" | "sync";

/**
 * One progress event. Every event carries the totals of the whole call, so a
 * display can be redrawn from the latest event alone.
 *
 * - `plan`: the files are known and compared; `filesTotal`/`totalSize` are set.
 * - `file-start`: a file starts (a resumed download starts at `fileBytes > 0`).
 * - `file-bytes`: more bytes of a file moved.
 * - `file-end`: a file is done; `result` says how.
 *
 * @example Print a line per finished file
 * ```ts
 * import type { TransferProgressEvent } from "./types.ts";
 * const onProgress = (e: TransferProgressEvent) => {
 *   if (e.type === "file-end") console.log(`${e.filesDone}/${e.filesTotal} ${e.name}`);
 * };
 * ```
 */
export interface TransferProgressEvent {
  /** The kind of event. */
  type: "plan" | "file-start" | "file-bytes" | "file-end";
  /** What the call does. */
  operation: TransferOperation;
  /** The file concerned; absent for `plan`. */
  name?: string;
  /** Bytes of this file done so far. */
  fileBytes: number;
  /** Size of this file in bytes (0 when unknown). */
  fileSize: number;
  /** Bytes moved so far in the whole call, including resumed bytes. */
  totalBytes: number;
  /** Bytes to move in the whole call (files already in place excluded). */
  totalSize: number;
  /** Files finished (transferred, skipped or failed). */
  filesDone: number;
  /** Files considered in the whole call. */
  filesTotal: number;
  /** The outcome, on `file-end`. */
  result?: TransferResult;
}
