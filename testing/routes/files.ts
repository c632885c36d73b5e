/**
 * Project file routes (opengisch/QFieldCloud `docker-app/qfieldcloud/filestorage/views.py`
 * and `view_helpers.py`): listing with versions, metadata,
 * streaming upload with the server's validation order, production-style
 * download (ETag, 304, 206, 416) and deletion of files or versions.
 *
 * @module
 */
import { createJob } from "../jobs.ts";
import { InvalidQgisProjectError, isQgisProjectFileName, qgisProjectFileVersion } from "../qgis.ts";
import { ApiError, type RequestContext, type Router } from "../router.ts";
import { formatDateTime, formatLastModified, formatVersionDisplay } from "../dates.ts";
import type {
  ClientType,
  FileEntry,
  FileVersion,
  Project,
  ProjectRole,
  User,
} from "../entities.ts";
import { isAttachment, projectRole, roleAtLeast } from "../project_rules.ts";
import type { ServerState } from "../server_state.ts";
import type { StoredBlob } from "../storage.ts";
import { PROXY_500_HTML } from "../proxy_500.ts";

/** JSON of one version in a file listing. */
function versionJson(version: FileVersion, latest: boolean): Record<string, unknown> {
  return {
    version_id: version.versionId,
    md5sum: version.etag,
    size: version.size,
    uploaded_at: formatDateTime(version.uploadedAt),
    display: formatVersionDisplay(version.uploadedAt),
    is_latest: latest,
    last_modified: formatLastModified(version.uploadedAt),
    sha256: version.sha256,
  };
}

/**
 * JSON of a project file as `files/<id>/` lists it (latest version's size and
 * checksums, first upload time, versions newest first).
 *
 * @example
 * ```ts
 * import { fileJson } from "./files.ts";
 * import type { FileEntry, Project } from "../entities.ts";
 * declare const project: Project, file: FileEntry;
 * console.log(fileJson(project, file).md5sum);
 * ```
 */
export function fileJson(project: Project, file: FileEntry): Record<string, unknown> {
  const latest = file.versions[0];
  return {
    name: file.name,
    size: latest.size,
    uploaded_at: formatDateTime(file.uploadedAt),
    is_attachment: isAttachment(project, file.name),
    md5sum: latest.etag,
    last_modified: formatLastModified(latest.uploadedAt),
    sha256: latest.sha256,
    versions: file.versions.map((v, i) => versionJson(v, i === 0)),
  };
}

