/**
 * The floor for the downloads in `deno task bench`: the least a Deno client
 * can do (fetch each file of a project and write it, 8 at a time), with none
 * of the library's guarantees: no temporary file and rename, no etag or size
 * check, no retries, no progress. It shows how much of our time is Deno's own.
 *
 * Usage: deno run -A bench/fetch_floor.ts <json> where <json> is {url, token, projectId, dir}.
 *
 * @module
 */
import { open, writeFile } from "node:fs/promises";

const job = JSON.parse(Deno.args[0]) as {
  url: string;
  token: string;
  projectId: string;
  dir: string;
};
const headers = { Authorization: `Token ${job.token}` };
const files = await (await fetch(`${job.url}files/${job.projectId}/`, { headers })).json() as {
  name: string;
  size: number;
}[];
await Deno.mkdir(job.dir, { recursive: true });

async function download(name: string, size: number) {
  const response = await fetch(`${job.url}files/${job.projectId}/${name}/`, { headers });
  if (!response.ok || !response.body) throw new Error(`${name}: HTTP ${response.status}`);
  const path = `${job.dir}/${name}`;
  // The cheapest way for each size: small bodies in one piece, large ones streamed.
  if (size <= 256 * 1024) {
    await writeFile(path, new Uint8Array(await response.arrayBuffer()));
    return;
  }
  const file = await open(path, "w");
  try {
    for await (const chunk of response.body) {
      for (let done = 0; done < chunk.byteLength;) {
        done += (await file.write(chunk, done, chunk.byteLength - done, null)).bytesWritten;
      }
    }
  } finally {
    await file.close();
  }
}

let next = 0;
const worker = async () => {
  while (next < files.length) {
    const { name, size } = files[next++];
    await download(name, size);
  }
};
await Promise.all(Array.from({ length: 8 }, worker));
console.log(JSON.stringify({ files: files.length }));
