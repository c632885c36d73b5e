/**
 * The QFieldCloud client: one method per API call, on top of the request core.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { delay } from "./delay.ts";
import { readEnv } from "./env.ts";
import { QfcException, QfcJobFailedException, QfcTimeoutException } from "./errors.ts";
import type { RequestCoreOptions, RequestOptions } from "./http.ts";
import { RequestCore } from "./http.ts";
import { DEFAULT_PAGINATION_LIMIT, type Pagination } from "./pagination.ts";
import { saveResponseToDir } from "./save_response.ts";
import type {
  Collaborator,
  CreatedUser,
  CreateUserOptions,
  CurrentSubscription,
  Delta,
  Job,
  JobTypes,
  LatestPackage,
  LoginResponse,
  LogoutResponse,
  OrganizationMember,
  OrganizationMemberRole,
  Project,
  ProjectCollaboratorRole,
  ProjectSeed,
  RemoteFile,
  ServerInfo,
  ServerStatus,
  Team,
  TeamMember,
} from "./types.ts";
import { JobStatus } from "./types.ts";
import * as transfer from "./transfer/mod.ts";
import { listProjectFiles } from "./transfer/project_listing.ts";
import type { SyncOptions, SyncPlan } from "./transfer/sync_plan.ts";
import type { SyncReport } from "./transfer/sync.ts";
import type {
  DeleteFileOptions,
  DeleteFilesOptions,
  DownloadableFile,
  DownloadFileOptions,
  DownloadFilesOptions,
  DownloadListedFilesOptions,
  TransferResult,
  UploadFileOptions,
  UploadFilesOptions,
} from "./transfer/mod.ts";

/**
 * Options of {@linkcode Client}: those of the request core, with `url` and `token` falling back
 * to the `QFIELDCLOUD_URL` and `QFIELDCLOUD_TOKEN` environment variables.
 */
export interface ClientOptions extends Omit<RequestCoreOptions, "url"> {
  /** Base URL of the API; defaults to the `QFIELDCLOUD_URL` environment variable. */
  url?: string;
}

/** A page request for list calls: without one, every item is returned. */
export interface PaginationOption {
  /** Exactly this page; without it, list calls follow every page. */
  pagination?: Pagination;
}

/** Options of {@linkcode Client.listProjects}. */
export interface ListProjectsOptions extends PaginationOption {
  /** Also list public projects the caller has no other role on. */
  includePublic?: boolean;
  /** Only projects of this owner. */
  owner?: string;
  /** Only the project of this name (case-insensitive). */
  name?: string;
  /** Only projects matching this text. */
  search?: string;
  /** Sort by `owner`, `name` or `created_at` (prefix `-` for descending). */
  ordering?: string;
}

/** Options of {@linkcode Client.createProject}. */
export interface CreateProjectOptions {
  /** Owner (a user or organization); the caller by default. */
  owner?: string;
  /** Free text. */
  description?: string;
  /** Whether every user may read it. */
  isPublic?: boolean;
  /** `regular` (default), `template` or `shared_datasets`. */
  projectType?: "regular" | "template" | "shared_datasets";
  /** Id of a project to clone; the server starts a `create_project` job. */
  cloneFromProject?: string;
}

/** Fields of {@linkcode Client.patchProject}: only those given are sent, `false` and `""` included. */
export interface PatchProjectOptions {
  /** New name. */
  name?: string;
  /** New owner. */
  owner?: string;
  /** New description; `""` clears it. */
  description?: string;
  /** Make the project public (`true`) or private (`false`). */
  isPublic?: boolean;
  /** New type: `regular`, `template` or `shared_datasets`. */
  projectType?: "regular" | "template" | "shared_datasets";
}

/** Options of {@linkcode Client.listJobs}. */
export interface ListJobsOptions extends PaginationOption {
  /**
   * Only jobs of this type (filtered by the client: the server ignores the parameter). With a
   * `pagination`, its limit and offset count the jobs of this type, fetching pages as needed.
   */
  jobType?: JobTypes;
}

/** Options of {@linkcode Client.jobTrigger}. */
export interface JobTriggerOptions {
  /** Create a new job even if one of the type is unfinished (and skip the QGIS-file check). */
  force?: boolean;
}

