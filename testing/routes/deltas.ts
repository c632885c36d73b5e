/**
 * Delta routes (opengisch/QFieldCloud `docker-app/qfieldcloud/core/views/deltas_views.py`):
 * `POST deltas/{pid}/` pushes a delta file,
 * `GET deltas/{pid}/` (and `GET deltas/{pid}/{deltafile_id}/`) list deltas.
 *
 * As on the server (`ListCreateDeltasView.post`): the JSON is parsed and
 * schema-checked first (any failure → 500), then the QGIS file and the
 * project id are checked (400), then deltas are created in one transaction
 * (a missing `clientId` or a uuid repeated inside the file → 500 and nothing
 * is kept). Already known uuids are skipped. A reporter's non-`create` delta
 * is stored as `unpermitted`. A `delta_apply` job is created when a delta was
 * created and no `delta_apply` job of the project is pending or queued.
 * Faulty delta files are not kept (the server stores them for its admins only).
 *
 * @module
 */
import { ApiError, type RequestContext, type Router } from "../router.ts";
import { formatDateTime } from "../dates.ts";
import type { Delta } from "../entities.ts";
import { projectRole, roleAtLeast } from "../project_rules.ts";
import { createJob } from "../jobs.ts";
import { validateDeltafile } from "../deltafile.ts";
import { requireRole } from "./project_access.ts";

const DELTA_STATUS_NAMES: Record<Delta["lastStatus"], string> = {
  pending: "STATUS_PENDING",
  started: "STATUS_BUSY",
  applied: "STATUS_APPLIED",
  conflict: "STATUS_CONFLICT",
  not_applied: "STATUS_NOT_APPLIED",
  error: "STATUS_ERROR",
  ignored: "STATUS_IGNORED",
  unpermitted: "STATUS_UNPERMITTED",
};

const UNPERMITTED_MESSAGE =
  "User has no rights to create delta on this project. Try inviting him as a collaborator with proper permissions and try again.";

/**
 * Python's `str()` of a JSON value (DRF's `CharField` applied to the
 * `last_feedback` JSON gives `{'msg': 'x'}`).
 */
function pythonStr(value: unknown, nested = false): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    if (!nested) return value;
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const body = value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll("\t", "\\t")
      .replaceAll(quote, `\\${quote}`);
    return `${quote}${body}${quote}`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => pythonStr(v, true)).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${pythonStr(k, true)}: ${pythonStr(v, true)}`).join(", ")}}`;
}

/**
 * The delta JSON of `GET deltas/{pid}/` (`DeltaSerializer`).
 *
 * @example
 * ```ts
 * import { deltaJson } from "./deltas.ts";
 * import type { Delta } from "../entities.ts";
 * declare const delta: Delta;
 * deltaJson(delta).status; // e.g. "STATUS_PENDING"
 * ```
 */
export function deltaJson(delta: Delta): Record<string, unknown> {
  return {
    id: delta.id,
    deltafile_id: delta.deltafileId,
    created_by: delta.createdBy.username,
    created_at: formatDateTime(delta.createdAt),
    updated_at: formatDateTime(delta.updatedAt),
    status: DELTA_STATUS_NAMES[delta.lastStatus] ?? "STATUS_ERROR",
    output: delta.lastFeedback === null || delta.lastFeedback === undefined
      ? null
      : pythonStr(delta.lastFeedback),
    last_status: delta.lastStatus,
    last_feedback: delta.lastFeedback ?? null,
    content: delta.content,
  };
}

function projectFromUrl(ctx: RequestContext) {
  // `Project.objects.get(id=projectid)` in the permission class: unknown → 404.
  const project = ctx.state.findProject(ctx.params.projectid);
  if (!project) throw new ApiError("object_not_found");
  return project;
}

async function readFilePart(ctx: RequestContext): Promise<string | undefined> {
  const { data, files } = await ctx.parseBody();
  const file = files.find((f) => f.field === "file");
  if (file) return new TextDecoder().decode(file.content);
  // A plain `file` field reaches `json.load(str)`, which fails: 500.
  if ("file" in data) throw new ApiError("unknown_error");
  return undefined;
}

async function pushDeltas(ctx: RequestContext): Promise<Response> {
  const state = ctx.state;
  const user = ctx.requireUser();
  const project = projectFromUrl(ctx);
  requireRole(state, user, project, "reporter");
  if (project.projectType === "template") throw new ApiError("permission_denied");
  const text = await readFilePart(ctx);
  if (text === undefined) throw new ApiError("empty_content");

  let deltafile;
  try {
    deltafile = validateDeltafile(text);
  } catch {
    throw new ApiError("unknown_error");
  }
  if (!project.theQgisFileName) throw new ApiError("no_qgis_project");
  if (deltafile.project !== project.id) {
    throw new ApiError(
      "invalid_deltafile",
      undefined,
      `Deltafile's project id (${deltafile.project}) doesn't match URL parameter project id (${project.id}).`,
    );
  }

  const role = projectRole(state, user, project)!.role;
  const created: Delta[] = [];
  const seen = new Set<string>();
  for (const content of deltafile.deltas) {
    if (state.deltas.has(content.uuid)) continue; // duplicate delta id: skipped
    // Inside the transaction: a KeyError or an IntegrityError rolls everything back.
    if (!("clientId" in content) || seen.has(content.uuid)) throw new ApiError("unknown_error");
    seen.add(content.uuid);
    const permitted = roleAtLeast(role, "editor") ||
      (role === "reporter" && content.method === "create");
    const now = state.now();
    created.push({
      id: content.uuid,
      deltafileId: deltafile.id,
      project,
      clientId: String(content.clientId),
      content,
      lastStatus: permitted ? "pending" : "unpermitted",
      lastFeedback: permitted ? null : { msg: UNPERMITTED_MESSAGE },
      lastModifiedPk: null,
      output: null,
      createdBy: user,
      createdAt: now,
      updatedAt: now,
    });
  }
  for (const delta of created) state.deltas.set(delta.id, delta);

  const hasPending = state.deltasOfProject(project.id).some((d) => d.lastStatus === "pending");
  const applyWaiting = state.jobsOfProject(project.id).some((j) =>
    j.type === "delta_apply" && (j.status === "pending" || j.status === "queued")
  );
  if (created.length > 0 && hasPending && !applyWaiting) {
    createJob(state, { projectId: project.id, type: "delta_apply", createdBy: user });
  }
  return ctx.empty(200);
}

function listDeltas(ctx: RequestContext): Response {
  const project = projectFromUrl(ctx);
  requireRole(ctx.state, ctx.user, project);
  const deltafileId = ctx.params.deltafileid;
  const deltas = ctx.state.deltasOfProject(project.id)
    .filter((d) => deltafileId === undefined || d.deltafileId.toLowerCase() === deltafileId);
  return ctx.paginate(deltas.map(deltaJson));
}

/**
 * Registers the delta routes.
 *
 * @example
 * ```ts
 * import { register } from "./deltas.ts";
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("GET", "deltas/<uuid:projectid>/", listDeltas);
  router.add("POST", "deltas/<uuid:projectid>/", pushDeltas);
  router.add("GET", "deltas/<uuid:projectid>/<uuid:deltafileid>/", listDeltas);
}
