/**
 * Role resolution and the computed project fields of QFieldCloud
 * (opengisch/QFieldCloud `docker-app/qfieldcloud/core/permissions_utils.py` and
 * `docker-app/qfieldcloud/project/serializers.py`): {@linkcode projectRole} gives a
 * caller's role on a project (or `undefined`), {@linkcode roleAtLeast} compares roles.
 *
 * @module
 */
import type {
  Job,
  JobStatus,
  OrganizationMember,
  Project,
  ProjectCollaborator,
  ProjectRole,
  RoleOrigin,
  TeamMember,
  User,
} from "./entities.ts";
import { PROJECT_ROLES } from "./entities.ts";

/**
 * What the project rules read of the server's state. `ServerState` has all of it; naming only
 * these reads keeps the rules free of an import of the state that itself uses the rules.
 */
export interface ProjectRulesState {
  /** An organization's membership of a person, if any. */
  findMember(organization: User, member: User): OrganizationMember | undefined;
  /** A direct collaborator entry of a project, if any. */
  findCollaborator(project: Project, collaborator: User): ProjectCollaborator | undefined;
  /** The collaborators of a project. */
  collaboratorsOf(project: Project): readonly ProjectCollaborator[];
  /** A team's membership of a person, if any. */
  findTeamMember(team: User, member: User): TeamMember | undefined;
  /** The jobs of a project, oldest first. */
  jobsOfProject(projectId: string): Job[];
}

/** Project status values. */
export type ProjectStatus = "ok" | "busy" | "failed";
/**
 * Whether a role grants at least the rights of another (admin > manager >
 * editor > reporter > reader).
 *
 * @example
 * ```ts
 * import { roleAtLeast } from "./project_rules.ts";
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
 * import { projectRole } from "./project_rules.ts";
 * import { ServerState } from "./server_state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * const p = state.addProject({ name: "p1", owner: alice });
 * projectRole(state, alice, p); // { role: "admin", origin: "project_owner" }
 * ```
 */
export function projectRole(
  state: ProjectRulesState,
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
 * import { projectStatus } from "./project_rules.ts";
 * import { ServerState } from "./server_state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * projectStatus(state, state.addProject({ name: "p1", owner: alice })); // "failed"
 * ```
 */
export function projectStatus(state: ProjectRulesState, project: Project): ProjectStatus {
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
 * import { hasOnlineVectorData } from "./project_rules.ts";
 * import { ServerState } from "./server_state.ts";
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
 * import { needsRepackaging } from "./project_rules.ts";
 * import { ServerState } from "./server_state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * needsRepackaging(state, state.addProject({ name: "p1", owner: alice }), alice); // true
 * ```
 */
export function needsRepackaging(
  state: ProjectRulesState,
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
 * import { canRepackage } from "./project_rules.ts";
 * import { ServerState } from "./server_state.ts";
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
 * import { isAttachment } from "./project_rules.ts";
 * import { ServerState } from "./server_state.ts";
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