/** Options of {@linkcode Client.waitForJob}. */
export interface WaitForJobOptions {
  /** Give up after this long with a {@linkcode QfcTimeoutException}. Default 30 minutes. */
  timeoutMs?: number;
  /** Time between polls. Default 2000 ms. */
  intervalMs?: number;
  /** Stops waiting. */
  signal?: AbortSignal;
  /** Called with the job after each poll, e.g. to show its status. */
  onPoll?: (job: Job) => void;
}

/** Options of {@linkcode Client.addOrganizationMember}. */
export interface AddOrganizationMemberOptions {
  /** The member's role. */
  role: OrganizationMemberRole;
  /** Show the membership publicly. Default false. */
  isPublic?: boolean;
}

/** Fields of {@linkcode Client.patchOrganizationMembers}: only those given are sent. */
export interface PatchOrganizationMemberOptions {
  /** New role. */
  role?: OrganizationMemberRole;
  /** Show the membership publicly or not. */
  isPublic?: boolean;
}

/** Options of the `iterate…` methods. */
export interface IterateOptions {
  /** Items fetched per request. Default 100. */
  pageSize?: number;
}

const FINAL_FAILURES: readonly string[] = [JobStatus.FAILED, JobStatus.STOPPED];

/**
 * A client of one QFieldCloud server. Every call of the official Python SDK is
 * here in camelCase, with options objects instead of positional flags.
 *
 * @example List your projects
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/" });
 * await client.login("surveyor", Deno.env.get("QFIELDCLOUD_PASSWORD")!);
 * for (const project of await client.listProjects({ includePublic: false })) {
 *   console.log(project.owner, project.name, project.status);
 * }
 * ```
 */
export class Client {
  /** The request core, shared with the file-transfer functions. */
  readonly core: RequestCore;

  /** Creates a client; without a URL (option or `QFIELDCLOUD_URL`) this is a `TypeError`. */
  constructor(options: ClientOptions = {}) {
    const url = options.url ?? readEnv("QFIELDCLOUD_URL");
    if (!url) {
      throw new TypeError(
        "Cannot create a client without a server URL: pass { url } or set QFIELDCLOUD_URL " +
          "(for example https://app.qfield.cloud/api/v1/)",
      );
    }
    this.core = new RequestCore({
      ...options,
      url,
      token: options.token ?? readEnv("QFIELDCLOUD_TOKEN"),
    });
  }

  /** Base URL of the API, ending in `/`. */
  get url(): string {
    return this.core.baseUrl;
  }

  /** The token in use; `login()` sets it. */
  get token(): string | undefined {
    return this.core.token;
  }

  /** Replaces the token in use. */
  set token(token: string | undefined) {
    this.core.token = token || undefined;
  }

  /**
   * Logs in and keeps the token for later calls. The token coexists with the user's other
   * SDK tokens (the server keys this on the `sdk|` User-Agent).
   *
   * @example
   * ```ts
   * const { token, expires_at } = await client.login("surveyor", password);
   * ```
   */
  async login(username: string, password: string): Promise<LoginResponse> {
    const answer = await this.core.json<LoginResponse>({
      method: "POST",
      path: ["auth", "login"],
      form: { username, password },
      auth: false,
    });
    this.core.token = answer.token;
    return answer;
  }

  /**
   * Logs out. Beware: the server expires **every** token of the user, QField on phones and
   * other scripts included, not only this one.
   *
   * @example
   * ```ts
   * await client.logout();
   * ```
   */
  async logout(): Promise<LogoutResponse> {
    const answer = await this.core.json<LogoutResponse>({
      method: "POST",
      path: ["auth", "logout"],
    });
    this.core.auth = undefined;
    return answer;
  }

  /**
   * Reads the server's health (`database`, `storage`) and maintenance notices. Needs no token.
   *
   * @example
   * ```ts
   * const status = await client.checkServerStatus();
   * if (status.database !== "ok") console.error("Database down");
   * ```
   */
  checkServerStatus(): Promise<ServerStatus> {
    return this.core.json({ path: ["status"], auth: false });
  }

  /**
   * Reads the server's branding and sign-in providers. Needs no token.
   *
   * @example
   * ```ts
   * const info = await client.getServerInfo();
   * console.log(info.auth_providers.map((p) => p.name));
   * ```
   */
  getServerInfo(): Promise<ServerInfo> {
    return this.core.json({ path: ["server", "info"], auth: false });
  }

  /**
   * Lists the projects the caller has a role on (and public ones with `includePublic`).
   *
   * @example
   * ```ts
   * const mine = await client.listProjects({ owner: "surveyor" });
   * ```
   */
  listProjects(options: ListProjectsOptions = {}): Promise<Project[]> {
    return this.core.list(projectsRequest(options), options.pagination);
  }

