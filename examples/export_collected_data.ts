/**
 * Exports what the field teams collected: waits until the project's pending `delta_apply`
 * jobs are done (so the GeoPackages hold every synced edit), then downloads the data files
 * and the `DCIM/` photos into a local folder. Run it again and only what changed on the
 * server is downloaded: a file whose local etag equals the server's is skipped without a
 * request. Prints a JSON summary (see {@linkcode ExportSummary}) on stdout.
 *
 * Configuration (environment variables, or the arguments `<project id> <folder>`):
 * - `QFIELDCLOUD_URL`, `QFIELDCLOUD_TOKEN` (never printed).
 * - `QFIELDCLOUD_PROJECT_ID`, `EXPORT_DIR`.
 * - `EXPORT_PATTERNS`: comma-separated globs (Python `fnmatch`: `*` also matches `/`);
 *   default {@linkcode DEFAULT_PATTERNS}.
 * - `EXPORT_WAIT_MINUTES`: how long to wait for delta jobs; default 10.
 *
 * Run it (cron, CI, by hand):
 * ```sh
 * deno run -A examples/export_collected_data.ts 0d1c…-project-id ./export > summary.json
 * ```
 * Exit codes: 0 done; 1 a file failed or a delta job failed (the summary says which);
 * 2 bad configuration or the server could not be reached.
 *
 * @example Export in a script of your own
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { exportCollectedData } from "./export_collected_data.ts";
 *
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const summary = await exportCollectedData({ client, projectId: "…", destination: "./export" });
 * console.log(`${summary.downloaded.length} new or changed, ${summary.unchanged.length} unchanged`);
 * ```
 *
 * @module
 */
import { Client, JobStatus, QfcJobFailedException, QfcTimeoutException } from "@qfieldcloud/sdk";

/** The files exported by default: common data formats and the photos. */
export const DEFAULT_PATTERNS: readonly string[] = [
  "*.gpkg",
  "*.sqlite",
  "*.geojson",
  "*.csv",
  "DCIM/*",
];

/** Options of {@linkcode exportCollectedData}. */
export interface ExportOptions {
  /** A client with a token. */
  client: Client;
  /** The project to export. */
  projectId: string;
  /** Local folder; created if missing. */
  destination: string;
  /** Globs of the files to export; default {@linkcode DEFAULT_PATTERNS}. */
  patterns?: readonly string[];
  /** How long to wait for `delta_apply` jobs in all. Default 10 minutes. */
  waitTimeoutMs?: number;
  /** Time between job polls. Default 3000 ms. */
  intervalMs?: number;
  /** Files downloaded at the same time. Default 8. */
  concurrency?: number;
  /** Where progress lines go; default none. */
  log?: (line: string) => void;
}

/** What {@linkcode exportCollectedData} did, printed as JSON by the script. */
export interface ExportSummary {
  /** The project. */
  project_id: string;
  /** The local folder. */
  destination: string;
  /** The globs used. */
  patterns: string[];
  /** The `delta_apply` jobs waited for, with their final status. */
  delta_jobs: { id: string; status: string; error?: string }[];
  /** Files downloaded because they were new or changed. */
  downloaded: { name: string; size: number }[];
  /** Files skipped because the local copy already had the server's etag. */
  unchanged: string[];
  /** Files that failed, with the reason. */
  failed: { name: string; reason: string }[];
  /** Bytes downloaded in this run. */
  bytes_downloaded: number;
  /** When the export started and ended (ISO 8601, UTC). */
  started_at: string;
  /** End of the export. */
  finished_at: string;
}

const ACTIVE: readonly string[] = [JobStatus.PENDING, JobStatus.QUEUED, JobStatus.STARTED];

/**
 * Waits for the project's unfinished `delta_apply` jobs (including ones that appear while
 * waiting), then downloads the files matching the patterns into the destination, skipping
 * those whose local etag equals the server's. A failed delta job does not stop the export;
 * it is reported in the summary.
 *
 * @example
 * ```ts
 * const summary = await exportCollectedData({ client, projectId, destination: "./export" });
 * if (summary.failed.length) console.error(summary.failed);
 * ```
 */
