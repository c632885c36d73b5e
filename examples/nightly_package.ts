/**
 * A Deno Deploy scheduled task that keeps QField packages fresh: every night, for each
 * configured project whose data changed since its last package (`needs_repackaging`), it
 * triggers a `package` job, waits for it, and stores a summary in Deno KV so a dashboard (or
 * you, with `kv.get`) can see what the field teams will download in the morning.
 *
 * What it stores, per project, under the key `["qfieldcloud", "nightly_package", <project id>]`
 * (see {@linkcode PackageSummary}):
 *
 * ```json
 * { "project_id": "…", "project": "my-org/survey-2026", "checked_at": "2026-…Z",
 *   "action": "packaged", "job_id": "…", "status": "finished", "error": null,
 *   "files": [{ "name": "data.gpkg", "size": 98304, "md5sum": "…" }], "invalid_layers": [] }
 * ```
 *
 * and, for the run as a whole, `["qfieldcloud", "nightly_package_last_run"]` (see
 * {@linkcode NightlyRun}).
 *
 * Configuration (environment variables):
 * - `QFIELDCLOUD_URL`: the API, e.g. `https://app.qfield.cloud/api/v1/`.
 * - `QFIELDCLOUD_TOKEN`: an API token (keep it in Deploy's secret settings; it is never logged).
 * - `QFIELDCLOUD_PROJECTS`: project ids or `owner/name`, separated by commas or spaces.
 * - `NIGHTLY_PACKAGE_SCHEDULE`: a cron expression in UTC; default `0 2 * * *` (02:00 UTC).
 * - `NIGHTLY_PACKAGE_TIMEOUT_MINUTES`: how long to wait for each job; default 20.
 * - `NIGHTLY_PACKAGE_POLL_SECONDS`: time between job status checks; default 5.
 *
 * Run it:
 * - On Deno Deploy: deploy this file as the entry point; `Deno.cron` is registered at module
 *   top level, as Deploy requires, because `DENO_DEPLOYMENT_ID` is set there.
 * - Locally, once, printing the summaries as JSON (the KV database is Deno's default local one
 *   unless `NIGHTLY_PACKAGE_KV_PATH` names a file):
 *   `deno run -A --unstable-kv examples/nightly_package.ts --once`
 * - Locally, on the schedule: `deno run -A --unstable-kv --unstable-cron examples/nightly_package.ts`
 *
 * Importing the module registers nothing; call {@linkcode runNightlyPackage} yourself.
 *
 * @example Run the work once against a client and an in-memory KV
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { runNightlyPackage } from "./nightly_package.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const summaries = await runNightlyPackage({ client, kv, projects: ["my-org/survey-2026"] });
 * console.log(summaries.map((s) => `${s.project}: ${s.action}`));
 * kv.close();
 * ```
 *
 * @module
 */
import { Client, type Job, QfcJobFailedException } from "@qfieldcloud/sdk";

/** The KV key prefix of the per-project summaries. */
export const SUMMARY_KEY_PREFIX = ["qfieldcloud", "nightly_package"] as const;
/** The KV key of the last run's record. */
export const LAST_RUN_KEY = ["qfieldcloud", "nightly_package_last_run"] as const;
/** The default schedule: 02:00 UTC every day. */
export const DEFAULT_SCHEDULE = "0 2 * * *";

/** The part of `Deno.Kv` the task needs, so any store with `set` can stand in. */
export interface SummaryStore {
  /** Stores a value under a key, replacing the previous one. */
  set(key: Deno.KvKey, value: unknown): Promise<unknown>;
}

/** A package file as stored in the summary. */
export interface PackageFileSummary {
  /** Path inside the package. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** The server's etag of the file (a plain MD5 up to 8 MiB). */
  md5sum: string;
}

