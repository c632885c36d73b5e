/**
 * All state of one test server: accounts, projects, tokens, jobs, deltas and
 * memberships, and the rules that change them together.
 *
 * How route code uses it:
 * - Every route handler gets the one {@linkcode ServerState} as `ctx.state`.
 * - Look things up with the small methods (`findUser`, `findProject`,
 *   `jobsOfProject`, `collaboratorsOf`, `membersOf`, `teamsOf`, ...) and
 *   mutate entities in place. Memberships change only through their methods
 *   (`addCollaborator`, `removeOrganizationMember`, `deleteTeam`, ...), which
 *   keep the cascades of the server in one place. Take timestamps from
 *   {@linkcode ServerState.now} so that creation order and time order agree.
 *
 * @module
 */
import { BlobStorage } from "./storage.ts";
import { JobSchedule } from "./job_schedule.ts";
import type {
  AuthToken,
  ClientType,
  Delta,
  Job,
  OrganizationMember,
  OrganizationRole,
  Project,
  ProjectCollaborator,
  ProjectRole,
  ProjectType,
  TeamMember,
  User,
} from "./entities.ts";
import { teamUsername } from "./entities.ts";
import { projectStorageBytes } from "./project_rules.ts";

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
 * import { randomAlphanumeric } from "./server_state.ts";
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
 * import { guessClientType } from "./server_state.ts";
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
 * All state of one test server. The Maps are public so route code can read and
 * change them; memberships are read-only outside and change through the
 * methods that apply the server's rules and cascades.
 *
 * @example
 * ```ts
 * import { ServerState } from "./server_state.ts";
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
  /** The job scheduler's state: failures asked for, the runner to wake. */
  readonly jobSchedule: JobSchedule = new JobSchedule();
  #collaborators: ProjectCollaborator[] = [];
  #organizationMembers: OrganizationMember[] = [];
  #teamMembers: TeamMember[] = [];
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

  /** Project collaborators, in creation order. */
  get collaborators(): readonly ProjectCollaborator[] {
    return this.#collaborators;
  }

  /** Organization memberships, in creation order. */
  get organizationMembers(): readonly OrganizationMember[] {
    return this.#organizationMembers;
  }

  /** Team memberships, in creation order. */
  get teamMembers(): readonly TeamMember[] {
    return this.#teamMembers;
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
    return this.#teamMembers.filter((m) => m.team === team);
  }

  /** A person's membership of a team, if any. */
  findTeamMember(team: User, member: User): TeamMember | undefined {
    return this.#teamMembers.find((m) => m.team === team && m.member === member);
  }

  /** Members of an organization (the owner is not listed), in creation order. */
  membersOf(organization: User): OrganizationMember[] {
    return this.#organizationMembers.filter((m) => m.organization === organization);
  }

  /** A person's membership of an organization, if any. */
  findMember(organization: User, member: User): OrganizationMember | undefined {
    return this.#organizationMembers.find((m) =>
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

  /**
   * Adds a person to an organization. Throws a `TypeError` when the person
   * owns it, is not a person, or is a member already.
   */
  addOrganizationMember(
    organization: User,
    member: User,
    role: OrganizationRole,
    isPublic = false,
  ): OrganizationMember {
    if (!this.mayJoinOrganization(organization, member)) {
      throw new TypeError(
        `User "${member.username}" may not join organization "${organization.username}"`,
      );
    }
    const now = this.now();
    const membership = { organization, member, role, isPublic, createdAt: now, updatedAt: now };
    this.#organizationMembers.push(membership);
    return membership;
  }

  /**
   * Whether a person may become a member of an organization
   * (`OrganizationMember.clean`): not its owner, a person, not a member yet.
   */
  mayJoinOrganization(organization: User, member: User): boolean {
    return member !== organization.owner && member.type === "person" &&
      !this.findMember(organization, member);
  }

  /**
   * Removes an organization membership, with the member's collaborations on
   * the organization's projects and memberships of its teams
   * (`OrganizationMember.delete`).
   */
  removeOrganizationMember(membership: OrganizationMember): void {
    const { organization, member } = membership;
    this.#organizationMembers = this.#organizationMembers.filter((m) => m !== membership);
    this.#collaborators = this.#collaborators.filter((c) =>
      !(c.collaborator === member && c.project.owner === organization)
    );
    this.#teamMembers = this.#teamMembers.filter((t) =>
      !(t.member === member && t.team.organization === organization)
    );
  }

  /** Adds a person to a team. Throws a `TypeError` when it is a member already. */
  addTeamMember(team: User, member: User): TeamMember {
    if (this.findTeamMember(team, member)) {
      throw new TypeError(`User "${member.username}" is already in team "${team.username}"`);
    }
    const entry = { team, member };
    this.#teamMembers.push(entry);
    return entry;
  }

  /** Removes a team membership. */
  removeTeamMember(entry: TeamMember): void {
    this.#teamMembers = this.#teamMembers.filter((m) => m !== entry);
  }

  /** Deletes a team account with its memberships and collaborations. */
  deleteTeam(team: User): void {
    if (team.type !== "team") throw new TypeError(`Account "${team.username}" is not a team`);
    this.users.delete(team.pk);
    this.#teamMembers = this.#teamMembers.filter((m) => m.team !== team);
    this.#collaborators = this.#collaborators.filter((c) => c.collaborator !== team);
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
    this.#collaborators = this.#collaborators.filter((c) => c.project !== project);
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
    return this.#collaborators.filter((c) => c.project === project);
  }

  /** A direct collaborator entry of a project, if any. */
  findCollaborator(project: Project, collaborator: User): ProjectCollaborator | undefined {
    return this.#collaborators.find((c) =>
      c.project === project && c.collaborator === collaborator
    );
  }

  /**
   * Whether an account may collaborate on a project (`ProjectCollaborator.clean`):
   * not its owner, not an organization, not a collaborator yet; a team only on
   * its organization's projects; a person on an organization's project only
   * as a member of it.
   */
  mayCollaborate(project: Project, collaborator: User): boolean {
    const owner = project.owner;
    return !(collaborator === owner ||
      collaborator.type === "organization" ||
      this.findCollaborator(project, collaborator) !== undefined ||
      (collaborator.type === "team" &&
        (owner.type !== "organization" || collaborator.organization !== owner)) ||
      (collaborator.type === "person" && owner.type === "organization" &&
        !this.isOrganizationMember(owner, collaborator)));
  }

  /**
   * Adds a collaborator to a project, without the checks of
   * {@linkcode ServerState.mayCollaborate} (the seeding API skips them).
   * Throws a `TypeError` when it is a collaborator already.
   */
  addCollaborator(
    project: Project,
    collaborator: User,
    role: ProjectRole,
    createdBy: User | null = null,
  ): ProjectCollaborator {
    if (this.findCollaborator(project, collaborator)) {
      throw new TypeError(
        `User "${collaborator.username}" already collaborates on project "${project.name}"`,
      );
    }
    const now = this.now();
    const entry: ProjectCollaborator = {
      project,
      collaborator,
      role,
      createdBy,
      updatedBy: createdBy,
      createdAt: now,
      updatedAt: now,
    };
    this.#collaborators.push(entry);
    return entry;
  }

  /** Removes a collaborator entry. */
  removeCollaborator(entry: ProjectCollaborator): void {
    this.#collaborators = this.#collaborators.filter((c) => c !== entry);
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
