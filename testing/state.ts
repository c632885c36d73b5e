/**
 * The in-memory model of the test server: accounts, projects, files, tokens,
 * jobs, deltas and memberships, plus the role resolution and the computed
 * project fields of QFieldCloud (opengisch/QFieldCloud `docker-app/qfieldcloud/`
 * `core/permissions_utils.py` and `project/serializers.py`).
 *
 * How route code uses it:
 * - Every route handler gets the one {@linkcode ServerState} as `ctx.state`.
 *   Entities are plain objects that reference each other directly (a
 *   {@linkcode Job} holds its {@linkcode Project} and its creator
 *   {@linkcode User}), so renaming an account or team is a field update.
 * - Look things up with the small methods (`findUser`, `findProject`,
 *   `jobsOfProject`, `collaboratorsOf`, `membersOf`, `teamsOf`, ...), mutate
 *   entities in place, and add to the Maps/arrays directly when no method
 *   fits. Take timestamps from {@linkcode ServerState.now} so that creation
 *   order and time order agree.
 * - Access rules: {@linkcode projectRole} gives the caller's role on a project
 *   (or `undefined`); {@linkcode roleAtLeast} compares roles.
 * - JSON shapes are built in the route files; the date formats shared by all
 *   of them are {@linkcode formatDateTime}, {@linkcode formatUtcZ} and
 *   {@linkcode formatLastModified}.
 *
 * @module
 */
import { BlobStorage } from "./storage.ts";

/** Account kinds (`User.Type` in the server: 1 person, 2 organization, 3 team). */
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
export type ProjectStatus = "ok" | "busy" | "failed";

/** Options of {@linkcode ServerState}. */
export interface ServerStateOptions {
  /** Token lifetime in hours (default 720). */
  tokenExpirationHours?: number;
  /** File versions kept per file (default 10). */
  keepVersions?: number;
  /** Storage quota per owner in bytes (default unlimited). */
  storageQuotaBytes?: number;
  /** Total time a job takes from pending to finished, in seconds (default 0.2). */
  jobSeconds?: number;
  /** Blob storage (default: in memory). */
  storage?: BlobStorage;
}

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/**
 * A random alphanumeric string, as Django's `get_random_string`.
 *
 * @example
 * ```ts
 * import { randomAlphanumeric } from "./state.ts";
 * randomAlphanumeric(100).length; // 100
 * ```
 */
export function randomAlphanumeric(length: number): string {
  const out: string[] = [];
  const bytes = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(bytes);
    for (const b of bytes) {
      // 248 = 4 * 62: reject the tail to keep the distribution uniform.
      if (b < 248 && out.length < length) out.push(ALNUM[b % 62]);
    }
  }
  return out.join("");
}

/**
 * Guesses a token's client type from a User-Agent, as `AuthToken.guess_client_type`.
 *
 * @example
 * ```ts
 * import { guessClientType } from "./state.ts";
 * guessClientType("sdk|py|0.16.0 python-requests|2.32.3"); // "sdk"
 * ```
 */
export function guessClientType(userAgent: string | null | undefined): ClientType {
  const ua = userAgent ?? "";
  if (ua.startsWith("sdk|")) return "sdk";
  if (ua.startsWith("cli|")) return "cli";
  if (ua.startsWith("qfield|")) return "qfield";
  if (/QGIS\/[34]\d{4}/.test(ua)) return "qfieldsync";
  if (ua.startsWith("Mozilla/5.0")) return "browser";
  return "unknown";
}

