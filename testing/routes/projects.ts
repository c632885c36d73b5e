/**
 * Project routes (opengisch/QFieldCloud `docker-app/qfieldcloud/project/views.py`): list,
 * create, retrieve, update, delete,
 * seed, XLSForm and thumbnail.
 *
 * @module
 */
import { createJob } from "../jobs.ts";
import { ApiError, jsonResponse, paginate, type RequestContext, type Router } from "../router.ts";
import { formatDateTime, formatNullableDateTime } from "../dates.ts";
import type { Project, ProjectRole, ProjectSeed, ProjectType, User } from "../entities.ts";
import {
  canRepackage,
  needsRepackaging,
  projectRole,
  projectStatus,
  projectStorageBytes,
  roleAtLeast,
} from "../project_rules.ts";
import type { ServerState } from "../server_state.ts";

/**
 * The project JSON of `ProjectSerializer`, keys in `Meta.fields` order.
 * `withRole: false` leaves out `user_role`/`user_role_origin` (as the create
 * response does).
 *
 * @example
 * ```ts
 * import { projectJson } from "./projects.ts";
 * import { ServerState } from "../server_state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * const json = projectJson(state, state.addProject({ name: "p1", owner: alice }), alice);
 * console.log(json.status); // "failed"
 * ```
 */
export function projectJson(
  state: ServerState,
  project: Project,
  user: User | undefined,
  withRole = true,
): Record<string, unknown> {
  const role = projectRole(state, user, project);
  const json: Record<string, unknown> = {
    id: project.id,
    name: project.name,
    project_type: project.projectType,
    owner: project.owner.username,
    description: project.description,
    private: !project.isPublic,
    is_public: project.isPublic,
    created_at: formatDateTime(project.createdAt),
    updated_at: formatDateTime(project.updatedAt),
    data_last_packaged_at: formatNullableDateTime(project.dataLastPackagedAt),
    data_last_updated_at: formatNullableDateTime(project.dataLastUpdatedAt),
    restricted_data_last_updated_at: formatNullableDateTime(project.restrictedDataLastUpdatedAt),
    can_repackage: canRepackage(project),
    needs_repackaging: needsRepackaging(state, project, user),
    status: projectStatus(state, project),
  };
  if (withRole) {
    json.user_role = role?.role ?? null;
    json.user_role_origin = role?.origin ?? null;
  }
  Object.assign(json, {
    shared_datasets_project_id: project.sharedDatasetsProjectId,
    is_shared_datasets_project: project.projectType === "shared_datasets",
    is_featured: project.isFeatured,
    is_attachment_download_on_demand: project.isAttachmentDownloadOnDemand,
    has_restricted_projectfiles: project.hasRestrictedProjectfiles,
    overwrite_conflicts: project.overwriteConflicts,
    file_storage_bytes: projectStorageBytes(project),
    the_qgis_file_name: project.theQgisFileName,
  });
  return json;
}

const TRUE_VALUES = new Set(["t", "y", "yes", "true", "on", "1"]);
const FALSE_VALUES = new Set(["f", "n", "no", "false", "off", "0"]);

/** DRF `BooleanField` parsing; invalid values are a 400 api_error. */
function drfBoolean(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === "string") {
    const v = value.toLowerCase();
    if (TRUE_VALUES.has(v)) return true;
    if (FALSE_VALUES.has(v)) return false;
  }
  throw new ApiError("api_error", 400);
}

/** DRF `CharField` parsing of an optional string field. */
function drfString(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new ApiError("api_error", 400);
}

const NAME_RE = /^[a-zA-Z0-9-_.]+$/;
const PROJECT_TYPES: ReadonlySet<string> = new Set(["regular", "template", "shared_datasets"]);

/** Whether `user` may create projects owned by `owner` (self, or admin of the organization). */
function canCreateFor(state: ServerState, user: User, owner: User): boolean {
  if (owner === user) return true;
  return owner.type === "organization" && state.isOrganizationAdmin(owner, user);
}

