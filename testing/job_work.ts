/**
 * What each job type of the test server does: parse the QGIS file
 * (`process_projectfile`), build a package (`package`), apply deltas
 * (`delta_apply`), as the worker of opengisch/QFieldCloud `docker-qgis/` reports
 * it; plus the files a package job stores. The scheduler is in ./jobs.ts.
 *
 * @module
 */
import type { Delta, FileEntry, Job, Project } from "./entities.ts";
import { attachmentDirs } from "./project_rules.ts";
import type { ServerState } from "./server_state.ts";
import {
  isQgisProjectFileName,
  type LayerReport,
  layerReports,
  normalizePath,
  parseQgisProject,
  type QgisProject,
} from "./qgis.ts";

/** A file of a package, stored under `projects/<pid>/packages/<job_id>/<name>`. */
export interface PackageFile {
  /** Name inside the package, e.g. `data.gpkg` or `survey_qfield.qgs`. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** S3-style etag (`md5sum` in the API). */
  etag: string;
  /** True hex MD5. */
  md5: string;
  /** Hex SHA-256. */
  sha256: string;
  /** When the file was added to the package. */
  uploadedAt: Date;
  /** Key of the content in the server's blob storage. */
  storageKey: string;
}

/**
 * Storage key of a package file, as `get_file_version_upload_to` of opengisch/QFieldCloud
 * `docker-app/qfieldcloud/filestorage/models.py` builds it.
 *
 * @example
 * ```ts
 * import { packageStorageKey } from "./job_work.ts";
 * packageStorageKey("p1", "j1", "data.gpkg"); // "projects/p1/packages/j1/data.gpkg"
 * ```
 */
export function packageStorageKey(projectId: string, jobId: string, name: string): string {
  return `projects/${projectId}/packages/${jobId}/${name}`;
}

/**
 * The files of a package job (empty for other jobs and before the job stored any).
 *
 * @example
 * ```ts
 * import { packageFilesOf } from "./job_work.ts";
 * import type { Job } from "./entities.ts";
 * declare const job: Job;
 * for (const file of packageFilesOf(job)) console.log(file.name, file.size);
 * ```
 */
export function packageFilesOf(job: Job): PackageFile[] {
  const files = job.data["packageFiles"];
  return Array.isArray(files) ? files as PackageFile[] : [];
}

/**
 * Adds (or replaces) a file of a package job: used by the package job itself
 * and by the worker upload route.
 *
 * @example
 * ```ts
 * import { addPackageFile, type PackageFile } from "./job_work.ts";
 * import type { Job } from "./entities.ts";
 * declare const job: Job, file: PackageFile;
 * addPackageFile(job, file);
 * ```
 */
export function addPackageFile(job: Job, file: PackageFile): void {
  const files = packageFilesOf(job).filter((f) => f.name !== file.name);
  files.push(file);
  job.data["packageFiles"] = files;
}

/**
 * The `layers_by_id` report of a package job, from its feedback
 * (`feedback.outputs.qgis_layers_data.layers_by_id`), or null.
 *
 * @example
 * ```ts
 * import { packageLayersOf } from "./job_work.ts";
 * import type { Job } from "./entities.ts";
 * declare const job: Job;
 * const layers = packageLayersOf(job); // e.g. { points_1: { is_valid: true, ... } }
 * ```
 */
export function packageLayersOf(job: Job): Record<string, LayerReport> | null {
  const feedback = job.feedback as Record<string, unknown> | null;
  const outputs = feedback?.["outputs"] as Record<string, unknown> | undefined;
  const data = outputs?.["qgis_layers_data"] as Record<string, unknown> | undefined;
  const layers = data?.["layers_by_id"];
  return layers && typeof layers === "object" ? layers as Record<string, LayerReport> : null;
}

/** Result of running a job's work, applied when the job leaves `started`. */
export interface JobOutcome {
  /** How the job ends. */
  status: "finished" | "failed";
  /** The job's `feedback`. */
  feedback: unknown;
  /** The job's `output` (log). */
  output: string;
  /** Side effects that become visible when the job ends (project details, delta statuses). */
  commit?: () => void;
}

/**
 * Runs a job's work; an unexpected error becomes a failed outcome, as a
 * crashing worker does.
 */
export function runJob(state: ServerState, job: Job): Promise<JobOutcome> {
  return runJobType(state, job).catch((error: unknown) =>
    failure(
      `Unexpected error: ${error instanceof Error ? error.message : String(error)}`,
      "UNKNOWN",
      String(error instanceof Error ? error.stack ?? error.message : error),
    )
  );
}