export async function exportCollectedData(options: ExportOptions): Promise<ExportSummary> {
  const { client, projectId } = options;
  const log = options.log ?? (() => {});
  const patterns = [...(options.patterns ?? DEFAULT_PATTERNS)];
  const summary: ExportSummary = {
    project_id: projectId,
    destination: options.destination,
    patterns,
    delta_jobs: [],
    downloaded: [],
    unchanged: [],
    failed: [],
    bytes_downloaded: 0,
    started_at: new Date().toISOString(),
    finished_at: "",
  };

  const deadline = Date.now() + (options.waitTimeoutMs ?? 10 * 60_000);
  const waited = new Set<string>();
  while (true) {
    const jobs = await client.listJobs(projectId, { jobType: "delta_apply" });
    const active = jobs.filter((job) => ACTIVE.includes(job.status) && !waited.has(job.id));
    if (!active.length) break;
    for (const job of active) {
      waited.add(job.id);
      log(`waiting for delta_apply job ${job.id} (${job.status})`);
      try {
        const done = await client.waitForJob(job.id, {
          timeoutMs: Math.max(deadline - Date.now(), 1),
          intervalMs: options.intervalMs ?? 3_000,
        });
        summary.delta_jobs.push({ id: job.id, status: done.status });
      } catch (error) {
        if (error instanceof QfcJobFailedException) {
          summary.delta_jobs.push({ id: job.id, status: error.job.status, error: error.message });
        } else if (error instanceof QfcTimeoutException) {
          throw new Error(
            `Delta job ${job.id} is still running; the data would be incomplete, so nothing ` +
              "was exported (raise EXPORT_WAIT_MINUTES)",
            { cause: error },
          );
        } else {
          throw error;
        }
      }
    }
  }

  const results = await client.downloadProject(projectId, options.destination, {
    filter: patterns,
    concurrency: options.concurrency,
  });
  for (const result of results) {
    if (result.status === "SUCCESS") {
      summary.downloaded.push({ name: result.name, size: result.size });
      summary.bytes_downloaded += result.size;
      log(`downloaded ${result.name}`);
    } else if (result.status === "SKIPPED") {
      summary.unchanged.push(result.name);
    } else {
      summary.failed.push({ name: result.name, reason: result.reason ?? "unknown error" });
      log(`failed ${result.name}: ${result.reason}`);
    }
  }
  summary.finished_at = new Date().toISOString();
  return summary;
}

async function main(args: string[]): Promise<number> {
  const env = (name: string) => Deno.env.get(name) || undefined;
  const projectId = args[0] ?? env("QFIELDCLOUD_PROJECT_ID");
  const destination = args[1] ?? env("EXPORT_DIR");
  if (!projectId || !destination || args.length > 2) {
    throw new Error(
      "Usage: export_collected_data.ts <project id> <folder> " +
        "(or set QFIELDCLOUD_PROJECT_ID and EXPORT_DIR)",
    );
  }
  const patterns = env("EXPORT_PATTERNS")?.split(",").map((p) => p.trim()).filter(Boolean);
  const minutesText = env("EXPORT_WAIT_MINUTES") ?? "10";
  const minutes = Number(minutesText);
  if (!Number.isFinite(minutes) || minutes <= 0) {
    throw new Error(`Cannot use EXPORT_WAIT_MINUTES="${minutesText}": give a positive number`);
  }
  const summary = await exportCollectedData({
    client: new Client({ userAgent: "export-collected-data" }),
    projectId,
    destination,
    patterns: patterns?.length ? patterns : undefined,
    waitTimeoutMs: minutes * 60_000,
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(summary, null, 2));
  const deltaFailed = summary.delta_jobs.some((job) => job.status !== JobStatus.FINISHED);
  return summary.failed.length || deltaFailed ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`export_collected_data: ${(error as Error).message.split("\n")[0]}`);
    Deno.exit(2);
  }
}
