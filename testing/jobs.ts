/**
 * Jobs of the test server: creation, and the worker that moves them through
 * `pending → queued → started → finished|failed`. What each job type does
 * (parse the QGIS file, build a package, apply deltas) is in ./job_work.ts.
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
import type { Job, JobType, User } from "./entities.ts";
import { ACTIVE_JOB_STATUSES } from "./project_rules.ts";
import type { ServerState } from "./server_state.ts";
import { forcedFailure, type JobOutcome, runJob } from "./job_work.ts";

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

interface RunEntry {
  /** `Date.now()` when the job entered its current status. */
  since: number;
  outcome?: JobOutcome;
  work?: Promise<void>;
}

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
  state.jobSchedule.failNext(projectId, message);
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
  state.jobSchedule.jobCreated();
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
  #wakeThis = () => this.wake();

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
    this.#state.jobSchedule.setWaker(this.#wakeThis);
    this.wake();
  }

  /**
   * Stops processing: clears the timer and waits for a job's work that is in
   * flight. Jobs keep their current status.
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#state.jobSchedule.clearWaker(this.#wakeThis);
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
    const forced = this.#state.jobSchedule.takeFailure(job.project.id);
    if (forced !== undefined) {
      entry.outcome = forcedFailure(this.#state, job, forced);
      return;
    }
    entry.work = runJob(this.#state, job).then((outcome) => {
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
