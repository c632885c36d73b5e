/**
 * Package routes (opengisch/QFieldCloud `docker-app/qfieldcloud/core/views/package_views.py`):
 * `GET packages/{pid}/latest/`,
 * `GET packages/{pid}/latest/files/{filename}/` and the worker's
 * `POST packages/{pid}/{job_id}/files/{filename}/`.
 *
 * The latest package is the caller's latest package job that is finished,
 * failed or stopped. Its files are the job's package files plus the
 * project's files under the attachment directories (served from the project
 * files). Downloads use the same production mechanics as project files.
 *
 * @module
 */
import { ApiError, type RequestContext, type Router } from "../router.ts";
import { formatDateTime, formatLastModified } from "../dates.ts";
import type { FileEntry, Job, Project } from "../entities.ts";
import { attachmentDirs } from "../project_rules.ts";
import {
  addPackageFile,
  type PackageFile,
  packageFilesOf,
  packageLayersOf,
  packageStorageKey,
} from "../job_work.ts";
import { downloadResponse } from "./files.ts";
import { parseUuid, requireRole } from "./project_access.ts";

const DONE_STATUSES: ReadonlySet<Job["status"]> = new Set(["finished", "failed", "stopped"]);

function routeProject(ctx: RequestContext): Project {
  const project = ctx.state.findProject(ctx.params.projectid);
  if (!project) throw new ApiError("object_not_found");
  return project;
}

/** `Project.latest_finished_package_job_for_user`, or `400 invalid_job`. */
function latestPackageJob(ctx: RequestContext, project: Project): Job {
  const job = ctx.state.jobsOfProject(project.id)
    .filter((j) => j.type === "package" && j.createdBy === ctx.user && DONE_STATUSES.has(j.status))
    .at(-1);
  if (!job) throw new ApiError("invalid_job");
  return job;
}

function attachmentFiles(project: Project): FileEntry[] {
  const dirs = attachmentDirs(project);
  return [...project.files.values()].filter((f) => dirs.some((dir) => f.name.startsWith(dir)));
}

function packageFileJson(file: PackageFile): Record<string, unknown> {
  return {
    name: file.name,
    size: file.size,
    uploaded_at: formatDateTime(file.uploadedAt),
    is_attachment: false,
    md5sum: file.etag,
    last_modified: formatLastModified(file.uploadedAt),
    sha256: file.sha256,
  };
}

function attachmentJson(file: FileEntry): Record<string, unknown> {
  const latest = file.versions[0];
  return {
    name: file.name,
    size: latest.size,
    uploaded_at: formatDateTime(file.uploadedAt),
    is_attachment: true,
    md5sum: latest.etag,
    last_modified: formatLastModified(latest.uploadedAt),
    sha256: latest.sha256,
  };
}

function latest(ctx: RequestContext): Response {
  const project = routeProject(ctx);
  requireRole(ctx.state, ctx.user, project);
  const job = latestPackageJob(ctx, project);
  const packaged = packageFilesOf(job);
  const names = new Set(packaged.map((f) => f.name));
  const files = [
    ...packaged.map(packageFileJson),
    ...attachmentFiles(project).filter((f) => !names.has(f.name)).map(attachmentJson),
  ];
  if (files.length === 0) throw new ApiError("invalid_job");
  return ctx.json({
    files,
    layers: job.status === "finished" ? packageLayersOf(job) : null,
    status: job.status,
    package_id: job.id,
    packaged_at: project.dataLastPackagedAt ? formatDateTime(project.dataLastPackagedAt) : null,
    data_last_updated_at: project.dataLastUpdatedAt
      ? formatDateTime(project.dataLastUpdatedAt)
      : null,
  });
}

async function downloadLatest(ctx: RequestContext): Promise<Response> {
  const project = routeProject(ctx);
  requireRole(ctx.state, ctx.user, project);
  const job = latestPackageJob(ctx, project);
  const name = ctx.params.filename;
  if (attachmentDirs(project).some((dir) => name.startsWith(dir))) {
    const version = project.files.get(name)?.versions[0];
    if (!version) throw new ApiError("object_not_found");
    return await downloadResponse(ctx, name, version);
  }
  const file = packageFilesOf(job).find((f) => f.name === name);
  if (!file) throw new ApiError("object_not_found");
  return await downloadResponse(ctx, name, file);
}

async function workerUpload(ctx: RequestContext): Promise<Response> {
  const state = ctx.state;
  const project = routeProject(ctx);
  const jobId = parseUuid(ctx.params.jobid);
  const job = jobId ? state.jobs.get(jobId) : undefined;
  if (
    ctx.token?.clientType !== "worker" || !job || job.project !== project ||
    job.type !== "package" || job.status !== "started"
  ) {
    throw new ApiError("permission_denied");
  }
  const { files } = await ctx.parseBody();
  const parts = files.filter((f) => f.field === "file");
  if (parts.length > 1) throw new ApiError("multiple_contents");
  if (parts.length === 0) throw new ApiError("empty_content");
  const name = ctx.params.filename;
  const stored = await state.storage.put(
    packageStorageKey(project.id, job.id, name),
    parts[0].content,
  );
  addPackageFile(job, {
    name,
    size: stored.size,
    etag: stored.etag,
    md5: stored.md5,
    sha256: stored.sha256,
    uploadedAt: state.now(),
    storageKey: stored.key,
  });
  return ctx.json({ name, size: stored.size, sha256: stored.sha256, md5sum: stored.md5 }, 201);
}

/**
 * Registers the package routes.
 *
 * @example
 * ```ts
 * import { register } from "./packages.ts";
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("GET", "packages/<uuid:projectid>/latest/", latest);
  router.add("GET", "packages/<uuid:projectid>/latest/files/<path:filename>/", downloadLatest);
  router.add(
    "POST",
    "packages/<uuid:projectid>/<uuid:jobid>/files/<path:filename>/",
    workerUpload,
  );
}