  /**
   * Yields every project, fetching them page by page: for accounts with many projects.
   *
   * @example
   * ```ts
   * for await (const project of client.iterateProjects({ includePublic: true })) {
   *   console.log(project.name);
   * }
   * ```
   */
  iterateProjects(
    options: Omit<ListProjectsOptions, "pagination"> & IterateOptions = {},
  ): AsyncGenerator<Project> {
    return this.#iterate(projectsRequest(options), options.pageSize);
  }

  /**
   * Reads one project.
   *
   * @example
   * ```ts
   * const project = await client.getProject(projectId);
   * console.log(project.status, project.needs_repackaging);
   * ```
   */
  getProject(projectId: string): Promise<Project> {
    return this.core.json({ path: ["projects", projectId] });
  }

  /**
   * Creates a project. The answer lacks `user_role` and `user_role_origin`, as the server's does.
   *
   * @example
   * ```ts
   * const project = await client.createProject("survey-2026", { owner: "my-org", isPublic: false });
   * ```
   */
  createProject(name: string, options: CreateProjectOptions = {}): Promise<Project> {
    return this.core.json({
      method: "POST",
      path: ["projects"],
      form: {
        name,
        owner: options.owner,
        description: options.description ?? "",
        is_public: options.isPublic ?? false,
        project_type: options.projectType,
        clone_from_project: options.cloneFromProject,
      },
    });
  }

  /**
   * Changes a project. Unlike the Python SDK, `isPublic: false` and `description: ""` are sent.
   *
   * @example
   * ```ts
   * await client.patchProject(projectId, { isPublic: false, description: "" });
   * ```
   */
  patchProject(projectId: string, options: PatchProjectOptions): Promise<Project> {
    return this.core.json({
      method: "PATCH",
      path: ["projects", projectId],
      form: {
        name: options.name,
        owner: options.owner,
        description: options.description,
        is_public: options.isPublic,
        project_type: options.projectType,
      },
    });
  }

  /**
   * Deletes a project and all its files.
   *
   * @example
   * ```ts
   * await client.deleteProject(projectId);
   * ```
   */
  async deleteProject(projectId: string): Promise<void> {
    await this.core.json({ method: "DELETE", path: ["projects", projectId] });
  }

  /**
   * Uploads a PNG or JPEG file as the project's thumbnail (at most 5 MiB).
   *
   * @example
   * ```ts
   * await client.uploadProjectThumbnail(projectId, "thumbnail.png");
   * ```
   */
  async uploadProjectThumbnail(projectId: string, localPath: string): Promise<void> {
    const type = { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg" }[
      extname(localPath).toLowerCase()
    ];
    if (!type) {
      throw new TypeError(
        `Cannot use "${localPath}" as a thumbnail: it must be a .png, .jpg or .jpeg file`,
      );
    }
    const bytes = await readLocalFile(localPath);
    await this.core.json({
      method: "POST",
      path: ["projects", projectId, "thumbnail"],
      body: () => {
        const form = new FormData();
        form.append("thumbnail", new Blob([bytes], { type }), basename(localPath));
        return form;
      },
    });
  }

  /**
   * Reads how a project was seeded (extent, basemaps, XLSForm).
   *
   * @example
   * ```ts
   * const seed = await client.getProjectSeed(projectId);
   * ```
   */
  getProjectSeed(projectId: string): Promise<ProjectSeed> {
    return this.core.json({ path: ["projects", projectId, "seed"] });
  }

  /**
   * Lists a project's files with their versions, each with `etag` (= `md5sum`) added as the
   * Python SDK does. Without pagination the whole list comes in one request.
   *
   * @example
   * ```ts
   * for (const file of await client.listRemoteFiles(projectId)) {
   *   console.log(file.name, file.size, file.versions?.length);
   * }
   * ```
   */
  async listRemoteFiles(projectId: string, options: PaginationOption = {}): Promise<RemoteFile[]> {
    return await listProjectFiles(this.core, projectId, undefined, options.pagination);
  }

