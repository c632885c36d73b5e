/**
 * The entities of the test server: accounts, projects, files, tokens, jobs,
 * deltas and memberships, as plain objects that reference each other directly
 * (a {@linkcode Job} holds its {@linkcode Project} and its creator
 * {@linkcode User}), so renaming an account or team is a field update. They
 * mirror the models of opengisch/QFieldCloud `docker-app/qfieldcloud/core/models.py`.
 *
 * @module
 */
export type UserType = "person" | "organization" | "team";

/**
 * An account: a person, an organization or a team (the server keeps all three
 * in one user table, so project owners and collaborators can be any of them).
 */
export interface User {
  /** Integer primary key, as jobs' `created_by` reports it. */
  pk: number;
  /** Unique username; teams are stored as `@<org>/<team>`. */
  username: string;
  /** Account kind. */
  type: UserType;
  /** Plain password (test server only); empty for organizations and teams. */
  password: string;
  /** E-mail address, may be empty. */
  email: string;
  /** First name, may be empty. */
  firstName: string;
  /** Last name, may be empty. */
  lastName: string;
  /** Staff flag (may use staff-only endpoints). */
  isStaff: boolean;
  /** Inactive users cannot log in and their tokens fail. */
  isActive: boolean;
  /** Creation time. */
  dateJoined: Date;
  /** For organizations: the owning person. */
  owner?: User;
  /** For teams: the organization the team belongs to. */
  organization?: User;
}

/** Project types of `Project.ProjectType`. */
export type ProjectType = "regular" | "template" | "shared_datasets";

/** Project roles, highest first. */
export const PROJECT_ROLES = ["admin", "manager", "editor", "reporter", "reader"] as const;

/** A project role: `admin`, `manager`, `editor`, `reporter` or `reader`. */
export type ProjectRole = typeof PROJECT_ROLES[number];

/**
 * Where a user's project role comes from (opengisch/QFieldCloud
 * `docker-app/qfieldcloud/core/permissions_utils.py`).
 */
export type RoleOrigin =
  | "project_owner"
  | "organization_owner"
  | "organization_admin"
  | "collaborator"
  | "team_member"
  | "public";

/** One stored version of a project file. */
export interface FileVersion {
  /** Version id (UUID). */
  versionId: string;
  /** The S3-style etag, reported as `md5sum`. */
  etag: string;
  /** True hex MD5 of the content. */
  md5: string;
  /** Hex SHA-256 of the content. */
  sha256: string;
  /** Size in bytes. */
  size: number;
  /** Upload time. */
  uploadedAt: Date;
  /** Key of the content in {@linkcode ServerState.storage}. */
  storageKey: string;
  /** Who uploaded it (undefined for files added by the seeding API without a user). */
  uploadedBy?: User;
}

/** A project file and its versions. */
export interface FileEntry {
  /** Full relative path, e.g. `DCIM/photo 1.jpg`. */
  name: string;
  /** Time of the first upload (never updated by later versions). */
  uploadedAt: Date;
  /** Versions, newest first. Never empty while the entry exists. */
  versions: FileVersion[];
}

/** The seed of a project created with `seed`/`xlsform_file` (`GET projects/{id}/seed/`). */
export interface ProjectSeed {
  /** Project name in the seed. */
  name: string;
  /** `[xmin, ymin, xmax, ymax]` or null. */
  extent: number[] | null;
  /** Id of the project this one was cloned from, or null. */
  cloneFromProject: string | null;
  /** Seed settings (`schemaId`, `basemaps`, `xlsform`, ...). */
  settings: Record<string, unknown>;
  /** The uploaded XLSForm, if any. */
  xlsform: { filename: string; content: Uint8Array } | null;
}

/**
 * A project: the fields of opengisch/QFieldCloud `docker-app/qfieldcloud/project/serializers.py`
 * plus the server-side state behind them.
 */
export interface Project {
  /** Project id (UUID). */
  id: string;
  /** Name, unique per owner. */
  name: string;
  /** Owner account (person or organization). */
  owner: User;
  /** Free text. */
  description: string;
  /** Public projects give every user the `reader` role. */
  isPublic: boolean;
  /** Project type. */
  projectType: ProjectType;
  /** Featured flag (sorts first in lists). */
  isFeatured: boolean;
  /** `is_attachment_download_on_demand`. */
  isAttachmentDownloadOnDemand: boolean;
  /** QGIS file and sidecars may only be changed by admins and managers. */
  hasRestrictedProjectfiles: boolean;
  /** `overwrite_conflicts`. */
  overwriteConflicts: boolean;
  /** Creation time. */
  createdAt: Date;
  /** Last modification of the project record. */
  updatedAt: Date;
  /** Start time of the last successful package job. */
  dataLastPackagedAt: Date | null;
  /** Time of the last file upload. */
  dataLastUpdatedAt: Date | null;
  /** Time of the last upload of a restricted file. */
  restrictedDataLastUpdatedAt: Date | null;
  /** Name of the `.qgs`/`.qgz` file, or null. */
  theQgisFileName: string | null;
  /** QGIS version read from the project file's root element. */
  qgisVersion: string | null;
  /**
   * Set by the `process_projectfile` job: `layers_by_id`, `attachment_dirs`,
   * `data_dirs`, ... as the worker reports them. Null until processed.
   */
  projectDetails: Record<string, unknown> | null;
  /** Project files by name. */
  files: Map<string, FileEntry>;
  /** The uploaded thumbnail, if any. */
  thumbnail: { content: Uint8Array; contentType: string } | null;
  /** The seed, if the project was created with one. */
  seed: ProjectSeed | null;
  /** `shared_datasets_project_id`. */
  sharedDatasetsProjectId: string | null;
}