/** The project of a `<pk:id>` route: 400 for a non-UUID, 404 when unknown. */
function routeProject(ctx: RequestContext): Project {
  const raw = ctx.params.id;
  const hex = raw.replace(/^urn:uuid:/i, "").replace(/^\{|\}$/g, "").replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new ApiError("validation_error");
  const h = hex.toLowerCase();
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
    h.slice(20)
  }`;
  const project = ctx.state.findProject(id);
  if (!project) throw new ApiError("object_not_found");
  return project;
}

function requireRole(ctx: RequestContext, project: Project, minimum: ProjectRole): ProjectRole {
  const role = projectRole(ctx.state, ctx.user, project)?.role;
  if (!role || !roleAtLeast(role, minimum)) throw new ApiError("permission_denied");
  return role;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sorts projects by DRF `ordering` terms (`owner`, `name`, `created_at`, `-` for descending).
 * Each project's sort keys are read once, not per comparison: a page of 10,000 projects is
 * sorted on every request.
 */
function sortProjects(projects: Project[], terms: string[]): Project[] {
  const keys: Record<string, ((p: Project) => string | number) | undefined> = {
    owner: (p) => p.owner.username,
    name: (p) => p.name,
    created_at: (p) => p.createdAt.getTime(),
    is_featured: (p) => (p.isFeatured ? 1 : 0),
  };
  const order = terms.flatMap((term) => {
    const desc = term.startsWith("-");
    const key = keys[desc ? term.slice(1) : term];
    return key ? [{ key, sign: desc ? -1 : 1 }] : [];
  });
  const decorated = projects.map((project) => ({
    project,
    values: order.map(({ key }) => key(project)),
  }));
  decorated.sort((a, b) => {
    for (let i = 0; i < order.length; i++) {
      const ka = a.values[i], kb = b.values[i];
      const c = typeof ka === "number" && typeof kb === "number"
        ? ka - kb
        : compareStrings(String(ka), String(kb));
      if (c !== 0) return order[i].sign * c;
    }
    return 0;
  });
  return decorated.map((d) => d.project);
}

function listProjects(ctx: RequestContext): Response {
  const state = ctx.state;
  const user = ctx.requireUser();
  const includePublicUnderscore = ctx.queryParam("include_public");
  if (
    includePublicUnderscore !== null && includePublicUnderscore !== "0" &&
    includePublicUnderscore !== "1"
  ) {
    throw new ApiError("api_error", 400);
  }
  const includePublic = ctx.queryParam("include-public") === "1" ||
    includePublicUnderscore === "1";
  const projects = [...state.projects.values()].filter((p) => {
    const role = projectRole(state, user, p);
    if (!role) return false;
    return role.origin !== "public" || includePublic;
  });
  return projectsPage(ctx, filterAndOrder(ctx, projects), user);
}

/** Serializes only the requested page, as DRF does: a page of a long list stays cheap. */
function projectsPage(ctx: RequestContext, projects: Project[], user: User | undefined): Response {
  const page = paginate(ctx, projects);
  const json = page.items.map((p) => projectJson(ctx.state, p, user));
  return jsonResponse(json, 200, page.headers);
}

function filterAndOrder(ctx: RequestContext, input: Project[]): Project[] {
  let projects = input;
  const owner = ctx.queryParam("owner");
  if (owner) projects = projects.filter((p) => p.owner.username === owner);
  const name = ctx.queryParam("name");
  if (name) projects = projects.filter((p) => p.name.toLowerCase() === name.toLowerCase());
  const search = ctx.queryParam("search");
  if (search) {
    const terms = search.split(/[\s,]+/).filter((t) => t !== "").map((t) => t.toLowerCase());
    projects = projects.filter((p) =>
      terms.every((t) =>
        p.name.toLowerCase().includes(t) || p.description.toLowerCase().includes(t) ||
        p.owner.username.toLowerCase().includes(t)
      )
    );
  }
  const ordering = (ctx.queryParam("ordering") ?? "").split(",").map((t) => t.trim())
    .filter((t) => ["owner", "name", "created_at"].includes(t.replace(/^-/, "")));
  const defaults = ["-is_featured", "owner", "name"];
  return sortProjects(projects, ordering.length > 0 ? ordering : defaults);
}

function listPublicProjects(ctx: RequestContext): Response {
  const state = ctx.state;
  const projects = filterAndOrder(ctx, [...state.projects.values()].filter((p) => p.isPublic));
  return projectsPage(ctx, projects, ctx.user);
}

/** Applies the writable serializer fields shared by create and update. */
function applyFields(project: Project, data: Record<string, unknown>): void {
  if (data.description !== undefined) project.description = drfString(data.description);
  if (data.private !== undefined) project.isPublic = !drfBoolean(data.private);
  if (data.is_public !== undefined) project.isPublic = drfBoolean(data.is_public);
  if (data.is_featured !== undefined) project.isFeatured = drfBoolean(data.is_featured);
  if (data.is_attachment_download_on_demand !== undefined) {
    project.isAttachmentDownloadOnDemand = drfBoolean(data.is_attachment_download_on_demand);
  }
  if (data.has_restricted_projectfiles !== undefined) {
    project.hasRestrictedProjectfiles = drfBoolean(data.has_restricted_projectfiles);
  }
  if (data.overwrite_conflicts !== undefined) {
    project.overwriteConflicts = drfBoolean(data.overwrite_conflicts);
  }
}

function validName(value: unknown): string {
  if (value === undefined || value === null) throw new ApiError("api_error", 400);
  const name = drfString(value);
  if (!NAME_RE.test(name)) throw new ApiError("api_error", 400);
  return name;
}

function parseSeed(raw: unknown): Record<string, unknown> {
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    return raw as Record<string, unknown>;
  }
  if (typeof raw !== "string") throw new ApiError("api_error", 400);
  try {
    const parsed = JSON.parse(raw);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new ApiError("api_error", 400);
    }
    return parsed as Record<string, unknown>;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError("api_error", 400);
  }
}

async function createProject(ctx: RequestContext): Promise<Response> {
  const state = ctx.state;
  const user = ctx.requireUser();
  const { data, files } = await ctx.parseBody();
  // The permission class runs first: it looks the owner up (404) and checks the right (403).
  let owner = user;
  if (data.owner !== undefined && data.owner !== null && data.owner !== "") {
    const found = state.findUser(drfString(data.owner));
    if (!found) throw new ApiError("object_not_found");
    owner = found;
  }
  if (owner.type === "team" || !canCreateFor(state, user, owner)) {
    throw new ApiError("permission_denied");
  }
  const name = validName(data.name);
  let projectType: ProjectType = "regular";
  if (data.project_type !== undefined) {
    const t = drfString(data.project_type);
    if (!PROJECT_TYPES.has(t)) throw new ApiError("api_error", 400);
    projectType = t as ProjectType;
  }
  let seed: ProjectSeed | null = null;
  const xlsform = files.find((f) => f.field === "xlsform_file");
  if (data.seed !== undefined || xlsform || data.clone_from_project) {
    const settings = data.seed !== undefined && data.seed !== "" ? parseSeed(data.seed) : {};
    let cloneFrom: string | null = null;
    if (data.clone_from_project) {
      const source = state.findProject(drfString(data.clone_from_project).toLowerCase());
      if (!source) throw new ApiError("api_error", 400);
      if (!projectRole(state, user, source)) throw new ApiError("not_cloneable_project");
      cloneFrom = source.id;
    }
    const extent = Array.isArray(settings.extent) ? settings.extent.map(Number) : null;
    seed = {
      name,
      extent,
      cloneFromProject: cloneFrom,
      settings,
      xlsform: xlsform ? { filename: xlsform.filename, content: xlsform.content } : null,
    };
  }
  if (state.findProjectByName(owner, name)) throw new ApiError("project_already_exists");
  const project = state.addProject({ name, owner, projectType });
  applyFields(project, data);
  project.seed = seed;
  if (seed) createJob(state, { projectId: project.id, type: "create_project", createdBy: user });
  return ctx.json(projectJson(state, project, user, false), 201);
}

function retrieveProject(ctx: RequestContext): Response {
  const project = routeProject(ctx);
  requireRole(ctx, project, "reader");
  return ctx.json(projectJson(ctx.state, project, ctx.user));
}

async function updateProject(ctx: RequestContext): Promise<Response> {
  const state = ctx.state;
  const project = routeProject(ctx);
  const user = ctx.requireUser();
  requireRole(ctx, project, "manager");
  const { data } = await ctx.parseBody();
  const partial = ctx.method === "PATCH";
  if (!partial && data.name === undefined) throw new ApiError("api_error", 400);
  const name = data.name !== undefined ? validName(data.name) : project.name;
  let owner = project.owner;
  if (data.owner !== undefined && data.owner !== null && data.owner !== "") {
    const found = state.findUser(drfString(data.owner));
    if (!found || found.type === "team") throw new ApiError("api_error", 400);
    owner = found;
  }
  if (data.project_type !== undefined && !PROJECT_TYPES.has(drfString(data.project_type))) {
    throw new ApiError("api_error", 400);
  }
  if (name !== project.name || owner !== project.owner) {
    const other = state.findProjectByName(owner, name);
    if (other && other !== project) throw new ApiError("project_already_exists");
  }
  if (owner !== project.owner) {
    if (!canCreateFor(state, user, owner)) throw new ApiError("permission_denied");
    const free = state.storageQuotaBytes - state.storageUsedBytes(owner);
    if (projectStorageBytes(project) > free) throw new ApiError("over_quota");
  }
  const before = { ...project };
  try {
    applyFields(project, data);
  } catch (e) {
    Object.assign(project, before);
    throw e;
  }
  project.name = name;
  project.owner = owner;
  if (data.project_type !== undefined) {
    project.projectType = drfString(data.project_type) as ProjectType;
  }
  project.updatedAt = state.now();
  return ctx.json(projectJson(state, project, user));
}

async function deleteProject(ctx: RequestContext): Promise<Response> {
  const project = routeProject(ctx);
  requireRole(ctx, project, "manager");
  await ctx.state.deleteProject(project);
  return ctx.empty(204);
}

function seedJson(
  ctx: RequestContext,
  project: Project,
  seed: ProjectSeed,
): Record<string, unknown> {
  return {
    project: project.id,
    name: seed.name,
    extent: seed.extent,
    clone_from_project: seed.cloneFromProject,
    settings: seed.settings,
    xlsform_file: seed.xlsform
      ? `${ctx.url.origin}/api/v1/projects/${project.id}/seed/xlsform/`
      : null,
    crs: "EPSG:3857",
  };
}

function getSeed(ctx: RequestContext): Response {
  const project = routeProject(ctx);
  requireRole(ctx, project, "reader");
  if (!project.seed) throw new ApiError("object_not_found");
  return ctx.json(seedJson(ctx, project, project.seed));
}

function getSeedXlsform(ctx: RequestContext): Response {
  const project = routeProject(ctx);
  requireRole(ctx, project, "reader");
  const xlsform = project.seed?.xlsform;
  if (!xlsform) throw new ApiError("object_not_found");
  // The server lower-cases the suffix: `Path(name).suffix.lower()`.
  const ext = (/\.[A-Za-z0-9]+$/.exec(xlsform.filename)?.[0] ?? "").toLowerCase();
  return new Response(xlsform.content.slice(), {
    status: 200,
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(xlsform.content.byteLength),
      "content-disposition": `attachment; filename="xlsform${ext}"`,
    },
  });
}

/** Largest thumbnail accepted: 5 MiB and 10000 px per side. */
const THUMBNAIL_MAX_BYTES = 5 * 1024 * 1024;
const THUMBNAIL_MAX_PX = 10000;

/** Reads the pixel size of a PNG or JPEG, or undefined when the bytes are neither. */
export function imageSize(
  bytes: Uint8Array,
): { type: "png" | "jpeg"; width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.byteLength >= 24 && png.every((b, i) => bytes[i] === b)) {
    if (String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") return undefined;
    return { type: "png", width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes.byteLength >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i + 9 < bytes.byteLength) {
      if (bytes[i] !== 0xff) return undefined;
      const marker = bytes[i + 1];
      if (marker === 0xff) {
        i++;
        continue;
      }
      const length = view.getUint16(i + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { type: "jpeg", height: view.getUint16(i + 5), width: view.getUint16(i + 7) };
      }
      i += 2 + length;
    }
  }
  return undefined;
}

async function uploadThumbnail(ctx: RequestContext): Promise<Response> {
  const project = routeProject(ctx);
  requireRole(ctx, project, "reporter");
  const type = (ctx.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "multipart/form-data") throw new ApiError("api_error", 415);
  const { files } = await ctx.parseBody();
  const thumbnail = files.find((f) => f.field === "thumbnail");
  if (!thumbnail) throw new ApiError("api_error", 400);
  const size = imageSize(thumbnail.content);
  if (
    !size || thumbnail.content.byteLength > THUMBNAIL_MAX_BYTES || size.width < 1 ||
    size.height < 1 || size.width > THUMBNAIL_MAX_PX || size.height > THUMBNAIL_MAX_PX
  ) {
    throw new ApiError("api_error", 400);
  }
  project.thumbnail = {
    content: thumbnail.content,
    contentType: size.type === "png" ? "image/png" : "image/jpeg",
  };
  project.updatedAt = ctx.state.now();
  return ctx.empty(204);
}

/**
 * Registers the project routes.
 *
 * @example
 * ```ts
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * import { register } from "./projects.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("GET", "projects/", listProjects);
  router.add("POST", "projects/", createProject);
  router.add("GET", "projects/public/", listPublicProjects);
  router.add("GET", "projects/<pk:id>/", retrieveProject);
  router.add("PUT", "projects/<pk:id>/", updateProject);
  router.add("PATCH", "projects/<pk:id>/", updateProject);
  router.add("DELETE", "projects/<pk:id>/", deleteProject);
  router.add("GET", "projects/<pk:id>/seed/", getSeed);
  router.add("GET", "projects/<pk:id>/seed/xlsform/", getSeedXlsform);
  router.add("POST", "projects/<pk:id>/thumbnail/", uploadThumbnail);
}