/** What the task did for one project; stored in KV under {@linkcode SUMMARY_KEY_PREFIX}. */
export interface PackageSummary {
  /** The project's id (the configured text when it could not be resolved). */
  project_id: string;
  /** `owner/name`, or the configured text when it could not be resolved. */
  project: string;
  /** When the project was checked (ISO 8601, UTC). */
  checked_at: string;
  /** `packaged`: a job ran and finished; `up_to_date`: nothing to do; `failed`: see `error`. */
  action: "packaged" | "up_to_date" | "failed";
  /** The package job waited on, or the one of the current package when up to date. */
  job_id: string | null;
  /** That job's final status (`finished`, `failed`, `stopped`), or null. */
  status: string | null;
  /** One line saying what went wrong, or null. */
  error: string | null;
  /** Files of the latest package (empty when there is none). */
  files: PackageFileSummary[];
  /** Layers the packager reported as unusable in QField. */
  invalid_layers: { name: string; error_code: string }[];
}

/** The record of one whole run, stored under {@linkcode LAST_RUN_KEY}. */
export interface NightlyRun {
  /** Start of the run (ISO 8601, UTC). */
  started_at: string;
  /** End of the run (ISO 8601, UTC). */
  finished_at: string;
  /** Projects packaged, up to date and failed. */
  packaged: number;
  /** Projects that needed nothing. */
  up_to_date: number;
  /** Projects that failed. */
  failed: number;
}

/** Options of {@linkcode runNightlyPackage}. */
export interface NightlyPackageOptions {
  /** A client with a token. */
  client: Client;
  /** Where the summaries go: a `Deno.Kv` from `Deno.openKv()`. */
  kv: SummaryStore;
  /** Project ids or `owner/name` texts. */
  projects: readonly string[];
  /** How long to wait for each package job. Default 20 minutes. */
  timeoutMs?: number;
  /** Time between job polls. Default 5000 ms. */
  intervalMs?: number;
  /** Where progress lines go; default `console.log`. */
  log?: (line: string) => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks each project, packages those that need it, and stores one {@linkcode PackageSummary}
 * per project in KV (plus a {@linkcode NightlyRun}). A failing project does not stop the others:
 * its summary says `failed`. Returns the summaries in the order of `projects`.
 *
 * @example
 * ```ts
 * const summaries = await runNightlyPackage({ client, kv, projects: [projectId] });
 * if (summaries.some((s) => s.action === "failed")) Deno.exit(1);
 * ```
 */
export async function runNightlyPackage(
  options: NightlyPackageOptions,
): Promise<PackageSummary[]> {
  const log = options.log ?? console.log;
  const startedAt = new Date().toISOString();
  const summaries: PackageSummary[] = [];
  for (const spec of options.projects) {
    const summary = await packageOne(spec, options);
    summaries.push(summary);
    await options.kv.set([...SUMMARY_KEY_PREFIX, summary.project_id], summary);
    log(describe(summary));
  }
  const run: NightlyRun = {
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    packaged: summaries.filter((s) => s.action === "packaged").length,
    up_to_date: summaries.filter((s) => s.action === "up_to_date").length,
    failed: summaries.filter((s) => s.action === "failed").length,
  };
  await options.kv.set(LAST_RUN_KEY, run);
  return summaries;
}

async function packageOne(spec: string, options: NightlyPackageOptions): Promise<PackageSummary> {
  const { client } = options;
  const summary: PackageSummary = {
    project_id: spec,
    project: spec,
    checked_at: new Date().toISOString(),
    action: "failed",
    job_id: null,
    status: null,
    error: null,
    files: [],
    invalid_layers: [],
  };
  try {
    const project = await resolveProject(client, spec);
    summary.project_id = project.id;
    summary.project = `${project.owner}/${project.name}`;
    if (!project.needs_repackaging) {
      summary.action = "up_to_date";
      await readLatestPackage(client, project.id, summary).catch(() => {
        // Up to date for this user but no package readable: leave the file list empty.
      });
      return summary;
    }
    // Without force, an unfinished package job (someone else's too) is returned, not doubled.
    const job: Job = await client.jobTrigger(project.id, "package");
    summary.job_id = job.id;
    try {
      const done = await client.waitForJob(job.id, {
        timeoutMs: options.timeoutMs ?? 20 * 60_000,
        intervalMs: options.intervalMs ?? 5_000,
      });
      summary.status = done.status;
    } catch (error) {
      if (error instanceof QfcJobFailedException) summary.status = error.job.status;
      throw error;
    }
    await readLatestPackage(client, project.id, summary);
    summary.action = "packaged";
  } catch (error) {
    summary.action = "failed";
    summary.error = oneLine(error);
  }
  return summary;
}

async function resolveProject(client: Client, spec: string) {
  if (UUID.test(spec)) return await client.getProject(spec);
  const [owner, name, ...rest] = spec.split("/");
  if (!owner || !name || rest.length) {
    throw new Error(`Cannot read project "${spec}": use a project id or "owner/name"`);
  }
  const found = (await client.listProjects({ owner, name })).find((p) =>
    p.owner.toLowerCase() === owner.toLowerCase() && p.name.toLowerCase() === name.toLowerCase()
  );
  if (!found) throw new Error(`Cannot find project "${spec}" among your projects`);
  return found;
}

async function readLatestPackage(client: Client, projectId: string, summary: PackageSummary) {
  const latest = await client.packageLatest(projectId);
  summary.job_id ??= latest.package_id;
  summary.status ??= latest.status;
  summary.files = latest.files.map(({ name, size, md5sum }) => ({ name, size, md5sum }));
  summary.invalid_layers = Object.values(latest.layers ?? {})
    .filter((layer) => !layer.is_valid)
    .map((layer) => ({ name: layer.name, error_code: layer.error_code }));
}

function describe(summary: PackageSummary): string {
  switch (summary.action) {
    case "packaged":
      return `${summary.project}: packaged (job ${summary.job_id}, ${summary.files.length} files)`;
    case "up_to_date":
      return `${summary.project}: up to date`;
    default:
      return `${summary.project}: failed: ${summary.error}`;
  }
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0];
}

