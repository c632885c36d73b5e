/**
 * A TypeScript client for the QFieldCloud API, the cloud service that syncs
 * QGIS projects to QField. It runs wherever `fetch` does (Deno, Deno Deploy,
 * Node >= 20.3, Bun) and has one dependency, `ignore`, for `.qfieldcloudignore` rules.
 *
 * Every call of the official Python SDK is here in camelCase, plus what its
 * users keep writing by hand: waiting for a job, following pages, retrying
 * safely, and parallel, resumable, verified file transfers.
 *
 * @example Package a project and wait for it
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 *
 * // url and token fall back to QFIELDCLOUD_URL and QFIELDCLOUD_TOKEN.
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/" });
 * await client.login("surveyor", Deno.env.get("QFIELDCLOUD_PASSWORD")!);
 * const [project] = await client.listProjects({ name: "survey-2026" });
 * const job = await client.jobTrigger(project.id, "package");
 * await client.waitForJob(job.id, { timeoutMs: 15 * 60_000 });
 * ```
 *
 * @module
 */
export {
  type AddOrganizationMemberOptions,
  Client,
  type ClientOptions,
  type CreateProjectOptions,
  type IterateOptions,
  type JobTriggerOptions,
  type ListJobsOptions,
  type ListProjectsOptions,
  type PaginationOption,
  type PatchOrganizationMemberOptions,
  type PatchProjectOptions,
  type WaitForJobOptions,
} from "./src/client.ts";
export {
  QfcException,
  QfcJobFailedException,
  QfcRequestException,
  type QfcRequestExceptionInit,
  QfcSsoException,
  QfcTimeoutException,
} from "./src/errors.ts";
// --- authentication: tokens, sessions and single sign-on ---
export {
  type Authenticator,
  parseSetCookies,
  SessionAuth,
  type SessionAuthOptions,
  type SessionCookies,
  type SetCookie,
  TokenAuth,
} from "./src/auth.ts";
export {
  completeSsoAuthorization,
  isOAuth2Provider,
  listAuthProviders,
  type OAuth2Provider,
  pkceChallenge,
  renewSsoSession,
  type SsoAuthorization,
  type SsoLogin,
  ssoRedirectUri,
  type SsoSession,
  type SsoTokens,
  type SsoUser,
  startSsoAuthorization,
  useSsoSession,
  type UseSsoSessionOptions,
} from "./src/sso.ts";
export {
  AUTO_PAGE_SIZE,
  type FetchLike,
  type HttpMethod,
  LIST_PAGE_CONCURRENCY,
  type QueryValue,
  RequestCore,
  type RequestCoreOptions,
  type RequestOptions,
  type RetryOptions,
} from "./src/http.ts";
export { DEFAULT_PAGINATION_LIMIT, Pagination, type PaginationOptions } from "./src/pagination.ts";
export {
  type AuthProvider,
  type Collaborator,
  type Delta,
  FileTransferStatus,
  FileTransferType,
  type FileVersion,
  type Job,
  JobStatus,
  JobTypes,
  type LatestPackage,
  type LayerInfo,
  type LoginResponse,
  type LogoutResponse,
  type OrganizationMember,
  OrganizationMemberRole,
  type PackageFile,
  type Project,
  ProjectCollaboratorRole,
  type ProjectSeed,
  type RemoteFile,
  type ServerInfo,
  type ServerStatus,
  type Team,
  type TeamMember,
} from "./src/types.ts";
export { VERSION } from "./src/version.ts";
export { ETAG_PART_SIZE, EtagHasher, etagOfBytes } from "./src/transfer/etag.ts";
export { etagOfFile } from "./src/transfer/file_etag.ts";
// --- file transfers ---
export {
  acquireFolderLock,
  type FolderLock,
  type FolderLockOptions,
  QfcFolderBusyException,
} from "./src/transfer/folder_lock.ts";
export {
  deleteFile,
  deleteFiles,
  downloadFile,
  downloadFiles,
  downloadProject,
  fnmatch,
  isIgnoredLocalName,
  packageDownload,
  remoteNameProblem,
  resolveLocalPath,
  uploadFile,
  uploadFiles,
  walkLocalFiles,
} from "./src/transfer/mod.ts";
export type {
  DeleteFileOptions,
  DeleteFilesOptions,
  DownloadableFile,
  DownloadFileOptions,
  DownloadFilesOptions,
  DownloadListedFilesOptions,
  DownloadVerification,
  LocalFile,
  TransferOperation,
  TransferOptions,
  TransferProgressEvent,
  TransferResult,
  TransferRetryOptions,
  UploadFileOptions,
  UploadFilesOptions,
} from "./src/transfer/mod.ts";
// --- push, pull and sync ---
export {
  checkpointGpkg,
  decideSync,
  IGNORE_FILE_NAME,
  IgnoreRules,
  loadIgnoreRules,
  planSync,
  QfcFolderBoundException,
  QfcGpkgCheckpointException,
  QfcMassDeletionException,
  syncProject,
  walHasFrames,
} from "./src/transfer/mod.ts";
export type {
  CheckpointGpkgOptions,
  ConflictPreference,
  DecideOptions,
  MassDeletion,
  SyncActionKind,
  SyncBinding,
  SyncConflict,
  SyncDecision,
  SyncDirection,
  SyncFileState,
  SyncOptions,
  SyncPlan,
  SyncReport,
  SyncResult,
  SyncSummary,
  TransferAction,
  TransferActionKind,
  TransferPlan,
} from "./src/transfer/mod.ts";
// --- users, subscriptions and XLSForm seeds ---
export type {
  CreatedUser,
  CreateUserOptions,
  CurrentSubscription,
  SubscriptionStatus,
} from "./src/types.ts";
