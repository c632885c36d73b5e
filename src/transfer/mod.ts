/**
 * The file-transfer engine: uploads, downloads, deletes and package downloads
 * built on the request core, each a plan carried out by `executePlan`, plus
 * the pure pieces they use (fnmatch, the local walk, name rules, the etag).
 *
 * @module
 */
export { deleteFile, deleteFiles } from "./delete.ts";
export { downloadFile, downloadFiles, downloadProject, packageDownload } from "./download.ts";
export { type ExecuteOptions, executePlan } from "./executor.ts";
export { ETAG_PART_SIZE, EtagHasher, etagOfBytes } from "./etag.ts";
export { etagOfFile } from "./file_etag.ts";
export { fnmatch, fnmatchAny } from "./fnmatch.ts";
export {
  type MultipartFileBody,
  multipartFileBody,
  type MultipartFileBodyOptions,
} from "./multipart.ts";
export type { TransferAction, TransferActionKind, TransferPlan } from "./plan.ts";
export { DEFAULT_CONCURRENCY, runPool } from "../pool.ts";
export { ProgressTracker, type TransferOperation, type TransferProgressEvent } from "./progress.ts";
export { MAX_REMOTE_NAME_LENGTH, remoteNameProblem, resolveLocalPath } from "./remote_names.ts";
export type {
  DeleteFileOptions,
  DeleteFilesOptions,
  DownloadableFile,
  DownloadFileOptions,
  DownloadFilesOptions,
  DownloadListedFilesOptions,
  DownloadVerification,
  TransferOptions,
  TransferResult,
  TransferRetryOptions,
  UploadFileOptions,
  UploadFilesOptions,
} from "./types.ts";
export { uploadFile, uploadFiles } from "./upload.ts";
export {
  isIgnoredLocalName,
  isQgisProjectFile,
  type LocalFile,
  uploadOrder,
  walkLocalFiles,
} from "./walk.ts";
export { HashCache } from "./hash_cache.ts";
export { IGNORE_FILE_NAME, IgnoreRules, loadIgnoreRules } from "./ignore_rules.ts";
export {
  checkpointGpkg,
  type CheckpointGpkgOptions,
  QfcGpkgCheckpointException,
  walHasFrames,
} from "./gpkg_checkpoint.ts";
export {
  type ConflictPreference,
  type DecideOptions,
  decideSync,
  type SyncDecision,
  type SyncDirection,
  type SyncFileState,
} from "./sync_decide.ts";
export { type MassDeletion, QfcMassDeletionException } from "./sync_mass_deletion.ts";
export {
  planSync,
  type SyncActionKind,
  type SyncConflict,
  type SyncOptions,
  type SyncPlan,
} from "./sync_plan.ts";
export { QfcFolderBoundException, type SyncBinding } from "./sync_state.ts";
export { syncProject, type SyncReport, type SyncResult, type SyncSummary } from "./sync.ts";