  /**
   * Lists a project's jobs, oldest first.
   *
   * @example Unfinished delta jobs
   * ```ts
   * const jobs = await client.listJobs(projectId, { jobType: "delta_apply" });
   * const busy = jobs.filter((job) => !["finished", "failed", "stopped"].includes(job.status));
   * ```
   */
  async listJobs(projectId: string, options: ListJobsOptions = {}): Promise<Job[]> {
    const { jobType, pagination } = options;
    if (!jobType || !pagination || pagination.isEmpty) {
      const jobs = await this.core.list<Job>(jobsRequest(projectId, options), pagination);
      return jobType ? jobs.filter((job) => job.type === jobType) : jobs;
    }
    // The server ignores `type`, so a server page would be cut before the filter: page
    // through the jobs of every type and apply the offset and limit to those of this type.
    const limit = pagination.limit ?? DEFAULT_PAGINATION_LIMIT;
    let skip = pagination.offset ?? 0;
    const jobs: Job[] = [];
    for await (const job of this.iterateJobs(projectId, { jobType })) {
      if (skip > 0) skip--;
      else if (jobs.push(job) >= limit) break;
    }
    return jobs;
  }

  /**
   * Yields a project's jobs page by page.
   *
   * @example
   * ```ts
   * for await (const job of client.iterateJobs(projectId)) console.log(job.id, job.status);
   * ```
   */
  async *iterateJobs(
    projectId: string,
    options: Omit<ListJobsOptions, "pagination"> & IterateOptions = {},
  ): AsyncGenerator<Job> {
    for await (const job of this.#iterate<Job>(jobsRequest(projectId, options), options.pageSize)) {
      if (!options.jobType || job.type === options.jobType) yield job;
    }
  }

  /**
   * Starts a job. Without `force`, an unfinished package job is returned instead of a new one.
   *
   * @example
   * ```ts
   * const job = await client.jobTrigger(projectId, "package");
   * ```
   */
  jobTrigger(projectId: string, jobType: JobTypes, options: JobTriggerOptions = {}): Promise<Job> {
    return this.core.json({
      method: "POST",
      path: ["jobs"],
      form: { project_id: projectId, type: jobType, force: options.force ?? false },
    });
  }

  /**
   * Reads a job with its `feedback` and `output`.
   *
   * @example
   * ```ts
   * const job = await client.jobStatus(jobId);
   * console.log(job.status);
   * ```
   */
  jobStatus(jobId: string): Promise<Job> {
    return this.core.json({ path: ["jobs", jobId] });
  }

  /**
   * Polls a job until it ends. Resolves with the job when it `finished`; rejects with a
   * {@linkcode QfcJobFailedException} (holding the job and its feedback) when it `failed` or was
   * `stopped`, and with a {@linkcode QfcTimeoutException} when `timeoutMs` runs out.
   *
   * @example Package, then wait
   * ```ts
   * const job = await client.jobTrigger(projectId, "package");
   * await client.waitForJob(job.id, { timeoutMs: 15 * 60_000, onPoll: (j) => console.log(j.status) });
   * ```
   */
  async waitForJob(jobId: string, options: WaitForJobOptions = {}): Promise<Job> {
    const timeoutMs = options.timeoutMs ?? 30 * 60_000;
    const intervalMs = options.intervalMs ?? 2_000;
    const deadline = Date.now() + timeoutMs;
    while (true) {
      options.signal?.throwIfAborted();
      const job = await this.core.json<Job>({ path: ["jobs", jobId], signal: options.signal });
      options.onPoll?.(job);
      if (job.status === JobStatus.FINISHED) return job;
      if (FINAL_FAILURES.includes(job.status)) {
        throw new QfcJobFailedException({
          id: job.id,
          status: job.status,
          type: job.type,
          feedback: job.feedback ?? null,
          output: job.output ?? null,
        });
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new QfcTimeoutException(
          `Job "${jobId}" is still ${job.status} after ${formatDuration(timeoutMs)}`,
        );
      }
      await delay(Math.min(intervalMs, remaining), options.signal);
    }
  }

  /**
   * Reads the latest package of a project: its files (with `md5sum`) and layer checks.
   *
   * @example Report invalid layers
   * ```ts
   * const latest = await client.packageLatest(projectId);
   * for (const layer of Object.values(latest.layers ?? {})) {
   *   if (!layer.is_valid) console.error(layer.name, layer.error_code);
   * }
   * ```
   */
  packageLatest(projectId: string): Promise<LatestPackage> {
    return this.core.json({ path: ["packages", projectId, "latest"] });
  }

