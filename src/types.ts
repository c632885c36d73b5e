/**
 * The enums and payloads of the QFieldCloud API. Field names are the server's
 * own (snake_case), so a payload can be passed on as JSON unchanged.
 *
 * @module
 */

/**
 * Outcome of one file in a transfer.
 *
 * @example
 * ```ts
 * import { FileTransferStatus } from "@qfieldcloud/sdk";
 * const done = (status: FileTransferStatus) => status !== FileTransferStatus.PENDING;
 * ```
 */
export const FileTransferStatus = {
  /** Not transferred yet. */
  PENDING: "PENDING",
  /** Transferred. */
  SUCCESS: "SUCCESS",
  /** Failed; the result's `error` says why. */
  FAILED: "FAILED",
  /** Not transferred on purpose (already in place, dry run); the result's `reason` says why. */
  SKIPPED: "SKIPPED",
} as const;
/** One of the {@linkcode FileTransferStatus} values. */
export type FileTransferStatus = typeof FileTransferStatus[keyof typeof FileTransferStatus];

/**
 * Which files a transfer is about: the project's own files or the files of its latest package.
 *
 * @example
 * ```ts
 * import { FileTransferType } from "@qfieldcloud/sdk";
 * console.log(FileTransferType.PACKAGE); // "package"
 * ```
 */
export const FileTransferType = {
  /** The project's files (`files/<project>/`). */
  PROJECT: "project",
  /** The files of the latest package (`packages/<project>/latest/files/`). */
  PACKAGE: "package",
} as const;
/** One of the {@linkcode FileTransferType} values. */
export type FileTransferType = typeof FileTransferType[keyof typeof FileTransferType];

/**
 * The kinds of server job.
 *
 * @example
 * ```ts
 * import { JobTypes } from "@qfieldcloud/sdk";
 * console.log(JobTypes.PACKAGE); // "package"
 * ```
 */
export const JobTypes = {
  /** Packages the project for QField. */
  PACKAGE: "package",
  /** Applies pushed deltas to the project's data. */
  APPLY_DELTAS: "delta_apply",
  /** Reads the QGIS project file (layers, thumbnail). */
  PROCESS_PROJECTFILE: "process_projectfile",
  /** Creates a project from a seed or a clone. */
  CREATE_PROJECT: "create_project",
} as const;
/** One of the {@linkcode JobTypes} values. */
export type JobTypes = typeof JobTypes[keyof typeof JobTypes];

/**
 * The states of a job; `finished`, `failed` and `stopped` are final.
 *
 * @example
 * ```ts
 * import { JobStatus } from "@qfieldcloud/sdk";
 * const final = [JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED];
 * ```
 */
export const JobStatus = {
  /** Created, not yet queued. */
  PENDING: "pending",
  /** Waiting for a worker. */
  QUEUED: "queued",
  /** Running. */
  STARTED: "started",
  /** Done successfully. */
  FINISHED: "finished",
  /** Stopped before the end. */
  STOPPED: "stopped",
  /** Done with an error; see the job's `feedback`. */
  FAILED: "failed",
} as const;
/** One of the {@linkcode JobStatus} values. */
export type JobStatus = typeof JobStatus[keyof typeof JobStatus];

/**
 * The roles a user can have on a project.
 *
 * @example
 * ```ts
 * import { ProjectCollaboratorRole } from "@qfieldcloud/sdk";
 * console.log(ProjectCollaboratorRole.EDITOR); // "editor"
 * ```
 */
export const ProjectCollaboratorRole = {
  /** Everything, including deleting the project. */
  ADMIN: "admin",
  /** Manages the project and its collaborators. */
  MANAGER: "manager",
  /** Edits data and files. */
  EDITOR: "editor",
  /** Adds data, uploads files, deletes nothing. */
  REPORTER: "reporter",
  /** Reads only. */
  READER: "reader",
} as const;
/** One of the {@linkcode ProjectCollaboratorRole} values. */
export type ProjectCollaboratorRole =
  typeof ProjectCollaboratorRole[keyof typeof ProjectCollaboratorRole];

/**
 * The roles of an organization member.
 *
 * @example
 * ```ts
 * import { OrganizationMemberRole } from "@qfieldcloud/sdk";
 * console.log(OrganizationMemberRole.MEMBER); // "member"
 * ```
 */
