/**
 * The client side of the transfer benchmark, run in its own process by
 * `bench/transfer_bench.ts` so that its peak memory can be measured alone.
 *
 * Usage: deno run -A bench/transfer_client.ts <json>
 * where <json> is {url, token, op, projectId, dir, file?, name?, verify?}. Prints one
 * JSON line: {ms, results: {status: count}, requests: {kind: count}}.
 *
 * @module
 */
import { countingCore } from "./bench_helpers.ts";
import {
  downloadFile,
  downloadProject,
  type DownloadVerification,
  uploadFile,
  uploadFiles,
} from "../src/transfer/mod.ts";

interface Job {
  url: string;
  token: string;
  op: "upload-dir" | "download-project" | "upload-file" | "download-file";
  projectId: string;
  dir: string;
  file?: string;
  name?: string;
  verify?: DownloadVerification;
}

const job = JSON.parse(Deno.args[0]) as Job;
const { core, requests } = countingCore(job);

const start = performance.now();
let results;
switch (job.op) {
  case "upload-dir":
    results = await uploadFiles(core, job.projectId, job.dir, { throwOnError: true });
    break;
  case "download-project":
    results = await downloadProject(core, job.projectId, job.dir, {
      throwOnError: true,
      verify: job.verify,
    });
    break;
  case "upload-file":
    results = [await uploadFile(core, job.projectId, job.file!, job.name!)];
    break;
  case "download-file":
    results = [
      await downloadFile(core, job.projectId, job.name!, `${job.dir}/${job.name}`, {
        verify: job.verify,
      }),
    ];
    break;
}
const ms = performance.now() - start;
const counts: Record<string, number> = {};
for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
console.log(JSON.stringify({ ms, results: counts, requests }));
