/**
 * Collaborator routes (opengisch/QFieldCloud
 * `docker-app/qfieldcloud/core/views/collaborators_views.py`): `GET|POST collaborators/{pid}/` and
 * `GET|PUT|PATCH|DELETE collaborators/{pid}/{username}/`, all for project
 * admins and managers only.
 *
 * @module
 */
import { ApiError, type RequestContext, type Router } from "../router.ts";
import { formatDateTime } from "../dates.ts";
import type { Project, ProjectCollaborator } from "../entities.ts";
import { isProjectRole } from "../project_rules.ts";
import { requireRole, stringField } from "./project_access.ts";

/**
 * The collaborator JSON of the API.
 *
 * @example
 * ```ts
 * import { collaboratorJson } from "./collaborators.ts";
 * import type { ProjectCollaborator } from "../entities.ts";
 * declare const c: ProjectCollaborator;
 * collaboratorJson(c).role;
 * ```
 */
export function collaboratorJson(c: ProjectCollaborator): Record<string, unknown> {
  return {
    project_id: c.project.id,
    collaborator: c.collaborator.username,
    role: c.role,
    created_by: c.createdBy?.username ?? null,
    updated_by: c.updatedBy?.username ?? null,
    created_at: formatDateTime(c.createdAt),
    updated_at: formatDateTime(c.updatedAt),
  };
}

/** The project of the URL, with the caller checked for admin/manager. */
function managedProject(ctx: RequestContext): Project {
  const project = ctx.state.findProject(ctx.params.projectid);
  if (!project) throw new ApiError("object_not_found");
  requireRole(ctx.state, ctx.user, project, "manager");
  return project;
}

function collaboratorOf(ctx: RequestContext, project: Project): ProjectCollaborator {
  const user = ctx.state.findUser(ctx.params.username);
  const entry = user && ctx.state.findCollaborator(project, user);
  if (!entry) throw new ApiError("object_not_found");
  return entry;
}

function list(ctx: RequestContext): Response {
  const project = managedProject(ctx);
  return ctx.paginate(ctx.state.collaboratorsOf(project).map(collaboratorJson));
}

async function add(ctx: RequestContext): Promise<Response> {
  const state = ctx.state;
  const project = managedProject(ctx);
  const { data } = await ctx.parseBody();
  const username = stringField(data, "collaborator");
  const role = data["role"];
  // Serializer validation: unknown user (SlugRelatedField) or bad role choice.
  const collaborator = username === undefined ? undefined : state.findUser(username);
  if (!collaborator || !isProjectRole(role)) throw new ApiError("api_error", 400);
  // `ProjectCollaborator.save` → `full_clean`.
  if (!state.mayCollaborate(project, collaborator)) throw new ApiError("validation_error");
  const entry = state.addCollaborator(project, collaborator, role, ctx.user ?? null);
  return ctx.json(collaboratorJson(entry), 201);
}

function get(ctx: RequestContext): Response {
  const project = managedProject(ctx);
  return ctx.json(collaboratorJson(collaboratorOf(ctx, project)));
}

async function update(ctx: RequestContext): Promise<Response> {
  const project = managedProject(ctx);
  const entry = collaboratorOf(ctx, project);
  const { data } = await ctx.parseBody();
  const role = data["role"];
  if (role === undefined && ctx.method === "PATCH") return ctx.json(collaboratorJson(entry));
  if (!isProjectRole(role)) throw new ApiError("api_error", 400);
  entry.role = role;
  entry.updatedBy = ctx.user ?? null;
  entry.updatedAt = ctx.state.now();
  return ctx.json(collaboratorJson(entry));
}

function remove(ctx: RequestContext): Response {
  const project = managedProject(ctx);
  const entry = collaboratorOf(ctx, project);
  ctx.state.removeCollaborator(entry);
  return ctx.empty(204);
}

/**
 * Registers the collaborator routes.
 *
 * @example
 * ```ts
 * import { register } from "./collaborators.ts";
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("GET", "collaborators/<uuid:projectid>/", list);
  router.add("POST", "collaborators/<uuid:projectid>/", add);
  router.add("GET", "collaborators/<uuid:projectid>/<str:username>/", get);
  router.add("PUT", "collaborators/<uuid:projectid>/<str:username>/", update);
  router.add("PATCH", "collaborators/<uuid:projectid>/<str:username>/", update);
  router.add("DELETE", "collaborators/<uuid:projectid>/<str:username>/", remove);
}