const WINDOWS_RESERVED = /^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])$/i;
// deno-lint-ignore no-control-regex
const FORBIDDEN_CHARS = /[<>:"/\\|?*\x00-\x1f\x7f]/;

/**
 * Whether a file name passes the server's `validate_filename` (opengisch/QFieldCloud
 * `docker-app/qfieldcloud/filestorage/utils.py`): non-empty, no surrounding whitespace, at
 * most 255 characters, and
 * each `/` part 1–255 characters without `<>:"/\|?*` or control characters,
 * not a Windows reserved name, not ending in whitespace or `.`.
 *
 * @example
 * ```ts
 * import { isValidFilename } from "./files.ts";
 * isValidFilename("DCIM/photo 1.jpg"); // true
 * isValidFilename("NUL/file.name"); // false
 * ```
 */
export function isValidFilename(name: string): boolean {
  if (name === "" || name.trim() !== name || name.length > 255) return false;
  for (const part of name.split("/")) {
    if (part.length < 1 || part.length > 255) return false;
    if (FORBIDDEN_CHARS.test(part)) return false;
    if (WINDOWS_RESERVED.test(part)) return false;
    if (/[\s.]$/.test(part)) return false;
  }
  return true;
}

/** Whether a file is a sidecar of the project's QGIS file (`<stem>_attachments.zip|.qgd|.qml`). */
function isAdminRestrictedFile(name: string, qgisFileName: string | null): boolean {
  if (!qgisFileName) return false;
  const stem = qgisFileName.replace(/\.(qgs|qgz)$/i, "");
  return [`${stem}_attachments.zip`, `${stem}.qgd`, `${stem}.qml`].includes(name);
}

/** Django `reverse()` quoting of a path value (RFC 3986 sub-delims, `/~:@` kept). */
function quotePath(value: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.\-~!$&'()*+,;=/:@]/.test(c)) out += c;
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Storage key of a file version: `projects/<pid>/files/<name>/v<YYYYmmddHHMMSS>-<8 chars>`. */
export function versionStorageKey(projectId: string, name: string, version: FileVersion): string {
  return `projects/${projectId}/files/${name}/${formatVersionDisplay(version.uploadedAt)}-${
    version.versionId.slice(0, 8)
  }`;
}

/** How {@linkcode commitUpload} checks an upload. */
interface UploadChecks {
  /** The uploader's role; restricted-file checks are skipped without it. */
  role?: ProjectRole;
  /** The token's client type (qfield and worker uploads skip the quota). */
  clientType?: ClientType;
}

/**
 * Runs the checks after the content arrived, in the order of `upload_project_file_version`
 * (opengisch/QFieldCloud `docker-app/qfieldcloud/filestorage/view_helpers.py`), and
 * stores the blob as a new version. The temporary blob is deleted on error.
 */
async function commitUpload(
  state: ServerState,
  project: Project,
  name: string,
  blob: StoredBlob,
  uploadedBy: User,
  checks: UploadChecks,
): Promise<FileVersion> {
  const storage = state.storage;
  try {
    if (!isValidFilename(name)) throw new ApiError("validation_error");
    const isQgis = isQgisProjectFileName(name);
    if (
      checks.role && project.hasRestrictedProjectfiles &&
      (isQgis || isAdminRestrictedFile(name, project.theQgisFileName)) &&
      !roleAtLeast(checks.role, "manager")
    ) {
      throw new ApiError("restricted_project_modification");
    }
    if (isQgis && project.projectType === "shared_datasets") {
      throw new ApiError("validation_error");
    }
    if (isQgis && project.theQgisFileName !== null && project.theQgisFileName !== name) {
      throw new ApiError("multiple_projects");
    }
    let qgisVersion: string | null = null;
    if (isQgis) {
      try {
        qgisVersion = qgisProjectFileVersion(await storage.readAll(blob.key));
      } catch (error) {
        if (error instanceof InvalidQgisProjectError) {
          throw new ApiError("invalid_qgis_project_file");
        }
        throw error;
      }
    }
    if (checks.clientType !== "qfield" && checks.clientType !== "worker") {
      const owner = project.owner;
      const free = state.storageQuotaBytes - state.storageUsedBytes(owner);
      if (blob.size > free) throw new ApiError("over_quota");
    }

    const now = state.now();
    const version: FileVersion = {
      versionId: crypto.randomUUID(),
      etag: blob.etag,
      md5: blob.md5,
      sha256: blob.sha256,
      size: blob.size,
      uploadedAt: now,
      storageKey: "",
      uploadedBy,
    };
    version.storageKey = versionStorageKey(project.id, name, version);
    await storage.move(blob.key, version.storageKey);

    let file = project.files.get(name);
    if (!file) {
      file = { name, uploadedAt: now, versions: [] };
      project.files.set(name, file);
    }
    file.versions.unshift(version);
    // purge_old_file_versions: keep only the newest N.
    for (const old of file.versions.splice(state.keepVersions)) {
      await storage.delete(old.storageKey);
    }

    if (!isAttachment(project, name) && (isQgis || project.theQgisFileName !== null)) {
      if (isQgis) {
        project.theQgisFileName = name;
        project.qgisVersion = qgisVersion;
      }
      const running = state.jobsOfProject(project.id).some((j) =>
        j.type === "process_projectfile" && j.createdBy === uploadedBy &&
        (j.status === "pending" || j.status === "queued" || j.status === "started")
      );
      if (!running) {
        createJob(state, {
          projectId: project.id,
          type: "process_projectfile",
          createdBy: uploadedBy,
        });
      }
    }
    project.dataLastUpdatedAt = now;
    if (
      project.hasRestrictedProjectfiles &&
      (isQgis || isAdminRestrictedFile(name, project.theQgisFileName))
    ) {
      project.restrictedDataLastUpdatedAt = now;
    }
    return version;
  } finally {
    await storage.delete(blob.key);
  }
}

/**
 * Stores a project file as an upload by `uploadedBy` would (validation,
 * versioning, purge, `process_projectfile` job), without HTTP. Throws an
 * {@linkcode ApiError} when the server would refuse the upload.
 *
 * @example
 * ```ts
 * import { storeProjectFile } from "./files.ts";
 * import { ServerState } from "../server_state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * const project = state.addProject({ name: "p1", owner: alice });
 * await storeProjectFile(state, project, "notes.txt", new TextEncoder().encode("Hello!"), alice);
 * ```
 */
export async function storeProjectFile(
  state: ServerState,
  project: Project,
  name: string,
  content: Uint8Array | ReadableStream<Uint8Array>,
  uploadedBy: User,
): Promise<FileVersion> {
  const blob = await state.storage.put(`tmp/${crypto.randomUUID()}`, content);
  return await commitUpload(state, project, name, blob, uploadedBy, {});
}

/** The project of a `<uuid:project_id>` route, or 404. */
function routeProject(ctx: RequestContext): Project {
  const project = ctx.state.findProject(ctx.params.project_id);
  if (!project) throw new ApiError("object_not_found");
  return project;
}

/** The caller's role on the project, or 403 when missing or below `minimum`. */
function requireProjectRole(
  ctx: RequestContext,
  project: Project,
  minimum: ProjectRole,
): ProjectRole {
  const role = projectRole(ctx.state, ctx.user, project)?.role;
  if (!role || !roleAtLeast(role, minimum)) throw new ApiError("permission_denied");
  return role;
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Normalizes a version id like Django's UUIDField, or throws 400 validation_error. */
function versionIdParam(value: string): string {
  const v = value.trim().replace(/^\{|\}$/g, "").replace(/^urn:uuid:/i, "");
  if (!UUID_RE.test(v)) throw new ApiError("validation_error");
  const h = v.replaceAll("-", "").toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function listFiles(ctx: RequestContext): Response {
  const project = routeProject(ctx);
  requireProjectRole(ctx, project, "reader");
  return ctx.paginate([...project.files.values()].map((f) => fileJson(project, f)));
}

function fileMetadata(ctx: RequestContext): Response {
  const project = routeProject(ctx);
  requireProjectRole(ctx, project, "reader");
  const file = project.files.get(ctx.params.filename);
  if (!file) throw new ApiError("object_not_found");
  return ctx.json(fileJson(project, file));
}

async function upload(ctx: RequestContext): Promise<Response> {
  const project = routeProject(ctx);
  const role = requireProjectRole(ctx, project, "reporter");
  const name = ctx.params.filename;
  const state = ctx.state;
  const type = (ctx.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  let blob: StoredBlob | undefined;
  let fileParts = 0;
  try {
    if (type === "multipart/form-data") {
      for await (const part of ctx.multipart()) {
        if (part.name === "file" && part.filename) {
          fileParts++;
          if (fileParts === 1) {
            blob = await state.storage.put(`tmp/${crypto.randomUUID()}`, part.body);
            continue;
          }
        }
        await part.body.cancel();
      }
    } else if (
      ctx.request.body && type !== "application/json" &&
      type !== "application/x-www-form-urlencoded"
    ) {
      // DRF finds no parser for the body.
      throw new ApiError("api_error", 415);
    }
    if (fileParts > 1) throw new ApiError("multiple_contents");
    if (!blob) throw new ApiError("empty_content");
  } catch (e) {
    if (blob) await state.storage.delete(blob.key);
    throw e;
  }
  await commitUpload(state, project, name, blob, ctx.user!, {
    role,
    clientType: ctx.token?.clientType,
  });
  return ctx.json({}, 201, { location: `/api/v1/files/${project.id}/${quotePath(name)}/` });
}

/** An HTTP date (`Last-Modified`). */
function httpDate(date: Date): string {
  return date.toUTCString();
}

/** Whether an `If-None-Match`/`If-Match` list matches an etag (quoted or not, `W/` ignored). */
function etagListMatches(header: string, etag: string): boolean {
  return header.split(",").some((item) => {
    const t = item.trim().replace(/^W\//, "");
    return t === "*" || t === etag || t === `"${etag}"`;
  });
}

/**
 * Parses a `Range` header as the server does (`re.match(r"bytes=(\d+)-(\d+)?")`):
 * undefined without one, or throws `416 invalid_http_range`.
 */
function parseRange(
  header: string | null,
  size: number,
): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d+)-(\d+)?/.exec(header);
  if (!m) throw new ApiError("invalid_http_range");
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : size - 1;
  if (start >= size || end >= size || end < start) throw new ApiError("invalid_http_range");
  return { start, end };
}

/** The Content-Disposition value S3 sends back: the raw UTF-8 bytes of the name. */
function contentDisposition(name: string): string {
  const utf8 = new TextEncoder().encode(`attachment;filename="${name}"`);
  return String.fromCharCode(...utf8);
}

/**
 * Answers a download as production does (nginx streaming from S3 after
 * `download_project_file_version` of opengisch/QFieldCloud
 * `docker-app/qfieldcloud/filestorage/view_helpers.py`): quoted ETag, `If-None-Match` → 304,
 * `If-Match` mismatch → the
 * proxy's HTML 500, `Range` → 206, streamed from storage.
 *
 * @example
 * ```ts
 * import { downloadResponse } from "./files.ts";
 * import type { RequestContext } from "../router.ts";
 * import type { FileVersion } from "../entities.ts";
 * declare const ctx: RequestContext, version: FileVersion;
 * const response = await downloadResponse(ctx, "data.gpkg", version);
 * ```
 */
export async function downloadResponse(
  ctx: RequestContext,
  name: string,
  version: Pick<FileVersion, "etag" | "size" | "uploadedAt" | "storageKey">,
): Promise<Response> {
  const range = parseRange(ctx.headers.get("range"), version.size);
  const headers: Record<string, string> = {
    "etag": `"${version.etag}"`,
    "last-modified": httpDate(version.uploadedAt),
    "accept-ranges": "bytes",
    "content-type": "application.force-download",
    "content-disposition": contentDisposition(name),
  };
  const ifMatch = ctx.headers.get("if-match");
  if (ifMatch !== null && !etagListMatches(ifMatch, version.etag)) {
    // S3 answers 412, which nginx turns into its 500 page.
    return new Response(PROXY_500_HTML, {
      status: 500,
      headers: { "content-type": "text/html" },
    });
  }
  const ifNoneMatch = ctx.headers.get("if-none-match");
  if (ifNoneMatch !== null && etagListMatches(ifNoneMatch, version.etag)) {
    return new Response(null, {
      status: 304,
      headers: { "etag": headers["etag"], "last-modified": headers["last-modified"] },
    });
  }
  if (range) {
    const body = await ctx.state.storage.read(version.storageKey, range);
    return new Response(body, {
      status: 206,
      headers: {
        ...headers,
        "content-length": String(range.end - range.start + 1),
        "content-range": `bytes ${range.start}-${range.end}/${version.size}`,
      },
    });
  }
  const body = await ctx.state.storage.read(version.storageKey);
  return new Response(body, {
    status: 200,
    headers: { ...headers, "content-length": String(version.size) },
  });
}

async function download(ctx: RequestContext): Promise<Response> {
  const project = routeProject(ctx);
  requireProjectRole(ctx, project, "reader");
  const name = ctx.params.filename;
  const versionParam = ctx.queryParam("version");
  const file = project.files.get(name);
  let version: FileVersion | undefined;
  if (versionParam) {
    const id = versionIdParam(versionParam);
    version = file?.versions.find((v) => v.versionId === id);
  } else {
    version = file?.versions[0];
  }
  if (!version) throw new ApiError("object_not_found");
  return await downloadResponse(ctx, name, version);
}

async function deleteFile(ctx: RequestContext): Promise<Response> {
  const project = routeProject(ctx);
  requireProjectRole(ctx, project, "editor");
  const name = ctx.params.filename;
  const state = ctx.state;
  const versionParam = ctx.queryParam("version") || ctx.headers.get("x-file-version");
  const file = project.files.get(name);
  if (versionParam) {
    if (!file || file.versions.length <= 1) throw new ApiError("explicit_deletion_of_last_version");
    const id = UUID_RE.test(versionParam.trim()) ? versionIdParam(versionParam) : undefined;
    if (id === undefined) throw new ApiError("validation_error");
    const index = file.versions.findIndex((v) => v.versionId === id);
    if (index === -1) throw new ApiError("api_error", 404);
    const [removed] = file.versions.splice(index, 1);
    await state.storage.delete(removed.storageKey);
    return ctx.empty(204);
  }
  if (!file) throw new ApiError("api_error", 404);
  project.files.delete(name);
  for (const v of file.versions) await state.storage.delete(v.storageKey);
  if (isQgisProjectFileName(name) && project.theQgisFileName === name) {
    project.theQgisFileName = null;
  }
  return ctx.empty(204);
}

function forbidden(): Response {
  throw new ApiError("permission_denied");
}

/**
 * Registers the file routes.
 *
 * @example
 * ```ts
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * import { register } from "./files.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("GET", "files/metadata/<uuid:project_id>/<path:filename>/", fileMetadata);
  router.add("GET", "files/<uuid:project_id>/", listFiles);
  const item = "files/<uuid:project_id>/<path:filename>/";
  router.add("GET", item, download);
  router.add("POST", item, upload);
  router.add("DELETE", item, deleteFile);
  // FileCrudViewPermissions returns False for any other method.
  router.add("PUT", item, forbidden);
  router.add("PATCH", item, forbidden);
  router.add("HEAD", item, forbidden);
}