/**
 * The outcome of a job failed on purpose (see `failNextJob` in ./jobs.ts): a
 * `delta_apply` job marks its pending deltas as `error` when it ends.
 */
export function forcedFailure(state: ServerState, job: Job, message: string): JobOutcome {
  const outcome = failure(message, "UNKNOWN", `Job ${job.id} failed: ${message}`);
  if (job.type === "delta_apply") {
    const deltas = pendingDeltas(state, job.project);
    outcome.commit = () => {
      for (const d of deltas) setDeltaStatus(state, d, "error", { msg: message });
    };
  }
  return outcome;
}

function failure(error: string, errorType: string, output: string): JobOutcome {
  return {
    status: "failed",
    feedback: {
      feedback_version: "2.0",
      error,
      error_type: errorType,
      error_class: errorType === "INVALID_PROJECT_FILE" ? "InvalidXmlFileException" : "Exception",
      error_stack: [],
      steps: [],
      outputs: {},
    },
    output,
  };
}

function success(
  steps: { id: string; name: string }[],
  outputs: Record<string, unknown>,
  output: string,
): JobOutcome {
  return {
    status: "finished",
    feedback: {
      feedback_version: "2.0",
      error: null,
      error_type: null,
      steps: steps.map((s) => ({ ...s, stage: 2, returns: outputs[s.id] ?? {} })),
      outputs,
    },
    output,
  };
}

async function readLatest(state: ServerState, file: FileEntry): Promise<Uint8Array> {
  return await state.storage.readAll(file.versions[0].storageKey);
}

/** The project's QGIS file entry, by `theQgisFileName` or by extension. */
function qgisFileOf(project: Project): FileEntry | undefined {
  if (project.theQgisFileName) {
    const file = project.files.get(project.theQgisFileName);
    if (file) return file;
  }
  for (const file of project.files.values()) {
    if (isQgisProjectFileName(file.name)) return file;
  }
  return undefined;
}

interface LoadedProject {
  file: FileEntry;
  parsed: QgisProject;
  layers: Record<string, LayerReport>;
}

/** Loads and parses the project's QGIS file, or returns the failure outcome. */
async function loadProject(
  state: ServerState,
  project: Project,
): Promise<LoadedProject | JobOutcome> {
  const file = qgisFileOf(project);
  if (!file) {
    return failure(
      "The project does not contain a valid QGIS project file",
      "NO_QGIS_PROJECT",
      `Project ${project.id} has no .qgs/.qgz file.`,
    );
  }
  let parsed: QgisProject;
  try {
    parsed = parseQgisProject(await readLatest(state, file));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return failure(
      `Invalid QGIS project file "${file.name}": ${message}`,
      "INVALID_PROJECT_FILE",
      `Failed to read "${file.name}": ${message}`,
    );
  }
  const slash = file.name.lastIndexOf("/");
  const dir = slash >= 0 ? file.name.slice(0, slash + 1) : "";
  const layers = layerReports(parsed, (path) => project.files.has(normalizePath(dir + path)));
  return { file, parsed, layers };
}

function isOutcome(value: LoadedProject | JobOutcome): value is JobOutcome {
  return "status" in value;
}

function runJobType(state: ServerState, job: Job): Promise<JobOutcome> {
  switch (job.type) {
    case "process_projectfile":
      return processProjectfile(state, job);
    case "package":
      return packageProject(state, job);
    case "delta_apply":
      return applyDeltas(state, job);
    case "create_project":
      return Promise.resolve(
        success([{ id: "create_project", name: "Create Project" }], {}, "Project created.\n"),
      );
  }
}

async function processProjectfile(state: ServerState, job: Job): Promise<JobOutcome> {
  const project = job.project;
  const loaded = await loadProject(state, project);
  if (isOutcome(loaded)) {
    loaded.commit = () => {
      project.projectDetails = null;
    };
    return loaded;
  }
  const details = {
    project_name: loaded.parsed.title,
    qgis_version: loaded.parsed.version,
    crs: loaded.parsed.crs,
    extent: null,
    background_color: null,
    attachment_dirs: loaded.parsed.attachmentDirs,
    data_dirs: [],
    ordered_layer_ids: Object.keys(loaded.layers),
    layers_by_id: loaded.layers,
  };
  const outcome = success(
    [{ id: "project_details", name: "Project Details" }],
    { project_details: { project_details: details } },
    layersTable(`Processed "${loaded.file.name}" (QGIS ${loaded.parsed.version}).`, loaded.layers),
  );
  outcome.commit = () => {
    project.projectDetails = details;
    project.qgisVersion = loaded.parsed.version;
  };
  return outcome;
}