  /**
   * Pushes a delta file (JSON, as QField writes them). The server answers with an empty body
   * and starts a `delta_apply` job when a delta was new.
   *
   * @example
   * ```ts
   * await client.pushDelta(projectId, "deltafile.json");
   * ```
   */
  async pushDelta(projectId: string, deltaFilePath: string): Promise<void> {
    const bytes = await readLocalFile(deltaFilePath);
    await this.core.json({
      method: "POST",
      path: ["deltas", projectId],
      body: () => {
        const form = new FormData();
        form.append(
          "file",
          new Blob([bytes], { type: "application/json" }),
          basename(deltaFilePath),
        );
        return form;
      },
    });
  }

  /**
   * Lists the deltas pushed to a project, with their status.
   *
   * @example
   * ```ts
   * const failed = (await client.listDeltas(projectId)).filter((d) => d.status !== "STATUS_APPLIED");
   * ```
   */
  listDeltas(projectId: string, options: PaginationOption = {}): Promise<Delta[]> {
    return this.core.list({ path: ["deltas", projectId] }, options.pagination);
  }

  /**
   * Yields a project's deltas page by page.
   *
   * @example
   * ```ts
   * for await (const delta of client.iterateDeltas(projectId)) console.log(delta.status);
   * ```
   */
  iterateDeltas(projectId: string, options: IterateOptions = {}): AsyncGenerator<Delta> {
    return this.#iterate({ path: ["deltas", projectId] }, options.pageSize);
  }

  /**
   * Lists a project's collaborators.
   *
   * @example
   * ```ts
   * const collaborators = await client.getProjectCollaborators(projectId);
   * ```
   */
  getProjectCollaborators(
    projectId: string,
    options: PaginationOption = {},
  ): Promise<Collaborator[]> {
    return this.core.list({ path: ["collaborators", projectId] }, options.pagination);
  }

  /**
   * Adds a person or team to a project with a role.
   *
   * @example
   * ```ts
   * await client.addProjectCollaborator(projectId, "surveyor1", "editor");
   * ```
   */
  addProjectCollaborator(
    projectId: string,
    username: string,
    role: ProjectCollaboratorRole,
  ): Promise<Collaborator> {
    return this.core.json({
      method: "POST",
      path: ["collaborators", projectId],
      form: { collaborator: username, role },
    });
  }

  /**
   * Changes a collaborator's role.
   *
   * @example
   * ```ts
   * await client.patchProjectCollaborators(projectId, "surveyor1", "reader");
   * ```
   */
  patchProjectCollaborators(
    projectId: string,
    username: string,
    role: ProjectCollaboratorRole,
  ): Promise<Collaborator> {
    return this.core.json({
      method: "PATCH",
      path: ["collaborators", projectId, username],
      form: { role },
    });
  }

  /**
   * Removes a collaborator from a project.
   *
   * @example
   * ```ts
   * await client.removeProjectCollaborator(projectId, "surveyor1");
   * ```
   */
  async removeProjectCollaborator(projectId: string, username: string): Promise<void> {
    await this.core.json({ method: "DELETE", path: ["collaborators", projectId, username] });
  }

  /**
   * Lists an organization's members.
   *
   * @example
   * ```ts
   * const members = await client.getOrganizationMembers("my-org");
   * ```
   */
  getOrganizationMembers(
    organization: string,
    options: PaginationOption = {},
  ): Promise<OrganizationMember[]> {
    return this.core.list({ path: ["members", organization] }, options.pagination);
  }

  /**
   * Adds a member to an organization.
   *
   * @example
   * ```ts
   * await client.addOrganizationMember("my-org", "surveyor1", { role: "member" });
   * ```
   */
  addOrganizationMember(
    organization: string,
    username: string,
    options: AddOrganizationMemberOptions,
  ): Promise<OrganizationMember> {
    return this.core.json({
      method: "POST",
      path: ["members", organization],
      form: { member: username, role: options.role, is_public: options.isPublic ?? false },
    });
  }

  /**
   * Changes a member's role or visibility.
   *
   * @example
   * ```ts
   * await client.patchOrganizationMembers("my-org", "surveyor1", { role: "admin" });
   * ```
   */
  patchOrganizationMembers(
    organization: string,
    username: string,
    options: PatchOrganizationMemberOptions,
  ): Promise<OrganizationMember> {
    return this.core.json({
      method: "PATCH",
      path: ["members", organization, username],
      form: { role: options.role, is_public: options.isPublic },
    });
  }