export const OrganizationMemberRole = {
  /** Manages the organization, its members, teams and projects. */
  ADMIN: "admin",
  /** A plain member. */
  MEMBER: "member",
} as const;
/** One of the {@linkcode OrganizationMemberRole} values. */
export type OrganizationMemberRole =
  typeof OrganizationMemberRole[keyof typeof OrganizationMemberRole];

/** The answer of `POST auth/login/`. */
export interface LoginResponse {
  /** The API token (100 characters); keep it secret. */
  token: string;
  /** When the token expires (ISO 8601); the expiry is fixed at login. */
  expires_at: string;
  /** The user's username. */
  username: string;
  /** The user type as a string: `"1"` for a person. */
  type: string;
  /** The user's e-mail address, possibly empty. */
  email: string;
  /** Absolute URL of the avatar, or null. */
  avatar_url: string | null;
  /** First name, possibly empty. */
  first_name: string;
  /** Last name, possibly empty. */
  last_name: string;
  /** Full name, possibly empty. */
  full_name: string;
}

/** The answer of `POST auth/logout/`. */
export interface LogoutResponse {
  /** `"Successfully logged out."` */
  detail: string;
}

/** The answer of `GET status/`. */
export interface ServerStatus {
  /** `"ok"` or `"error"`. */
  database: "ok" | "error";
  /** `"ok"` or `"error"`. */
  storage: "ok" | "error";
  /** Where the operator publishes incidents. */
  status_page_url?: string | null;
  /** Current incident, if any. */
  incident_message?: string | null;
  /** When the incident began (UTC). */
  incident_timestamp_utc?: string | null;
  /** Planned maintenance, if any. */
  maintenance_message?: string | null;
  /** When maintenance starts (UTC). */
  maintenance_start_timestamp_utc?: string | null;
  /** When maintenance ends (UTC). */
  maintenance_end_timestamp_utc?: string | null;
}

/** One way to sign in offered by the server. */
export interface AuthProvider {
  /** `"credentials"` or an identity provider type. */
  type: string;
  /** Identifier to send as `X-QFC-IDP-ID`. */
  id: string;
  /** Display name. */
  name: string;
}

/** The answer of `GET server/info/`. */
export interface ServerInfo {
  /** Branding of the instance. */
  whitelabel: Record<string, string | null>;
  /** Ways to sign in. */
  auth_providers: AuthProvider[];
  /** Where to sign up, if open. */
  signup_url: string | null;
}

/** A project, as `GET projects/<id>/` returns it. */
export interface Project {
  /** UUID of the project. */
  id: string;
  /** Name: letters, digits, `_`, `-`, `.`. */
  name: string;
  /** `regular`, `template` or `shared_datasets`. */
  project_type: "regular" | "template" | "shared_datasets";
  /** Username of the owner (a person or an organization). */
  owner: string;
  /** Free text. */
  description: string;
  /** The opposite of `is_public`. */
  private: boolean;
  /** Whether every user can read it. */
  is_public: boolean;
  /** Creation time (ISO 8601). */
  created_at: string;
  /** Last change of the project record (ISO 8601). */
  updated_at: string;
  /** Start of the last successful package job, or null. */
  data_last_packaged_at: string | null;
  /** Last upload or applied delta, or null. */
  data_last_updated_at: string | null;
  /** Last change to restricted files, or null. */
  restricted_data_last_updated_at: string | null;
  /** False only for template projects. */
  can_repackage: boolean;
  /** True unless the latest package is newer than the data. */
  needs_repackaging: boolean;
  /** `busy` while a job runs; `failed` without a processed QGIS file (a new project); else `ok`. */
  status: "ok" | "busy" | "failed";
  /** The caller's role; absent in the answer to a create. */
  user_role?: ProjectCollaboratorRole;
  /** Where the caller's role comes from; absent in the answer to a create. */
  user_role_origin?: string;
  /** Id of the owner's shared datasets project, or null. */
  shared_datasets_project_id: string | null;
  /** Whether this is a shared datasets project. */
  is_shared_datasets_project: boolean;
  /** Featured projects sort first. */
  is_featured: boolean;
  /** Whether QField fetches attachments on demand. */
  is_attachment_download_on_demand: boolean;
  /** Whether only managers may change the QGIS file. */
  has_restricted_projectfiles: boolean;
  /** Whether deltas overwrite conflicting changes. */
  overwrite_conflicts: boolean;
  /** Bytes stored for the project's files. */
  file_storage_bytes: number;
  /** Name of the QGIS project file, or null. */
  the_qgis_file_name: string | null;
}