/** Client types for which a new login expires the older tokens of the same type. */
const SINGLE_TOKEN_CLIENTS: ReadonlySet<ClientType> = new Set(["qfield", "qfieldsync", "unknown"]);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * Formats a datetime as DRF does in UTC: ISO-8601 with microseconds (omitted
 * when zero, like Python's `isoformat`) and `Z`.
 *
 * @example
 * ```ts
 * import { formatDateTime } from "./state.ts";
 * formatDateTime(new Date("2026-08-21T17:37:14.123Z")); // "2026-08-21T17:37:14.123000Z"
 * ```
 */
export function formatDateTime(date: Date): string {
  const base = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  const ms = date.getUTCMilliseconds();
  return ms === 0 ? `${base}Z` : `${base}.${pad(ms, 3)}000Z`;
}

/**
 * Formats a nullable datetime with {@linkcode formatDateTime}.
 *
 * @example
 * ```ts
 * import { formatNullableDateTime } from "./state.ts";
 * formatNullableDateTime(null); // null
 * ```
 */
export function formatNullableDateTime(date: Date | null | undefined): string | null {
  return date ? formatDateTime(date) : null;
}

/**
 * Formats a datetime placed in a hand-built dict (`packages/latest`, `status/`):
 * UTC with `Z`. Same text as {@linkcode formatDateTime}.
 *
 * @example
 * ```ts
 * import { formatUtcZ } from "./state.ts";
 * formatUtcZ(new Date("2026-08-21T17:37:14Z")); // "2026-08-21T17:37:14Z"
 * ```
 */
export function formatUtcZ(date: Date): string {
  return formatDateTime(date);
}

/**
 * Formats a file's `last_modified`: `"%d.%m.%Y %H:%M:%S UTC"`.
 *
 * @example
 * ```ts
 * import { formatLastModified } from "./state.ts";
 * formatLastModified(new Date("2026-08-21T17:37:14Z")); // "21.08.2026 17:37:14 UTC"
 * ```
 */
export function formatLastModified(date: Date): string {
  return `${pad(date.getUTCDate())}.${pad(date.getUTCMonth() + 1)}.${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC`;
}

/**
 * Formats a file version's `display`: `"vYYYYmmddHHMMSS"` in UTC.
 *
 * @example
 * ```ts
 * import { formatVersionDisplay } from "./state.ts";
 * formatVersionDisplay(new Date("2026-08-21T17:37:14Z")); // "v20260821173714"
 * ```
 */
export function formatVersionDisplay(date: Date): string {
  return `v${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
    `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
}

/**
 * Whether a role grants at least the rights of another (admin > manager >
 * editor > reporter > reader).
 *
 * @example
 * ```ts
 * import { roleAtLeast } from "./state.ts";
 * roleAtLeast("editor", "reporter"); // true
 * ```
 */
export function roleAtLeast(role: ProjectRole, minimum: ProjectRole): boolean {
  return PROJECT_ROLES.indexOf(role) <= PROJECT_ROLES.indexOf(minimum);
}

/** Whether a string is a project role. */
export function isProjectRole(value: unknown): value is ProjectRole {
  return typeof value === "string" && (PROJECT_ROLES as readonly string[]).includes(value);
}

/** A resolved project role and its origin. */
export interface RoleResolution {
  /** The role. */
  role: ProjectRole;
  /** Where it comes from. */
  origin: RoleOrigin;
}

/**
 * Resolves a user's role on a project as `ProjectQueryset.for_user` does (opengisch/QFieldCloud
 * `docker-app/qfieldcloud/core/permissions_utils.py`): project owner, organization owner,
 * organization admin,
 * direct collaborator, team member (highest role among the user's teams),
 * then `reader` through a public project. Undefined when the user has none.
 *
 * @example
 * ```ts
 * import { projectRole, ServerState } from "./state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * const p = state.addProject({ name: "p1", owner: alice });
 * projectRole(state, alice, p); // { role: "admin", origin: "project_owner" }
 * ```
 */
export function projectRole(
  state: ServerState,
  user: User | undefined,
  project: Project,
): RoleResolution | undefined {
  if (user && user.type === "person" && user.isActive) {
    if (project.owner === user) return { role: "admin", origin: "project_owner" };
    if (project.owner.type === "organization") {
      if (project.owner.owner === user) return { role: "admin", origin: "organization_owner" };
      const membership = state.findMember(project.owner, user);
      if (membership?.role === "admin") return { role: "admin", origin: "organization_admin" };
    }
    const direct = state.findCollaborator(project, user);
    if (direct) return { role: direct.role, origin: "collaborator" };
    let best: ProjectRole | undefined;
    for (const c of state.collaboratorsOf(project)) {
      if (c.collaborator.type !== "team") continue;
      if (!state.findTeamMember(c.collaborator, user)) continue;
      if (!best || roleAtLeast(c.role, best)) best = c.role;
    }
    if (best) return { role: best, origin: "team_member" };
  }
  if (project.isPublic) return { role: "reader", origin: "public" };
  return undefined;
}

/** Job statuses that count as "not done yet". */
export const ACTIVE_JOB_STATUSES: ReadonlySet<JobStatus> = new Set([
  "pending",
  "queued",
  "started",
]);

/**
 * Computes `project.status`: `busy` while any job is pending/queued/started,
 * `failed` without a QGIS file or without processed project details, else `ok`.
 *
 * @example
 * ```ts
 * import { projectStatus, ServerState } from "./state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * projectStatus(state, state.addProject({ name: "p1", owner: alice })); // "failed"
 * ```
 */
export function projectStatus(state: ServerState, project: Project): ProjectStatus {
  if (state.jobsOfProject(project.id).some((j) => ACTIVE_JOB_STATUSES.has(j.status))) {
    return "busy";
  }
  if (!project.theQgisFileName || !project.projectDetails) return "failed";
  return "ok";
}

/**
 * Whether the project has vector layers without a data file (PostGIS, WFS, ...);
 * undefined when the project details are missing, as the server's `None`.
 *
 * @example
 * ```ts
 * import { hasOnlineVectorData, ServerState } from "./state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * hasOnlineVectorData(state.addProject({ name: "p1", owner: alice })); // undefined
 * ```
 */
export function hasOnlineVectorData(project: Project): boolean | undefined {
  const layers = project.projectDetails?.["layers_by_id"];
  if (!layers || typeof layers !== "object" || Object.keys(layers).length === 0) return undefined;
  for (const layer of Object.values(layers as Record<string, Record<string, unknown>>)) {
    const type = layer?.["type_name"];
    if ((type === "VectorLayer" || type === "Vector") && !layer?.["filename"]) return true;
  }
  return false;
}

/**
 * Computes `needs_repackaging` for a user (`Project.needs_repackaging(user)`):
 * false only when every vector layer is file based, data was updated and
 * packaged, and the user's latest package job finished after the last update.
 *
 * @example
 * ```ts
 * import { needsRepackaging, ServerState } from "./state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * needsRepackaging(state, state.addProject({ name: "p1", owner: alice }), alice); // true
 * ```
 */
export function needsRepackaging(
  state: ServerState,
  project: Project,
  user: User | undefined,
): boolean {
  const latest = user
    ? state.jobsOfProject(project.id).filter((j) => j.type === "package" && j.createdBy === user)
      .at(-1)
    : undefined;
  if (
    hasOnlineVectorData(project) === false && project.dataLastUpdatedAt &&
    project.dataLastPackagedAt && latest
  ) {
    return latest.finishedAt ? latest.finishedAt < project.dataLastUpdatedAt : true;
  }
  return true;
}

/**
 * Computes `can_repackage`: false only for template projects.
 *
 * @example
 * ```ts
 * import { canRepackage, ServerState } from "./state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * canRepackage(state.addProject({ name: "p1", owner: alice })); // true
 * ```
 */
export function canRepackage(project: Project): boolean {
  return project.projectType !== "template";
}

/** Attachment directories of a project: from its details, or `["DCIM"]`. */
export function attachmentDirs(project: Project): string[] {
  const dirs = project.projectDetails?.["attachment_dirs"];
  if (Array.isArray(dirs) && dirs.length > 0) return dirs.map(String);
  return ["DCIM"];
}

/**
 * Whether a file name is an attachment: a plain prefix test against the
 * attachment dirs (no `/`, so `DCIMx.txt` counts, as on the server).
 *
 * @example
 * ```ts
 * import { isAttachment, ServerState } from "./state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * isAttachment(state.addProject({ name: "p1", owner: alice }), "DCIM/a.jpg"); // true
 * ```
 */
export function isAttachment(project: Project, name: string): boolean {
  return attachmentDirs(project).some((dir) => name.startsWith(dir));
}

/** Sum of the sizes of all versions of all files of a project (`file_storage_bytes`). */
export function projectStorageBytes(project: Project): number {
  let total = 0;
  for (const file of project.files.values()) {
    for (const v of file.versions) total += v.size;
  }
  return total;
}

/** Input of {@linkcode ServerState.addUser}. */
export interface UserInit {
  /** Username. */
  username: string;
  /** Password. */
  password: string;
  /** E-mail (default empty). */
  email?: string;
  /** Staff flag. */
  isStaff?: boolean;
  /** First name. */
  firstName?: string;
  /** Last name. */
  lastName?: string;
}

/** Input of {@linkcode ServerState.addProject}. */
export interface ProjectInit {
  /** Name. */
  name: string;
  /** Owner account. */
  owner: User;
  /** Description. */
  description?: string;
  /** Public flag. */
  isPublic?: boolean;
  /** Project type (default `regular`). */
  projectType?: ProjectType;
  /** Featured flag. */
  isFeatured?: boolean;
  /** `is_attachment_download_on_demand`. */
  isAttachmentDownloadOnDemand?: boolean;
  /** `has_restricted_projectfiles`. */
  hasRestrictedProjectfiles?: boolean;
  /** `overwrite_conflicts` (default true). */
  overwriteConflicts?: boolean;
}

/** Login failure bookkeeping for one username (django-axes). */
export interface LoginFailures {
  /** Failures within the cool-off time. */
  count: number;
  /** `Date.now()` of the last failure. */
  last: number;
}

/** django-axes: failures before lockout, and the cool-off time. */
export const LOGIN_FAILURE_LIMIT = 5;
const LOGIN_COOLOFF_MS = 30 * 60 * 1000;

/**
 * All state of one test server. Maps are public so route code can read and
 * change them; the methods cover the common lookups.
 *
 * @example
 * ```ts
 * import { ServerState } from "./state.ts";
 * const state = new ServerState({ keepVersions: 3 });
 * const alice = state.addUser({ username: "alice", password: "secret" });
 * const project = state.addProject({ name: "survey", owner: alice });
 * state.findProject(project.id) === project; // true
 * ```
 */
export class ServerState {
  /** Accounts by pk. */
  readonly users: Map<number, User> = new Map();
  /** Projects by id. */
  readonly projects: Map<string, Project> = new Map();
  /** Tokens by key. */
  readonly tokens: Map<string, AuthToken> = new Map();
  /** Jobs by id, in creation order. */
  readonly jobs: Map<string, Job> = new Map();
  /** Deltas by id, in push order. */
  readonly deltas: Map<string, Delta> = new Map();
  /** Project collaborators. */
  collaborators: ProjectCollaborator[] = [];
  /** Organization memberships. */
  organizationMembers: OrganizationMember[] = [];
  /** Team memberships. */
  teamMembers: TeamMember[] = [];
  /** Blob storage for file contents. */
  readonly storage: BlobStorage;
  /** Token lifetime in hours. */
  readonly tokenExpirationHours: number;
  /** File versions kept per file. */
  readonly keepVersions: number;
  /** Quota per owner in bytes (Infinity = unlimited). */
  readonly storageQuotaBytes: number;
  /** Total job duration in seconds. */
  readonly jobSeconds: number;
  /** Login failures by lower-cased username (django-axes). */
  readonly loginFailures: Map<string, LoginFailures> = new Map();
  /** Single sign-on providers listed after the credentials one (`server/info/`, `auth/providers/`). */
  readonly ssoProviders: Record<string, unknown>[] = [];
  #nextPk = 1;
  #lastNow = 0;

  /** Creates an empty state. */
  constructor(options: ServerStateOptions = {}) {
    this.tokenExpirationHours = options.tokenExpirationHours ?? 720;
    this.keepVersions = Math.max(1, options.keepVersions ?? 10);
    this.storageQuotaBytes = options.storageQuotaBytes ?? Infinity;
    this.jobSeconds = options.jobSeconds ?? 0.2;
    this.storage = options.storage ?? new BlobStorage();
  }

  /**
   * The current time, strictly increasing between calls (by 1 ms when called
   * twice within one millisecond) so that time order equals creation order.
   */
  now(): Date {
    const t = Math.max(Date.now(), this.#lastNow + 1);
    this.#lastNow = t;
    return new Date(t);
  }

  /** Adds a person. Throws a `TypeError` when the username is taken. */
  addUser(init: UserInit): User {
    this.#assertFreeUsername(init.username);
    return this.#addAccount({
      username: init.username,
      type: "person",
      password: init.password,
      email: init.email ?? "",
      firstName: init.firstName ?? "",
      lastName: init.lastName ?? "",
      isStaff: init.isStaff ?? false,
    });
  }

  /** Stores a new account with the next primary key; the fields not given are empty. */
  #addAccount(fields: Pick<User, "username" | "type"> & Partial<User>): User {
    const account: User = {
      password: "",
      email: "",
      firstName: "",
      lastName: "",
      isStaff: false,
      isActive: true,
      ...fields,
      pk: this.#nextPk++,
      dateJoined: this.now(),
    };
    this.users.set(account.pk, account);
    return account;
  }

  /** Adds an organization owned by a person. Throws a `TypeError` when the name is taken. */
  addOrganization(name: string, owner: User): User {
    this.#assertFreeUsername(name);
    if (owner.type !== "person") {
      throw new TypeError(`Organization owner "${owner.username}" is not a person`);
    }
    return this.#addAccount({ username: name, type: "organization", owner });
  }

  /** Adds a team `@<org>/<team>` to an organization. Throws a `TypeError` when it exists. */
  addTeam(organization: User, teamName: string): User {
    if (organization.type !== "organization") {
      throw new TypeError(`Account "${organization.username}" is not an organization`);
    }
    const username = teamUsername(organization, teamName);
    this.#assertFreeUsername(username);
    return this.#addAccount({ username, type: "team", organization });
  }

  #assertFreeUsername(username: string): void {
    if (this.findUser(username)) throw new TypeError(`Username "${username}" is already taken`);
  }

  /** Finds an account (any type) by exact username. */
  findUser(username: string): User | undefined {
    for (const u of this.users.values()) if (u.username === username) return u;
    return undefined;
  }

  /** Finds a person by username or e-mail, case-insensitively (login). */
  findUserForLogin(usernameOrEmail: string): User | undefined {
    const wanted = usernameOrEmail.toLowerCase();
    for (const u of this.users.values()) {
      if (u.username.toLowerCase() === wanted) return u;
    }
    for (const u of this.users.values()) {
      if (u.email && u.email.toLowerCase() === wanted) return u;
    }
    return undefined;
  }

  /** Finds an account by pk. */
  userByPk(pk: number): User | undefined {
    return this.users.get(pk);
  }

  /** Finds an organization account by name. */
  findOrganization(name: string): User | undefined {
    const u = this.findUser(name);
    return u?.type === "organization" ? u : undefined;
  }

  /** Finds a team of an organization by its short name (`surveyors`, not `@org/surveyors`). */
  findTeam(organization: User, teamName: string): User | undefined {
    const u = this.findUser(teamUsername(organization, teamName));
    return u?.type === "team" ? u : undefined;
  }

  /** Teams of an organization, in creation order. */
  teamsOf(organization: User): User[] {
    return [...this.users.values()].filter((u) =>
      u.type === "team" && u.organization === organization
    );
  }

  /** Members of a team. */
  teamMembersOf(team: User): TeamMember[] {
    return this.teamMembers.filter((m) => m.team === team);
  }

  /** A person's membership of a team, if any. */
  findTeamMember(team: User, member: User): TeamMember | undefined {
    return this.teamMembers.find((m) => m.team === team && m.member === member);
  }

  /** Members of an organization (the owner is not listed), in creation order. */
  membersOf(organization: User): OrganizationMember[] {
    return this.organizationMembers.filter((m) => m.organization === organization);
  }

  /** A person's membership of an organization, if any. */
  findMember(organization: User, member: User): OrganizationMember | undefined {
    return this.organizationMembers.find((m) =>
      m.organization === organization && m.member === member
    );
  }

  /** Whether a user may administrate an organization (its owner or an `admin` member). */
  isOrganizationAdmin(organization: User, user: User | undefined): boolean {
    if (!user || organization.type !== "organization") return false;
    if (organization.owner === user) return true;
    return this.findMember(organization, user)?.role === "admin";
  }

  /** Whether a person belongs to an organization (owner or member). */
  isOrganizationMember(organization: User, user: User): boolean {
    return organization.owner === user || this.findMember(organization, user) !== undefined;
  }

  /** Adds a project. Throws a `TypeError` when the owner already has one with that name. */
  addProject(init: ProjectInit): Project {
    if (this.findProjectByName(init.owner, init.name)) {
      throw new TypeError(`Project "${init.owner.username}/${init.name}" already exists`);
    }
    const now = this.now();
    const project: Project = {
      id: crypto.randomUUID(),
      name: init.name,
      owner: init.owner,
      description: init.description ?? "",
      isPublic: init.isPublic ?? false,
      projectType: init.projectType ?? "regular",
      isFeatured: init.isFeatured ?? false,
      isAttachmentDownloadOnDemand: init.isAttachmentDownloadOnDemand ?? false,
      hasRestrictedProjectfiles: init.hasRestrictedProjectfiles ?? false,
      overwriteConflicts: init.overwriteConflicts ?? true,
      createdAt: now,
      updatedAt: now,
      dataLastPackagedAt: null,
      dataLastUpdatedAt: null,
      restrictedDataLastUpdatedAt: null,
      theQgisFileName: null,
      qgisVersion: null,
      projectDetails: null,
      files: new Map(),
      thumbnail: null,
      seed: null,
      sharedDatasetsProjectId: null,
    };
    this.projects.set(project.id, project);
    return project;
  }

  /** Finds a project by id. */
  findProject(id: string): Project | undefined {
    return this.projects.get(id.toLowerCase());
  }

  /** Finds a project by owner and exact name. */
  findProjectByName(owner: User, name: string): Project | undefined {
    for (const p of this.projects.values()) {
      if (p.owner === owner && p.name === name) return p;
    }
    return undefined;
  }

  /**
   * Deletes a project with its files (blobs included), jobs, deltas and
   * collaborators.
   */
  async deleteProject(project: Project): Promise<void> {
    this.projects.delete(project.id);
    for (const file of project.files.values()) {
      for (const v of file.versions) await this.storage.delete(v.storageKey);
    }
    project.files.clear();
    for (const [id, job] of this.jobs) if (job.project === project) this.jobs.delete(id);
    for (const [id, delta] of this.deltas) if (delta.project === project) this.deltas.delete(id);
    this.collaborators = this.collaborators.filter((c) => c.project !== project);
    await this.storage.deletePrefix(`projects/${project.id}/`);
  }

  /** Jobs of a project, oldest first. */
  jobsOfProject(projectId: string): Job[] {
    return [...this.jobs.values()].filter((j) => j.project.id === projectId);
  }

  /** Deltas of a project, in push order. */
  deltasOfProject(projectId: string): Delta[] {
    return [...this.deltas.values()].filter((d) => d.project.id === projectId);
  }

  /** Collaborators of a project, in creation order. */
  collaboratorsOf(project: Project): ProjectCollaborator[] {
    return this.collaborators.filter((c) => c.project === project);
  }

  /** A direct collaborator entry of a project, if any. */
  findCollaborator(project: Project, collaborator: User): ProjectCollaborator | undefined {
    return this.collaborators.find((c) => c.project === project && c.collaborator === collaborator);
  }

  /** Bytes used by all projects of an owner (all versions of all files). */
  storageUsedBytes(owner: User): number {
    let total = 0;
    for (const p of this.projects.values()) if (p.owner === owner) total += projectStorageBytes(p);
    return total;
  }

  /**
   * Creates a token for a user, as a login does: for single-token clients
   * (qfield, qfieldsync, unknown) the user's other active tokens of the same
   * client type are expired.
   */
  createToken(user: User, userAgent = "", clientType?: ClientType): AuthToken {
    const now = this.now();
    const type = clientType ?? guessClientType(userAgent);
    if (SINGLE_TOKEN_CLIENTS.has(type)) {
      // Expiry compares with the wall clock (see `now()`), so expire at wall-clock time.
      const wall = new Date();
      for (const t of this.tokens.values()) {
        if (t.user === user && t.clientType === type && t.expiresAt > wall) t.expiresAt = wall;
      }
    }
    const token: AuthToken = {
      key: randomAlphanumeric(100),
      user,
      clientType: type,
      userAgent,
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.tokenExpirationHours * 3600 * 1000),
      lastUsedAt: null,
    };
    this.tokens.set(token.key, token);
    return token;
  }

  /** Expires all active tokens of a user (logout). */
  expireTokens(user: User): void {
    const now = new Date();
    for (const t of this.tokens.values()) {
      if (t.user === user && t.expiresAt > now) t.expiresAt = now;
    }
  }

  /** Whether logins for this username are locked out (django-axes). */
  isLoginLocked(username: string): boolean {
    const entry = this.loginFailures.get(username.toLowerCase());
    if (!entry) return false;
    if (Date.now() - entry.last >= LOGIN_COOLOFF_MS) {
      this.loginFailures.delete(username.toLowerCase());
      return false;
    }
    return entry.count >= LOGIN_FAILURE_LIMIT;
  }

  /** Records a failed login; returns true when this failure locks the username out. */
  recordLoginFailure(username: string): boolean {
    const key = username.toLowerCase();
    const entry = this.loginFailures.get(key) ?? { count: 0, last: 0 };
    entry.count++;
    entry.last = Date.now();
    this.loginFailures.set(key, entry);
    return entry.count >= LOGIN_FAILURE_LIMIT;
  }
}

/** The stored username of a team: `@<org>/<team>`. */
export function teamUsername(organization: User, teamName: string): string {
  return `@${organization.username}/${teamName}`;
}

/** The short name of a team account (`surveyors` for `@org1/surveyors`). */
export function teamShortName(team: User): string {
  const slash = team.username.indexOf("/");
  return slash === -1 ? team.username : team.username.slice(slash + 1);
}