  /**
   * Removes a member from an organization (and from its teams and project collaborations).
   *
   * @example
   * ```ts
   * await client.removeOrganizationMembers("my-org", "surveyor1");
   * ```
   */
  async removeOrganizationMembers(organization: string, username: string): Promise<void> {
    await this.core.json({ method: "DELETE", path: ["members", organization, username] });
  }

  /**
   * Lists an organization's teams (never paginated by the server).
   *
   * @example
   * ```ts
   * const teams = await client.getOrganizationTeams("my-org");
   * ```
   */
  getOrganizationTeams(organization: string): Promise<Team[]> {
    return this.core.json({ path: ["organizations", organization, "teams"] });
  }

  /**
   * Creates a team.
   *
   * @example
   * ```ts
   * await client.createOrganizationTeam("my-org", "surveyors");
   * ```
   */
  createOrganizationTeam(organization: string, team: string): Promise<Team> {
    return this.core.json({
      method: "POST",
      path: ["organizations", organization, "teams"],
      form: { team },
    });
  }

  /**
   * Reads a team with its members.
   *
   * @example
   * ```ts
   * const team = await client.getOrganizationTeam("my-org", "surveyors");
   * ```
   */
  getOrganizationTeam(organization: string, team: string): Promise<Team> {
    return this.core.json({ path: ["organizations", organization, "teams", team] });
  }

  /**
   * Renames a team.
   *
   * @example
   * ```ts
   * await client.patchOrganizationTeam("my-org", "surveyors", "field-team");
   * ```
   */
  patchOrganizationTeam(organization: string, team: string, newName: string): Promise<Team> {
    return this.core.json({
      method: "PUT",
      path: ["organizations", organization, "teams", team],
      form: { team: newName },
    });
  }

  /**
   * Deletes a team.
   *
   * @example
   * ```ts
   * await client.deleteOrganizationTeam("my-org", "surveyors");
   * ```
   */
  async deleteOrganizationTeam(organization: string, team: string): Promise<void> {
    await this.core.json({
      method: "DELETE",
      path: ["organizations", organization, "teams", team],
    });
  }

  /**
   * Lists a team's members.
   *
   * @example
   * ```ts
   * const members = await client.getOrganizationTeamMembers("my-org", "surveyors");
   * ```
   */
  getOrganizationTeamMembers(organization: string, team: string): Promise<TeamMember[]> {
    return this.core.json({ path: ["organizations", organization, "teams", team, "members"] });
  }

  /**
   * Adds a user (by username or e-mail) to a team.
   *
   * @example
   * ```ts
   * await client.addOrganizationTeamMember("my-org", "surveyors", "surveyor1");
   * ```
   */
  addOrganizationTeamMember(
    organization: string,
    team: string,
    member: string,
  ): Promise<TeamMember> {
    return this.core.json({
      method: "POST",
      path: ["organizations", organization, "teams", team, "members"],
      form: { member },
    });
  }

  /**
   * Removes a user from a team.
   *
   * @example
   * ```ts
   * await client.removeOrganizationTeamMember("my-org", "surveyors", "surveyor1");
   * ```
   */
  async removeOrganizationTeamMember(
    organization: string,
    team: string,
    member: string,
  ): Promise<void> {
    await this.core.json({
      method: "DELETE",
      path: ["organizations", organization, "teams", team, "members", member],
    });
  }

  // --- file transfers (src/transfer) ---

  /**
   * Uploads the files of a local folder to a project: {@linkcode uploadFiles} (documented
   * there) with this client's core.
   *
   * @example Upload a project folder
   * ```ts
   * const results = await client.uploadFiles(projectId, "./survey", {
   *   filter: ["*.gpkg", "*.qgz", "DCIM/*"],
   *   onProgress: (e) => e.type === "file-end" && console.log(e.name, e.result?.status),
   * });
   * ```
   */
  uploadFiles(
    projectId: string,
    localDir: string,
    options?: UploadFilesOptions,
  ): Promise<TransferResult[]> {
    return transfer.uploadFiles(this.core, projectId, localDir, options);
  }

  /**
   * Uploads one local file under `remoteName`: {@linkcode uploadFile} (documented there) with
   * this client's core.
   *
   * @example
   * ```ts
   * await client.uploadFile(projectId, "./photo.jpg", "DCIM/photo.jpg");
   * ```
   */
  uploadFile(
    projectId: string,
    localPath: string,
    remoteName: string,
    options?: UploadFileOptions,
  ): Promise<TransferResult> {
    return transfer.uploadFile(this.core, projectId, localPath, remoteName, options);
  }

