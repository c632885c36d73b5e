/**
 * What the benchmarks share: the test server in its own process, a fetch that
 * counts requests by kind, and a markdown table.
 *
 * @module
 */

import { RequestCore } from "../src/http.ts";

const REPO = new URL("..", import.meta.url).pathname;

/** Starts `testing/serve.ts` with on-disk storage and one user `bench:bench-password`. */
export async function startServer(
  storage: string,
): Promise<{ url: string; close(): Promise<void> }> {
  await Deno.mkdir(storage, { recursive: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${REPO}testing/serve.ts`,
      "--port",
      "0",
      "--storage",
      storage,
      "--user",
      "bench:bench-password",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The test server exited early: ${text}`);
    text += value;
  }
  const url = /(https?:\/\/\S+)/.exec(text)?.[1];
  if (!url) throw new Error(`Cannot find the server URL in "${text.trim()}"`);
  // Keep draining stdout so the server never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return {
    url: url.endsWith("/api/v1/") ? url : new URL("api/v1/", url).href,
    async close() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/**
 * A request core without timeouts whose requests are counted by kind ("METHOD listing" or
 * "METHOD file"), for a benchmark client process.
 */
export function countingCore(
  job: { url: string; token: string },
): { core: RequestCore; requests: Record<string, number> } {
  const requests: Record<string, number> = {};
  const core = new RequestCore({
    url: job.url,
    token: job.token,
    timeoutMs: 0,
    fetch: countingFetch(requests),
  });
  return { core, requests };
}

function countingFetch(requests: Record<string, number>): typeof fetch {
  return (input, init) => {
    // String work only: parsing a URL per request would weigh on the client being measured.
    const href = input instanceof Request ? input.url : String(input);
    const path = href.split(/[?#]/, 1)[0];
    const kind = `${init?.method ?? "GET"} ${/\/files\/[^/]+\/$/.test(path) ? "listing" : "file"}`;
    requests[kind] = (requests[kind] ?? 0) + 1;
    return fetch(input, init);
  };
}

const HAS_TIME = await Deno.stat("/usr/bin/time").then(() => true, () => false);

/**
 * Runs a command under `/usr/bin/time -v` (when there is one), after a `sync` so that no run
 * pays for the previous one's writes: wall time from start to exit, peak RSS, stdout.
 */
export async function timed(
  cmd: string[],
): Promise<{ ms: number; rssMiB?: number; stdout: string }> {
  await new Deno.Command("sync").output().catch(() => {});
  const full = HAS_TIME ? ["/usr/bin/time", "-v", ...cmd] : cmd;
  const start = performance.now();
  const out = await new Deno.Command(full[0], {
    args: full.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd[0]} failed (${out.code}): ${stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return {
    ms,
    rssMiB: rss ? Number(rss[1]) / 1024 : undefined,
    stdout: new TextDecoder().decode(out.stdout),
  };
}