async function packageProject(state: ServerState, job: Job): Promise<JobOutcome> {
  const project = job.project;
  const loaded = await loadProject(state, project);
  if (isOutcome(loaded)) return loaded;
  const dirs = loaded.parsed.attachmentDirs.length > 0
    ? loaded.parsed.attachmentDirs
    : attachmentDirs(project);
  const name = loaded.file.name;
  const dot = name.lastIndexOf(".");
  const packagedName = `${name.slice(0, dot)}_qfield${name.slice(dot).toLowerCase()}`;
  const sources: [string, FileEntry][] = [[packagedName, loaded.file]];
  for (const file of project.files.values()) {
    if (file === loaded.file || isQgisProjectFileName(file.name)) continue;
    if (dirs.some((dir) => file.name.startsWith(dir))) continue;
    sources.push([file.name, file]);
  }
  for (const [target, file] of sources) {
    const version = file.versions[0];
    const key = packageStorageKey(project.id, job.id, target);
    await state.storage.copy(version.storageKey, key);
    addPackageFile(job, {
      name: target,
      size: version.size,
      etag: version.etag,
      md5: version.md5,
      sha256: version.sha256,
      uploadedAt: state.now(),
      storageKey: key,
    });
  }
  const files = packageFilesOf(job).map((f) => `${f.name} (${f.size} bytes)`).join("\n");
  return success(
    [
      { id: "qgis_layers_data", name: "QGIS Layers Data" },
      { id: "package_project", name: "Package Project" },
    ],
    { qgis_layers_data: { layers_by_id: loaded.layers } },
    layersTable(`Packaged "${name}" as "${packagedName}".\nFiles:\n${files}`, loaded.layers),
  );
}

function pendingDeltas(state: ServerState, project: Project): Delta[] {
  return state.deltasOfProject(project.id).filter((d) => d.lastStatus === "pending");
}

function setDeltaStatus(
  state: ServerState,
  delta: Delta,
  status: Delta["lastStatus"],
  feedback: unknown,
): void {
  delta.lastStatus = status;
  delta.lastFeedback = feedback;
  delta.updatedAt = state.now();
}

/**
 * Applies the project's pending deltas: a delta whose `sourceLayerId` is a
 * layer of the project becomes `applied`; any other becomes `not_applied`
 * with a feedback message naming the layer.
 */
async function applyDeltas(state: ServerState, job: Job): Promise<JobOutcome> {
  const project = job.project;
  const loaded = await loadProject(state, project);
  if (isOutcome(loaded)) return loaded;
  const deltas = pendingDeltas(state, project);
  const lines: string[] = [];
  const results: [Delta, Delta["lastStatus"], unknown][] = [];
  for (const delta of deltas) {
    const layerId = String(delta.content["sourceLayerId"] ?? "");
    if (layerId in loaded.layers) {
      results.push([delta, "applied", null]);
      lines.push(`${delta.id}: applied to layer "${layerId}"`);
    } else {
      const msg = `Layer "${layerId}" is not a layer of the project.`;
      results.push([delta, "not_applied", { msg }]);
      lines.push(`${delta.id}: not applied: ${msg}`);
    }
  }
  const outcome = success(
    [{ id: "apply_deltas", name: "Apply Deltas" }],
    {
      apply_deltas: {
        delta_feedback: results.map(([d, status, feedback]) => ({
          delta_id: d.id,
          status,
          msg: (feedback as { msg?: string } | null)?.msg ?? null,
        })),
      },
    },
    `Applied ${results.filter((r) => r[1] === "applied").length} of ${deltas.length} deltas.\n` +
      lines.join("\n"),
  );
  for (const [delta] of results) setDeltaStatus(state, delta, "started", null);
  outcome.commit = () => {
    for (const [delta, status, feedback] of results) {
      setDeltaStatus(state, delta, status, feedback);
    }
  };
  return outcome;
}

function layersTable(head: string, layers: Record<string, LayerReport>): string {
  const rows = Object.values(layers).map((l) =>
    `${l.name}\t${l.id}\t${l.is_valid}\t${l.error_code}\t${l.error_summary}`
  );
  return `${head}\nLayer Name\tLayer Id\tIs Valid\tStatus\tError Summary\n${rows.join("\n")}\n`;
}