  /**
   * Downloads a project's files into `localDir`: {@linkcode downloadProject} (documented there)
   * with this client's core.
   *
   * @example Mirror the photos of a project
   * ```ts
   * const results = await client.downloadProject(projectId, "./mirror", { filter: "DCIM/*" });
   * const failed = results.filter((r) => r.status === "FAILED");
   * ```
   */
  downloadProject(
    projectId: string,
    localDir: string,
    options?: DownloadFilesOptions,
  ): Promise<TransferResult[]> {
    return transfer.downloadProject(this.core, projectId, localDir, options);
  }

  /**
   * Computes what a push, pull or sync of `localDir` would do, touching nothing:
   * {@linkcode planSync} (documented there) with this client's core.
   *
   * @example See what a sync would do
   * ```ts
   * const plan = await client.planSync(projectId, "./survey", { direction: "sync" });
   * for (const action of plan.actions) console.log(action.kind, action.name, action.reason);
   * for (const conflict of plan.conflicts) console.log("conflict", conflict.name);
   * ```
   */
  planSync(projectId: string, localDir: string, options: SyncOptions): Promise<SyncPlan> {
    return transfer.planSync(this.core, projectId, localDir, options);
  }

  /**
   * Pushes, pulls or syncs `localDir` with a project: {@linkcode syncProject} (documented
   * there) with this client's core.
   *
   * @example Pull the field edits, the cloud winning conflicts
   * ```ts
   * const { summary, results } = await client.syncProject(projectId, "./survey", {
   *   direction: "pull",
   *   prefer: "cloud",
   * });
   * console.log(summary.download, results.filter((r) => r.status === "FAILED"));
   * ```
   */
  syncProject(projectId: string, localDir: string, options: SyncOptions): Promise<SyncReport> {
    return transfer.syncProject(this.core, projectId, localDir, options);
  }

  /**
   * Downloads already-listed files into `localDir`: {@linkcode downloadFiles} (documented
   * there) with this client's core.
   *
   * @example Download only the small files
   * ```ts
   * const files = await client.listRemoteFiles(projectId);
   * await client.downloadFiles(projectId, files.filter((f) => f.size < 1_000_000), "./small");
   * ```
   */
  downloadFiles(
    projectId: string,
    files: readonly DownloadableFile[],
    localDir: string,
    options?: DownloadListedFilesOptions,
  ): Promise<TransferResult[]> {
    return transfer.downloadFiles(this.core, projectId, files, localDir, options);
  }

  /**
   * Downloads one file to `localPath`: {@linkcode downloadFile} (documented there) with this
   * client's core.
   *
   * @example Download an older version of a file
   * ```ts
   * const [file] = await client.listRemoteFiles(projectId);
   * const oldest = file.versions!.at(-1)!;
   * await client.downloadFile(projectId, file.name, "./old.gpkg", {
   *   version: oldest.version_id,
   *   etag: oldest.md5sum,
   * });
   * ```
   */
  downloadFile(
    projectId: string,
    name: string,
    localPath: string,
    options?: DownloadFileOptions,
  ): Promise<TransferResult> {
    return transfer.downloadFile(this.core, projectId, name, localPath, options);
  }

  /**
   * Downloads the files of the project's latest package into `localDir`:
   * {@linkcode packageDownload} (documented there) with this client's core.
   *
   * @example Package, wait, download for QField
   * ```ts
   * const job = await client.jobTrigger(projectId, "package");
   * await client.waitForJob(job.id);
   * await client.packageDownload(projectId, "./for-qfield");
   * ```
   */
  packageDownload(
    projectId: string,
    localDir: string,
    options?: DownloadFilesOptions,
  ): Promise<TransferResult[]> {
    return transfer.packageDownload(this.core, projectId, localDir, options);
  }

  /**
   * Deletes the project files matching any of `globs`: {@linkcode deleteFiles} (documented
   * there) with this client's core.
   *
   * @example See what would go, then delete it
   * ```ts
   * const plan = await client.deleteFiles(projectId, ["*.tmp"], { dryRun: true });
   * console.log(plan.map((r) => r.name));
   * await client.deleteFiles(projectId, ["*.tmp"], { throwOnError: true });
   * ```
   */
  deleteFiles(
    projectId: string,
    globs: readonly string[],
    options?: DeleteFilesOptions,
  ): Promise<TransferResult[]> {
    return transfer.deleteFiles(this.core, projectId, globs, options);
  }