/** Client types of `AuthToken.ClientType`. */
export type ClientType =
  | "browser"
  | "cli"
  | "sdk"
  | "qfield"
  | "qfieldsync"
  | "worker"
  | "unknown";

/** An API token. */
export interface AuthToken {
  /** 100 alphanumeric characters. */
  key: string;
  /** Owner of the token. */
  user: User;
  /** Client type guessed from the User-Agent at login. */
  clientType: ClientType;
  /** User-Agent at login. */
  userAgent: string;
  /** Creation time. */
  createdAt: Date;
  /** Fixed expiry; logout sets it to the logout time. */
  expiresAt: Date;
  /** Time of the last authenticated request. */
  lastUsedAt: Date | null;
}

/** Job types. */
export type JobType = "package" | "delta_apply" | "process_projectfile" | "create_project";

/** Job statuses. */
export type JobStatus = "pending" | "queued" | "started" | "finished" | "stopped" | "failed";

/** A job (`Job` of opengisch/QFieldCloud `docker-app/qfieldcloud/core/models.py`). */
export interface Job {
  /** Job id (UUID). */
  id: string;
  /** Job type. */
  type: JobType;
  /** Current status. */
  status: JobStatus;
  /** The project the job runs on. */
  project: Project;
  /** Who triggered it (`created_by` is its pk). */
  createdBy: User;
  /** Creation time. */
  createdAt: Date;
  /** Last change. */
  updatedAt: Date;
  /** When it entered `started`. */
  startedAt: Date | null;
  /** When it finished or failed. */
  finishedAt: Date | null;
  /** Worker feedback (JSON) or null. */
  feedback: unknown;
  /** Worker log output or null. */
  output: string | null;
  /** Job-type specific data owned by the job code (package files, delta ids, ...). */
  data: Record<string, unknown>;
}

/** `Delta.Status` values (`last_status`). */
export type DeltaStatus =
  | "pending"
  | "started"
  | "applied"
  | "conflict"
  | "not_applied"
  | "error"
  | "ignored"
  | "unpermitted";

/** One pushed delta (`Delta` of opengisch/QFieldCloud `docker-app/qfieldcloud/core/models.py`). */
export interface Delta {
  /** Delta id: the `uuid` of the delta in the deltafile. */
  id: string;
  /** Id of the deltafile it came in. */
  deltafileId: string;
  /** The project. */
  project: Project;
  /** `clientId` of the deltafile. */
  clientId: string;
  /** The delta JSON as pushed. */
  content: Record<string, unknown>;
  /** Status after the last apply attempt. */
  lastStatus: DeltaStatus;
  /** Feedback of the last apply attempt. */
  lastFeedback: unknown;
  /** Primary key of the feature the delta last modified. */
  lastModifiedPk: string | null;
  /** Log output of the last apply. */
  output: string | null;
  /** Who pushed it. */
  createdBy: User;
  /** Push time. */
  createdAt: Date;
  /** Last change. */
  updatedAt: Date;
}

/** A project collaborator (a person or a team) with a role. */
export interface ProjectCollaborator {
  /** The project. */
  project: Project;
  /** The collaborator: a person or a team account. */
  collaborator: User;
  /** Role on the project. */
  role: ProjectRole;
  /** Who added it. */
  createdBy: User | null;
  /** Who last changed it. */
  updatedBy: User | null;
  /** Creation time. */
  createdAt: Date;
  /** Last change. */
  updatedAt: Date;
}

/** Organization member roles. */
export type OrganizationRole = "admin" | "member";

/** A person's membership of an organization (the owner is not a member). */
export interface OrganizationMember {
  /** The organization account. */
  organization: User;
  /** The member (a person). */
  member: User;
  /** `admin` or `member`. */
  role: OrganizationRole;
  /** Whether the membership is shown publicly. */
  isPublic: boolean;
  /** Creation time. */
  createdAt: Date;
  /** Last change. */
  updatedAt: Date;
}

/** A person's membership of a team. */
export interface TeamMember {
  /** The team account (`@org/team`). */
  team: User;
  /** The member (a person). */
  member: User;
}

/** Project status values. */
/** The stored username of a team: `@<org>/<team>`. */
export function teamUsername(organization: User, teamName: string): string {
  return `@${organization.username}/${teamName}`;
}

/** The short name of a team account (`surveyors` for `@org1/surveyors`). */
export function teamShortName(team: User): string {
  const slash = team.username.indexOf("/");
  return slash === -1 ? team.username : team.username.slice(slash + 1);
}