/** Configuration read from the environment by {@linkcode configFromEnv}. */
export interface NightlyConfig {
  /** Project ids or `owner/name` texts, from `QFIELDCLOUD_PROJECTS`. */
  projects: string[];
  /** Cron expression, from `NIGHTLY_PACKAGE_SCHEDULE`. */
  schedule: string;
  /** Wait per job, from `NIGHTLY_PACKAGE_TIMEOUT_MINUTES`. */
  timeoutMs: number;
  /** Time between job polls, from `NIGHTLY_PACKAGE_POLL_SECONDS`. */
  intervalMs: number;
}

/**
 * Reads the task's configuration from environment variables; throws one clear line when
 * `QFIELDCLOUD_PROJECTS` is missing or a number is malformed.
 *
 * @example
 * ```ts
 * const { projects, schedule } = configFromEnv((name) => Deno.env.get(name));
 * ```
 */
export function configFromEnv(env: (name: string) => string | undefined): NightlyConfig {
  const projects = (env("QFIELDCLOUD_PROJECTS") ?? "").split(/[\s,]+/).filter(Boolean);
  if (!projects.length) {
    throw new Error(
      'Set QFIELDCLOUD_PROJECTS to the projects to package, e.g. "my-org/survey-2026,<project id>"',
    );
  }
  return {
    projects,
    schedule: env("NIGHTLY_PACKAGE_SCHEDULE") || DEFAULT_SCHEDULE,
    timeoutMs: positiveNumber(env, "NIGHTLY_PACKAGE_TIMEOUT_MINUTES", 20) * 60_000,
    intervalMs: positiveNumber(env, "NIGHTLY_PACKAGE_POLL_SECONDS", 5) * 1000,
  };
}

function positiveNumber(
  env: (name: string) => string | undefined,
  name: string,
  fallback: number,
): number {
  const text = env(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`Cannot use ${name}="${text}": give a positive number`);
  }
  return value;
}

