/**
 * Job routes (opengisch/QFieldCloud `docker-app/qfieldcloud/core/views/jobs_views.py`):
 * `GET|POST jobs/` and `GET jobs/{id}/`.
 *
 * Order of checks on `POST jobs/` (our choice where the server's
 * code leaves it open): project lookup (missing/unknown → 404, not a UUID → 400), no role
 * at all → 403, bad or missing `type` (or `create_project`) → 500, role too
 * low for the type → 403, then `force` (`bool(int())`, so `"true"` → 500).
 *
 * @module
 */
import { ApiError, type RequestContext, type Router } from "../router.ts";
import { formatDateTime, formatNullableDateTime } from "../dates.ts";
import type { Job, JobType } from "../entities.ts";
import { ACTIVE_JOB_STATUSES } from "../project_rules.ts";
import type { ServerState } from "../server_state.ts";
import { createJob } from "../jobs.ts";
import { parseUuid, projectById, pythonBoolInt, requireRole } from "./project_access.ts";

/**
 * The job JSON of the API: the detail form (with `feedback` and `output`) or
 * the list form (without them).
 *
 * @example
 * ```ts
 * import { jobJson } from "./jobs.ts";
 * import type { Job } from "../entities.ts";
 * declare const job: Job;
 * const item = jobJson(job, false); // no feedback/output keys
 * ```
 */
export function jobJson(job: Job, detail: boolean): Record<string, unknown> {
  const json: Record<string, unknown> = {
    id: job.id,
    created_at: formatDateTime(job.createdAt),
    created_by: job.createdBy.pk,
    finished_at: formatNullableDateTime(job.finishedAt),
    project_id: job.project.id,
    started_at: formatNullableDateTime(job.startedAt),
    status: job.status,
    type: job.type,
    updated_at: formatDateTime(job.updatedAt),
  };
  if (detail) {
    json.feedback = job.feedback;
    json.output = job.output;
  }
  return json;
}

const CREATABLE_TYPES: ReadonlySet<string> = new Set([
  "package",
  "delta_apply",
  "process_projectfile",
]);

/**
 * The package job `PackageJobSerializer.get_lastest_not_finished_job` returns:
 * among the project's active package jobs ordered by `-started_at` (nulls
 * first, as in PostgreSQL) then `-created_at`, the last one.
 */
function unfinishedPackageJob(state: ServerState, projectId: string): Job | undefined {
  const active = state.jobsOfProject(projectId).filter((j) =>
    j.type === "package" && ACTIVE_JOB_STATUSES.has(j.status)
  );
  active.sort((a, b) => {
    const sa = a.startedAt?.getTime() ?? Infinity;
    const sb = b.startedAt?.getTime() ?? Infinity;
    if (sa !== sb) return sb - sa;
    return b.createdAt.getTime() - a.createdAt.getTime();
  });
  return active.at(-1);
}

function listJobs(ctx: RequestContext): Response {
  const project = projectById(ctx.state, ctx.queryParam("project_id"));
  requireRole(ctx.state, ctx.user, project);
  // `type` is ignored, as on the server; oldest first, so the newest is last.
  const jobs = ctx.state.jobsOfProject(project.id).map((job) => jobJson(job, false));
  return ctx.paginate(jobs);
}

async function triggerJob(ctx: RequestContext): Promise<Response> {
  const user = ctx.requireUser();
  const { data } = await ctx.parseBody();
  const project = projectById(ctx.state, data["project_id"]);
  requireRole(ctx.state, user, project);
  const type = data["type"];
  if (typeof type !== "string" || !CREATABLE_TYPES.has(type)) {
    // `can_create_jobs` raises NotImplementedError.
    throw new ApiError("unknown_error");
  }
  if (type === "package") {
    if (project.projectType !== "regular") throw new ApiError("permission_denied");
  } else {
    requireRole(ctx.state, user, project, "reporter");
  }
  const force = pythonBoolInt(data["force"]);
  if (type === "package" && !force) {
    const existing = unfinishedPackageJob(ctx.state, project.id);
    if (existing) return ctx.json(jobJson(existing, true), 200);
    if (!project.theQgisFileName) throw new ApiError("no_qgis_project");
  }
  const job = createJob(ctx.state, {
    projectId: project.id,
    type: type as JobType,
    createdBy: user,
  });
  return ctx.json(jobJson(job, true), 201);
}

function getJob(ctx: RequestContext): Response {
  const id = parseUuid(ctx.params.id);
  if (!id) throw new ApiError("validation_error");
  const job = ctx.state.jobs.get(id);
  if (!job) throw new ApiError("permission_denied");
  requireRole(ctx.state, ctx.user, job.project);
  return ctx.json(jobJson(job, true));
}

/**
 * Registers the job routes.
 *
 * @example
 * ```ts
 * import { register } from "./jobs.ts";
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("GET", "jobs/", listJobs);
  router.add("POST", "jobs/", triggerJob);
  router.add("GET", "jobs/<pk:id>/", getJob);
}