/** One stored version of a project file. */
export interface FileVersion {
  /** UUID of the version; pass it to download or delete this version. */
  version_id: string;
  /** S3-style etag of this version. */
  md5sum: string;
  /** Size in bytes. */
  size: number;
  /** Upload time (ISO 8601). */
  uploaded_at: string;
  /** `v<YYYYmmddHHMMSS>` in UTC. */
  display: string;
  /** Whether this is the newest version. */
  is_latest: boolean;
  /** Upload time as `dd.mm.YYYY HH:MM:SS UTC`. */
  last_modified: string;
  /** Hex SHA-256 of the content. */
  sha256: string;
}

/** A project file as `GET files/<project>/` lists it, plus `etag` added by the client. */
export interface RemoteFile {
  /** Path relative to the project, with `/` separators. */
  name: string;
  /** Size of the latest version in bytes. */
  size: number;
  /** Time of the first upload (ISO 8601). */
  uploaded_at: string;
  /** Whether the file lies in an attachment folder (such as `DCIM`). */
  is_attachment: boolean;
  /** S3-style etag of the latest version (not a plain MD5 above 8 MiB). */
  md5sum: string;
  /** The same as `md5sum`, as the Python SDK names it. */
  etag: string;
  /** Latest version's time as `dd.mm.YYYY HH:MM:SS UTC`. */
  last_modified: string;
  /** Hex SHA-256 of the latest version. */
  sha256: string;
  /** Every kept version, newest first. */
  versions?: FileVersion[];
}

/** A server job. List items lack `feedback` and `output`. */
export interface Job {
  /** UUID of the job. */
  id: string;
  /** Creation time (ISO 8601). */
  created_at: string;
  /** Primary key of the user who created it. */
  created_by: number;
  /** End time, or null. */
  finished_at: string | null;
  /** The project the job works on. */
  project_id: string;
  /** Start time, or null. */
  started_at: string | null;
  /** Current state. */
  status: JobStatus;
  /** Kind of job. */
  type: JobTypes;
  /** Last change (ISO 8601). */
  updated_at: string;
  /** Structured report of the worker; only in a job's detail. */
  feedback?: unknown;
  /** Text output of the worker; only in a job's detail. */
  output?: string | null;
}

/** A file of the latest package. It has no `versions` and no `etag` key. */
export interface PackageFile {
  /** Path relative to the package. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Upload time (ISO 8601). */
  uploaded_at: string;
  /** Whether it is an attachment served from the project files. */
  is_attachment: boolean;
  /** S3-style etag (compare it with a local file's etag to skip a download). */
  md5sum: string;
  /** Upload time as `dd.mm.YYYY HH:MM:SS UTC`. */
  last_modified: string;
  /** Hex SHA-256. */
  sha256: string;
}

/** What packaging found out about one layer. */
export interface LayerInfo {
  /** QGIS layer id. */
  id: string;
  /** Layer name. */
  name: string;
  /** Whether QField can use the layer. */
  is_valid: boolean;
  /** `no_error` or what went wrong. */
  error_code: string;
  /** Human-readable detail of the error. */
  error_summary: string;
  /** `Vector`, `Raster`… */
  type_name?: string;
  /** Data file of the layer, if any. */
  filename?: string | null;
  /** CRS of the layer. */
  crs?: string | null;
  /** Further keys the worker reports. */
  [key: string]: unknown;
}

/** The answer of `GET packages/<project>/latest/`. */
export interface LatestPackage {
  /** Files of the package. */
  files: PackageFile[];
  /** Layer checks by layer id, or null. */
  layers: Record<string, LayerInfo> | null;
  /** Status of the package job. */
  status: JobStatus;
  /** Id of the package job. */
  package_id: string;
  /** When the package was made (UTC). */
  packaged_at: string | null;
  /** The data's last change when it was packaged (UTC). */
  data_last_updated_at: string | null;
}

