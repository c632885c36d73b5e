/**
 * The floor for the small-file download in `deno task bench`: the least a Deno
 * client can do (fetch each file and write it, 8 at a time), with none of the
 * library's guarantees: no temporary file and rename, no etag or size check,
 * no retries, no progress. It shows how much of our time is Deno's own.
 *
 * Usage: deno run -A bench/fetch_floor.ts <json> where <json> is {url, token, projectId, dir}.
 *
 * @module
 */
import { writeFile } from "node:fs/promises";

const job = JSON.parse(Deno.args[0]) as {
  url: string;
  token: string;
  projectId: string;
  dir: string;
};
const headers = { Authorization: `Token ${job.token}` };
const files = await (await fetch(`${job.url}files/${job.projectId}/`, { headers })).json() as {
  name: string;
}[];
await Deno.mkdir(job.dir, { recursive: true });
let next = 0;
const worker = async () => {
  while (next < files.length) {
    const { name } = files[next++];
    const response = await fetch(`${job.url}files/${job.projectId}/${name}/`, { headers });
    if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
    await writeFile(`${job.dir}/${name}`, new Uint8Array(await response.arrayBuffer()));
  }
};
await Promise.all(Array.from({ length: 8 }, worker));
console.log(JSON.stringify({ files: files.length }));
