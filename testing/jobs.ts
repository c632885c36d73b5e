/**
 * Jobs of the test server: creation, the worker that moves them through
 * `pending → queued → started → finished|failed`, and what each job type does
 * (parse the QGIS file, build a package, apply deltas).
 *
 * Timing: a job spends about a third of `jobSeconds` in each of `pending`,
 * `queued` and `started`. Only one job per project is `started` at a time;
 * queued jobs start in creation order (FIFO). No timer runs while no job is
 * active, and {@linkcode JobRunner.stop} clears the one that does.
 *
 * Test hook: {@linkcode failNextJob} (or {@linkcode JobRunner.failNextJob})
 * makes the next job of a project that starts fail with a given message, so
 * client tests can prove that waiting for a job rejects with its feedback.
 *
 * @module
 */
import type { Delta, FileEntry, Job, JobType, Project, User } from "./entities.ts";
import { ACTIVE_JOB_STATUSES, attachmentDirs } from "./project_rules.ts";
import type { ServerState } from "./server_state.ts";
import {
  isQgisProjectFileName,
  type LayerReport,
  layerReports,
  normalisePath,
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

/** Options of {@linkcode createJob}. */
export interface CreateJobOptions {
  /** Id of the project the job runs on. */
  projectId: string;
  /** Job type. */
  type: JobType;
  /** The user who triggers the job. */
  createdBy: User;
}

/** Options of {@linkcode JobRunner}. */
export interface JobRunnerOptions {
  /**
   * Total time from `pending` to `finished`, in seconds; default the state's
   * `jobSeconds`. 0 moves jobs on as fast as the event loop allows.
   */
  jobSeconds?: number;
}

/** Result of running a job's work, applied when the job leaves `started`. */
interface JobOutcome {
  status: "finished" | "failed";
  feedback: unknown;
  output: string;
  /** Side effects that become visible when the job ends (project details, delta statuses). */
  commit?: () => void;
}

interface RunEntry {
  /** `Date.now()` when the job entered its current status. */
  since: number;
  outcome?: JobOutcome;
  work?: Promise<void>;
}

/**
 * Storage key of a package file, as `get_file_version_upload_to` of opengisch/QFieldCloud
 * `docker-app/qfieldcloud/filestorage/models.py` builds it.
 *
 * @example
 * ```ts
 * import { packageStorageKey } from "./jobs.ts";
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
 * import { packageFilesOf } from "./jobs.ts";
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
 * import { addPackageFile, type PackageFile } from "./jobs.ts";
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
 * import { packageLayersOf } from "./jobs.ts";
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

const pendingFailures = new WeakMap<ServerState, Map<string, string>>();
const runners = new WeakMap<ServerState, JobRunner>();

/**
 * Test hook: the next job of the project that starts fails, with feedback
 * `{ feedback_version: "2.0", error: message, error_type: "UNKNOWN", ... }` and
 * the message in `output`. One call fails one job.
 *
 * @example
 * ```ts
 * import { failNextJob } from "./jobs.ts";
 * import { ServerState } from "./server_state.ts";
 * const state = new ServerState();
 * failNextJob(state, "00000000-0000-0000-0000-000000000000", "Simulated worker crash");
 * ```
 */
export function failNextJob(state: ServerState, projectId: string, message: string): void {
  let failures = pendingFailures.get(state);
  if (!failures) {
    failures = new Map();
    pendingFailures.set(state, failures);
  }
  failures.set(projectId.toLowerCase(), message);
}

/**
 * Creates a `pending` job and wakes the state's runner, if one is started.
 *
 * @throws {TypeError} when the project does not exist.
 * @example
 * ```ts
 * import { createJob } from "./jobs.ts";
 * import { ServerState } from "./server_state.ts";
 * const state = new ServerState();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * const project = state.addProject({ name: "p1", owner: alice });
 * const job = createJob(state, { projectId: project.id, type: "package", createdBy: alice });
 * console.log(job.status); // "pending"
 * ```
 */
export function createJob(state: ServerState, options: CreateJobOptions): Job {
  const project = state.findProject(options.projectId);
  if (!project) throw new TypeError(`Project "${options.projectId}" does not exist`);
  const now = state.now();
  const job: Job = {
    id: crypto.randomUUID(),
    type: options.type,
    status: "pending",
    project,
    createdBy: options.createdBy,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
    feedback: null,
    output: null,
    data: {},
  };
  state.jobs.set(job.id, job);
  runners.get(state)?.wake();
  return job;
}

/**
 * The worker of the test server: moves jobs through their statuses and runs
 * them. Start it once per state; stop it (and await the promise) before the
 * test ends.
 *
 * @example
 * ```ts
 * import { createJob, JobRunner } from "./jobs.ts";
 * import { ServerState } from "./server_state.ts";
 * const state = new ServerState();
 * const runner = new JobRunner(state, { jobSeconds: 0.05 });
 * runner.start();
 * const alice = state.addUser({ username: "alice", password: "pw" });
 * const project = state.addProject({ name: "p1", owner: alice });
 * const job = createJob(state, { projectId: project.id, type: "create_project", createdBy: alice });
 * await runner.idle();
 * console.log(job.status); // "finished"
 * await runner.stop();
 * ```
 */
export class JobRunner {
  #state: ServerState;
  #stepMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = Infinity;
  #running = false;
  #entries = new Map<string, RunEntry>();
  #idleWaiters: (() => void)[] = [];

  /** Creates a runner for a state; call {@linkcode JobRunner.start} to run jobs. */
  constructor(state: ServerState, options: JobRunnerOptions = {}) {
    this.#state = state;
    const seconds = options.jobSeconds ?? state.jobSeconds;
    if (!(seconds >= 0)) throw new RangeError(`Invalid jobSeconds ${seconds}`);
    this.#stepMs = (seconds * 1000) / 3;
  }

  /** Starts processing jobs (also the ones created before). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    runners.set(this.#state, this);
    this.wake();
  }

  /**
   * Stops processing: clears the timer and waits for a job's work that is in
   * flight. Jobs keep their current status.
   */
  async stop(): Promise<void> {
    this.#running = false;
    if (runners.get(this.#state) === this) runners.delete(this.#state);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#entries.values()].map((e) => e.work).filter((w) => w));
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Test hook: see {@linkcode failNextJob}. */
  failNextJob(projectId: string, message: string): void {
    failNextJob(this.#state, projectId, message);
  }

  /**
   * Resolves once no job is pending, queued or started (or the runner stops).
   */
  idle(): Promise<void> {
    if (!this.#running || !this.#hasActiveJobs()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Schedules a tick soon; called when a job is created. */
  wake(): void {
    if (this.#running) this.#schedule(0);
  }

  #hasActiveJobs(): boolean {
    for (const job of this.#state.jobs.values()) {
      if (ACTIVE_JOB_STATUSES.has(job.status)) return true;
    }
    return false;
  }

  /** Schedules the next tick in `delayMs`, unless one is already due sooner. */
  #schedule(delayMs: number): void {
    const due = Date.now() + Math.max(0, delayMs);
    if (this.#timer !== undefined) {
      if (this.#timerDue <= due) return;
      clearTimeout(this.#timer);
    }
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      this.#tick();
    }, Math.max(0, delayMs));
  }

  #tick(): void {
    if (!this.#running) return;
    const now = Date.now();
    const state = this.#state;
    let nextDue = Infinity;
    const busyProjects = new Set<string>();
    for (const job of state.jobs.values()) {
      if (job.status === "started") busyProjects.add(job.project.id);
    }
    for (const id of this.#entries.keys()) {
      if (!state.jobs.has(id)) this.#entries.delete(id); // project deleted meanwhile
    }
    for (const job of [...state.jobs.values()]) {
      if (!ACTIVE_JOB_STATUSES.has(job.status)) {
        this.#entries.delete(job.id);
        continue;
      }
      let entry = this.#entries.get(job.id);
      if (!entry) {
        entry = { since: job.status === "pending" ? job.createdAt.getTime() : now };
        this.#entries.set(job.id, entry);
      }
      const due = entry.since + this.#stepMs;
      if (job.status === "pending") {
        if (now >= due) {
          this.#transition(job, "queued");
          entry.since = now;
          nextDue = Math.min(nextDue, now + this.#stepMs);
        } else nextDue = Math.min(nextDue, due);
      }
      if (job.status === "queued") {
        if (busyProjects.has(job.project.id)) continue; // FIFO: wait for the running job
        if (now >= entry.since + this.#stepMs) {
          busyProjects.add(job.project.id);
          this.#transition(job, "started");
          job.startedAt = job.updatedAt;
          entry.since = now;
          this.#begin(job, entry);
          nextDue = Math.min(nextDue, now + this.#stepMs);
        } else {
          busyProjects.add(job.project.id); // older queued jobs go first
          nextDue = Math.min(nextDue, entry.since + this.#stepMs);
        }
      } else if (job.status === "started") {
        if (entry.outcome && now >= due) {
          this.#finish(job, entry.outcome);
          this.#entries.delete(job.id);
          nextDue = now; // a queued job of this project may start now
        } else if (entry.outcome) nextDue = Math.min(nextDue, due);
        // Work in flight: its completion schedules a tick.
      }
    }
    if (!this.#hasActiveJobs()) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
      return;
    }
    if (nextDue !== Infinity) this.#schedule(nextDue - Date.now());
  }

  #transition(job: Job, status: Job["status"]): void {
    job.status = status;
    job.updatedAt = this.#state.now();
  }

  #begin(job: Job, entry: RunEntry): void {
    const failures = pendingFailures.get(this.#state);
    const forced = failures?.get(job.project.id);
    if (forced !== undefined) {
      failures!.delete(job.project.id);
      entry.outcome = failure(forced, "UNKNOWN", `Job ${job.id} failed: ${forced}`);
      if (job.type === "delta_apply") {
        const deltas = pendingDeltas(this.#state, job.project);
        entry.outcome.commit = () => {
          for (const d of deltas) setDeltaStatus(this.#state, d, "error", { msg: forced });
        };
      }
      return;
    }
    entry.work = runJob(this.#state, job).catch((error: unknown) =>
      failure(
        `Unexpected error: ${error instanceof Error ? error.message : String(error)}`,
        "UNKNOWN",
        String(error instanceof Error ? error.stack ?? error.message : error),
      )
    ).then((outcome) => {
      entry.outcome = outcome;
      entry.work = undefined;
      if (this.#running) this.#schedule(entry.since + this.#stepMs - Date.now());
    });
  }

  #finish(job: Job, outcome: JobOutcome): void {
    outcome.commit?.();
    job.status = outcome.status;
    job.feedback = outcome.feedback;
    job.output = outcome.output;
    job.finishedAt = this.#state.now();
    job.updatedAt = job.finishedAt;
    if (job.type === "package" && outcome.status === "finished") {
      job.project.dataLastPackagedAt = job.startedAt;
    }
  }
}

// ---------------------------------------------------------------------------
// What the jobs do

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
  const layers = layerReports(parsed, (path) => project.files.has(normalisePath(dir + path)));
  return { file, parsed, layers };
}

function isOutcome(value: LoadedProject | JobOutcome): value is JobOutcome {
  return "status" in value;
}

function runJob(state: ServerState, job: Job): Promise<JobOutcome> {
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