  /**
   * Deletes one file with all its versions, or only the version `versionId`:
   * {@linkcode deleteFile} (documented there) with this client's core.
   *
   * @example
   * ```ts
   * await client.deleteFile(projectId, "DCIM/blurred.jpg");
   * ```
   */
  deleteFile(
    projectId: string,
    name: string,
    options?: DeleteFileOptions,
  ): Promise<TransferResult> {
    return transfer.deleteFile(this.core, projectId, name, options);
  }

  // --- users, subscriptions and XLSForm seeds ---

  /**
   * Creates a person account (`POST users/`). Only staff users may call it; others get a
   * {@linkcode QfcRequestException} with status 403, and servers older than the endpoint
   * answer 404 or 405. With `existOk`, an "already exists" answer (HTTP 409) resolves with
   * `null` instead of throwing; other errors (a bad name, a taken e-mail) still throw.
   *
   * @example Create a field account, or keep the existing one
   * ```ts
   * const created = await client.createUser("field_mapper_42", password, {
   *   email: "field_mapper_42@example.com",
   *   existOk: true,
   * });
   * console.log(created ? `created ${created.username}` : "already there");
   * ```
   *
   * @param username The new username.
   * @param password Its password (sent in the form body, never in the URL).
   * @param options The e-mail address and `existOk`.
   */
  async createUser(
    username: string,
    password: string,
    options: CreateUserOptions = {},
  ): Promise<CreatedUser | null> {
    const response = await this.core.request({
      method: "POST",
      path: ["users"],
      form: { username, password, email: options.email },
      acceptStatuses: options.existOk ? [409] : [],
    });
    if (response.status === 409) {
      await response.body?.cancel();
      return null;
    }
    return await response.json();
  }

  /**
   * Reads the current subscription of a user or organization
   * (`GET subscriptions/<account>/current/`): plan, status and storage. Users may read their
   * own; an organization's only its owner may read. Anything else, including an account that
   * does not exist, is a 403.
   *
   * @example Check the free storage before an upload
   * ```ts
   * const sub = await client.getCurrentSubscription("my-org");
   * const free = sub.active_storage_total_bytes - sub.storage_used_bytes;
   * console.log(`${sub.plan_display_name}: ${free} bytes free`);
   * ```
   *
   * @param account Username of the person or organization.
   */
  getCurrentSubscription(account: string): Promise<CurrentSubscription> {
    return this.core.json({ path: ["subscriptions", account, "current"] });
  }

  /**
   * Downloads the XLSForm a project was seeded with (`GET projects/<id>/seed/xlsform/`) into
   * `localDir`, streaming it to disk. The file name comes from the answer's
   * Content-Disposition (normally `xlsform.xlsx`), reduced to a plain file name: directory
   * parts, control characters and characters Windows forbids are removed, so nothing is ever
   * written outside `localDir`. An existing file of that name is replaced. Resolves with the
   * absolute path written; a project without an XLSForm gives a 404.
   *
   * @example
   * ```ts
   * const path = await client.getProjectSeedXlsform(projectId, "./forms");
   * console.log(`XLSForm saved to ${path}`);
   * ```
   *
   * @param projectId The project's id.
   * @param localDir The directory to write to (created if missing).
   */
  async getProjectSeedXlsform(projectId: string, localDir: string): Promise<string> {
    const response = await this.core.request({ path: ["projects", projectId, "seed", "xlsform"] });
    return await saveResponseToDir(response, localDir, "xlsform");
  }

  async *#iterate<T>(request: RequestOptions, pageSize?: number): AsyncGenerator<T> {
    for await (const page of this.core.pages<T>(request, pageSize)) yield* page;
  }
}

function projectsRequest(options: ListProjectsOptions): RequestOptions {
  return {
    path: ["projects"],
    query: {
      "include-public": options.includePublic ?? false,
      owner: options.owner,
      name: options.name,
      search: options.search,
      ordering: options.ordering,
    },
  };
}

function jobsRequest(projectId: string, options: ListJobsOptions): RequestOptions {
  return { path: ["jobs"], query: { project_id: projectId, type: options.jobType } };
}

async function readLocalFile(path: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    const reason = (error as { code?: string }).code === "ENOENT" ? "no such file" : String(error);
    throw new QfcException(`Cannot read "${path}": ${reason}`, { cause: error });
  }
}

function formatDuration(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
