/**
 * The client side of the sync benchmark, run in its own process by
 * `bench/sync_bench.ts` so that its wall time (start-up included) and peak
 * memory are measured alone.
 *
 * Usage: deno run -A bench/sync_client.ts <json>
 * where <json> is {url, token, projectId, dir}. Prints one JSON line:
 * {ms, summary, hashed, requests: {kind: count}}.
 *
 * @module
 */
import { countingCore } from "./bench_helpers.ts";
import { syncProject } from "../src/transfer/sync.ts";

interface Job {
  url: string;
  token: string;
  projectId: string;
  dir: string;
}

const job = JSON.parse(Deno.args[0]) as Job;
const { core, requests } = countingCore(job);

const start = performance.now();
const report = await syncProject(core, job.projectId, job.dir, {
  direction: "sync",
  throwOnError: true,
});
const ms = performance.now() - start;
console.log(JSON.stringify({ ms, summary: report.summary, hashed: report.plan.hashed, requests }));