/** A delta pushed to a project. */
export interface Delta {
  /** UUID of the delta. */
  id: string;
  /** UUID of the delta file it came in. */
  deltafile_id: string;
  /** Username of who pushed it. */
  created_by: string;
  /** Push time (ISO 8601). */
  created_at: string;
  /** Last change (ISO 8601). */
  updated_at: string;
  /** `STATUS_PENDING`, `STATUS_APPLIED`, `STATUS_CONFLICT`… */
  status: string;
  /** What applying it produced. */
  output: unknown;
  /** Status of the last apply attempt. */
  last_status: string | null;
  /** Feedback of the last apply attempt. */
  last_feedback: unknown;
  /** The delta itself. */
  content: Record<string, unknown>;
}

/** A project collaborator. */
export interface Collaborator {
  /** The project. */
  project_id: string;
  /** Username of the person or team. */
  collaborator: string;
  /** Their role on the project. */
  role: ProjectCollaboratorRole;
  /** Who added them. */
  created_by: string;
  /** Who changed them last. */
  updated_by: string;
  /** When added (ISO 8601). */
  created_at: string;
  /** Last change (ISO 8601). */
  updated_at: string;
}

/** A member of an organization. */
export interface OrganizationMember {
  /** The organization. */
  organization: string;
  /** Username of the member. */
  member: string;
  /** Their role. */
  role: OrganizationMemberRole;
  /** Whether the membership is shown publicly. */
  is_public: boolean;
}

/** A team of an organization. */
export interface Team {
  /** Team name (without the organization). */
  team: string;
  /** The organization. */
  organization: string;
  /** Usernames of the members. */
  members: string[];
}

/** A member of a team. */
export interface TeamMember {
  /** Username. */
  member: string;
}

/** How a project was seeded (`GET projects/<id>/seed/`). */
export interface ProjectSeed {
  /** The project. */
  project: string;
  /** Project name. */
  name: string;
  /** `[xmin, ymin, xmax, ymax]` or null. */
  extent: number[] | null;
  /** Project it was cloned from, or null. */
  clone_from_project: string | null;
  /** Seed settings (`schemaId`, `basemaps`, `xlsform`). */
  settings: Record<string, unknown>;
  /** URL of the XLSForm file, or null. */
  xlsform_file: string | null;
  /** Always `EPSG:3857`. */
  crs: string;
}

/**
 * The user `POST users/` created (staff only). The server's serializer was not
 * in the public source read for this client; `username` and `email` are what
 * the official SDK's tests show, the other fields may or may not be present.
 */
export interface CreatedUser {
  /** The new username. */
  username: string;
  /** The e-mail address, may be empty. */
  email: string;
  /** Account type (`1` = person), if the server sends it. */
  type?: number;
  /** First name, if the server sends it. */
  first_name?: string;
  /** Last name, if the server sends it. */
  last_name?: string;
}

/**
 * Status of a subscription (`subscription/models.py::SubscriptionStatus`):
 * the account may work while it is `active_paid` or `active_past_due`.
 */
export type SubscriptionStatus =
  | "inactive_draft"
  | "inactive_draft_expired"
  | "inactive_requested_create"
  | "inactive_awaits_payment"
  | "active_paid"
  | "active_past_due"
  | "inactive_cancelled";

/**
 * The current subscription of a user or organization
 * (`GET subscriptions/<account>/current/`, `CurrentSubscriptionSerializer`).
 */
export interface CurrentSubscription {
  /** Id of the subscription. */
  uuid: string;
  /** Name of the plan, for people. */
  plan_display_name: string;
  /** Code of the plan, e.g. `community`. */
  plan_code: string;
  /** Whether the plan is a paid (premium) one. */
  plan_is_premium: boolean;
  /** Status; see {@linkcode SubscriptionStatus}. */
  status: SubscriptionStatus | (string & Record<never, never>);
  /** Start of the subscription (ISO 8601). */
  active_since: string | null;
  /** End of the subscription (ISO 8601), or null when open-ended. */
  active_until: string | null;
  /** Bytes the account's projects use (all file versions). */
  storage_used_bytes: number;
  /** Bytes the plan and extra storage packages allow. */
  active_storage_total_bytes: number;
}

/** Options of `Client.createUser`. */
export interface CreateUserOptions {
  /** E-mail address of the new user; not sent when omitted. */
  email?: string;
  /**
   * Treat "this user already exists" (HTTP 409) as success: `createUser`
   * then resolves with `null` instead of throwing.
   */
  existOk?: boolean;
}
