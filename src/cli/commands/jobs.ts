/**
 * Job commands: `list-jobs`, `job-trigger` (with `--wait`), `job-status` and
 * `job-wait`.
 *
 * @module
 */

import { Argument, type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { type Client, type Job, Pagination, QfcJobFailedException } from "../../../mod.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { ExitCode } from "../exit_codes.ts";
import { stableJson } from "../output.ts";
import { integerParser, parseSeconds } from "../options.ts";
import { parseJobId, projectArgument, projectClient } from "../project_ref.ts";

/** Job types a user can trigger (the server refuses `create_project`). */
const TRIGGER_TYPES = ["package", "delta_apply", "process_projectfile"] as const;
/** Job types a listing may be filtered by. */
const LIST_TYPES = [...TRIGGER_TYPES, "create_project"] as const;

const JOB_COLUMNS = [
  { header: "ID", value: (job: Job) => job.id },
  { header: "TYPE", value: (job: Job) => job.type },
  { header: "STATUS", value: (job: Job) => job.status },
  { header: "CREATED", value: (job: Job) => job.created_at ?? "" },
  { header: "FINISHED", value: (job: Job) => job.finished_at ?? "" },
];

const FEEDBACK_LINES = 60;

function timeoutOption(): Option<"--timeout <seconds>", undefined, 1800, number> {
  return new Option("--timeout <seconds>", "Give up waiting after this long (exit 10).")
    .default(1800)
    .argParser(parseSeconds) as Option<"--timeout <seconds>", undefined, 1800, number>;
}

function intervalOption(): Option<"--interval <seconds>", undefined, 2, number> {
  return new Option("--interval <seconds>", "Seconds between status checks.")
    .default(2)
    .argParser(parseSeconds) as Option<"--interval <seconds>", undefined, 2, number>;
}

/**
 * Polls the job until it finishes, printing status changes on stderr; prints
 * the final job (or, on failure, its feedback) and sets the exit code.
 */
async function waitAndReport(
  ctx: CliContext,
  client: Client,
  jobId: string,
  timeoutSeconds: number,
  intervalSeconds: number,
): Promise<void> {
  let lastStatus: string | undefined;
  try {
    const job = await client.waitForJob(jobId, {
      timeoutMs: Math.max(0, timeoutSeconds * 1000),
      intervalMs: Math.max(50, intervalSeconds * 1000),
      signal: ctx.io.signal,
      onPoll: (polled) => {
        if (polled.status !== lastStatus && !ctx.out.json) {
          ctx.out.notice(`Job ${polled.id} (${polled.type}) is ${polled.status}.`);
        }
        lastStatus = polled.status;
      },
    });
    ctx.out.result(job, () => ctx.out.line(`Job ${job.id} (${job.type}) finished.`));
  } catch (error) {
    if (!(error instanceof QfcJobFailedException)) throw error;
    const job = error.job;
    if (ctx.out.json) {
      const full = await client.jobStatus(job.id).catch(() => job);
      ctx.out.printJson(full);
    } else if (job.feedback !== null && job.feedback !== undefined) {
      const lines = stableJson(job.feedback).split("\n");
      ctx.out.errorDetail("Job feedback:");
      ctx.out.errorDetail(lines.slice(0, FEEDBACK_LINES).join("\n"));
      if (lines.length > FEEDBACK_LINES) {
        ctx.out.errorDetail(
          `… ${
            lines.length - FEEDBACK_LINES
          } more lines: see "qfieldcloud-cli --json job-status ${job.id}"`,
        );
      }
    }
    throw new CliError(error.message, ExitCode.JOB_FAILED);
  }
}

/**
 * Adds the job commands.
 *
 * @example
 * ```ts ignore
 * registerJobCommands(program, ctx);
 * ```
 */
export function registerJobCommands(program: CommandUnknownOpts, ctx: CliContext): void {
  program.command("list-jobs")
    .description("List a project's jobs.")
    .addArgument(projectArgument())
    .addOption(new Option("--type <job_type>", "Only jobs of this type.").choices(LIST_TYPES))
    .addOption(
      new Option(
        "-l, --limit <n>",
        "Return at most this many jobs (of --type, when given: pages are read until enough match).",
      ).argParser(integerParser(1)),
    )
    .addOption(
      new Option("-o, --offset <n>", "Skip this many jobs (of --type, when given).")
        .argParser(integerParser(0)),
    )
    .action(async (ref, options) => {
      const pagination = options.limit !== undefined || options.offset !== undefined
        ? new Pagination({ limit: options.limit, offset: options.offset })
        : undefined;
      const { client, projectId } = await projectClient(ctx, ref);
      const jobs = await client.listJobs(projectId, {
        jobType: options.type,
        pagination,
      });
      ctx.out.result(jobs, () => {
        if (jobs.length === 0) {
          const kind = options.type ? `${options.type} jobs` : "jobs";
          const past = options.offset ? ` after the first ${options.offset}` : "";
          ctx.out.line(`No ${kind} in project "${ref.text}"${past}.`);
        } else ctx.out.table(jobs, JOB_COLUMNS);
      });
    });

  program.command("job-trigger")
    .description(
      "Trigger a job. Without --force, an unfinished job of the same type is returned instead\n" +
        "of a new one. With --wait, wait until it ends; a failed job exits 9 with its feedback.",
    )
    .addArgument(projectArgument())
    .addArgument(new Argument("<job_type>", "Job type.").choices(TRIGGER_TYPES))
    .option("--force", "Create a new job even if one is unfinished. Default: no.")
    .option("--no-force", "Reuse an unfinished job of the same type.")
    .option("--wait", "Wait until the job finishes or fails.")
    .addOption(timeoutOption())
    .addOption(intervalOption())
    .action(async (ref, jobType, options) => {
      const { client, projectId } = await projectClient(ctx, ref);
      const job = await client.jobTrigger(projectId, jobType, { force: options.force ?? false });
      if (!options.wait) {
        ctx.out.result(job, () => {
          ctx.out.line(`Job of type "${job.type}" triggered for project "${ref.text}": ${job.id}`);
        });
        return;
      }
      if (!ctx.out.json) ctx.out.notice(`Job ${job.id} (${job.type}) triggered; waiting…`);
      await waitAndReport(ctx, client, job.id, options.timeout, options.interval);
    });

  program.command("job-status")
    .description("Show a job's status.")
    .addArgument(new Argument("<job_id>", "Job id.").argParser(parseJobId))
    .action(async (jobId) => {
      const job = await (await ctx.client()).jobStatus(jobId);
      ctx.out.result(job, () => {
        ctx.out.line(`Job ${job.id} (${job.type}) of project ${job.project_id}: ${job.status}`);
      });
    });

  program.command("job-wait")
    .description(
      "Wait until a job ends, polling its status. Exits 0 when it finished, 9 (printing its\n" +
        "feedback) when it failed, 10 on --timeout.",
    )
    .addArgument(new Argument("<job_id>", "Job id.").argParser(parseJobId))
    .addOption(timeoutOption())
    .addOption(intervalOption())
    .action(async (jobId, options) => {
      await waitAndReport(ctx, await ctx.client(), jobId, options.timeout, options.interval);
    });
}