/** How {@linkcode registerNightlyCron} registers and runs the task; the defaults use `Deno`. */
export interface RegisterOptions {
  /** Reads an environment variable; default `Deno.env.get`. */
  env?: (name: string) => string | undefined;
  /** Registers the handler; default `Deno.cron`. */
  cron?: (name: string, schedule: string, handler: () => Promise<void>) => unknown;
  /** Opens the KV store; default `Deno.openKv()` (the deployment's own database on Deploy). */
  openKv?: () => Promise<SummaryStore>;
  /** Builds the client; default `new Client()` (reads `QFIELDCLOUD_URL` and `QFIELDCLOUD_TOKEN`). */
  client?: () => Client;
  /** Where progress lines go; default `console.log` (Deploy's log). */
  log?: (line: string) => void;
}

/**
 * Registers the cron job. The schedule is read at once (Deploy reads crons when the isolate
 * starts); everything else is read when the job runs, so a configuration error shows up as a
 * failed run with one clear message. A run with a failed project throws, so Deploy marks it
 * failed.
 *
 * @example
 * ```ts
 * registerNightlyCron();
 * ```
 */
export function registerNightlyCron(options: RegisterOptions = {}): void {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const cron = options.cron ?? (Deno as { cron?: RegisterOptions["cron"] }).cron;
  if (typeof cron !== "function") {
    throw new Error(
      "Deno.cron is not available: run with --unstable-cron (Deno Deploy needs no flag)",
    );
  }
  const schedule = env("NIGHTLY_PACKAGE_SCHEDULE") || DEFAULT_SCHEDULE;
  let kv: Promise<SummaryStore> | undefined;
  cron("qfieldcloud-nightly-package", schedule, async () => {
    const config = configFromEnv(env);
    kv ??= (options.openKv ?? (() => openKv(env)))();
    const client = options.client?.() ?? new Client({ userAgent: "nightly-package" });
    const summaries = await runNightlyPackage({
      client,
      kv: await kv,
      projects: config.projects,
      timeoutMs: config.timeoutMs,
      intervalMs: config.intervalMs,
      log: options.log,
    });
    const failed = summaries.filter((s) => s.action === "failed");
    if (failed.length) {
      throw new Error(`Packaging failed for ${failed.map((s) => s.project).join(", ")}`);
    }
  });
}

function openKv(env: (name: string) => string | undefined): Promise<Deno.Kv> {
  const open = (Deno as { openKv?: (path?: string) => Promise<Deno.Kv> }).openKv;
  if (typeof open !== "function") {
    throw new Error("Deno.openKv is not available: run with --unstable-kv");
  }
  return open(env("NIGHTLY_PACKAGE_KV_PATH") || undefined);
}

function onDenoDeploy(): boolean {
  // Reading the variable must not fail (or prompt) where env access is not granted.
  const state = Deno.permissions.querySync({ name: "env", variable: "DENO_DEPLOYMENT_ID" }).state;
  return state === "granted" && Boolean(Deno.env.get("DENO_DEPLOYMENT_ID"));
}

async function runOnce(): Promise<number> {
  const env = (name: string) => Deno.env.get(name);
  const config = configFromEnv(env);
  const kv = await openKv(env);
  try {
    const summaries = await runNightlyPackage({
      client: new Client({ userAgent: "nightly-package" }),
      kv,
      projects: config.projects,
      timeoutMs: config.timeoutMs,
      intervalMs: config.intervalMs,
      log: (line) => console.error(line),
    });
    console.log(JSON.stringify(summaries, null, 2));
    return summaries.some((s) => s.action === "failed") ? 1 : 0;
  } finally {
    kv.close();
  }
}

// Deploy evaluates the module and collects crons registered at top level; a plain import (a
// test, another module) must register nothing.
if (import.meta.main && Deno.args.includes("--once")) {
  try {
    Deno.exit(await runOnce());
  } catch (error) {
    console.error(`nightly_package: ${oneLine(error)}`);
    Deno.exit(2);
  }
} else if (import.meta.main || onDenoDeploy()) {
  try {
    registerNightlyCron();
  } catch (error) {
    console.error(`nightly_package: ${oneLine(error)}`);
    if (import.meta.main) Deno.exit(2);
    throw error;
  }
}
