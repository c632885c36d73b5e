/**
 * Listing benchmark (part of `deno task bench`, alone as `deno task bench:list`): an account
 * with 10,000 projects on the test server, with 30 ms added before each answer, listed
 *
 * - page by page, 100 a page, one request after the other (how `listProjects()` listed
 *   before, and how `iterateProjects()` still streams);
 * - by `listProjects()`: the first page, then the others a bounded number at a time;
 * - as the Python SDK walks a list, 20 a page, one after the other (for comparison).
 *
 * Prints a Markdown table of the median times and the round trips of each.
 *
 * Options: --projects N (default 10000), --latency-ms MS (default 30), --runs N (default 3).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { AUTO_PAGE_SIZE, Client, LIST_PAGE_CONCURRENCY, type Project } from "../mod.ts";
import { startTestServer } from "../testing/mod.ts";
import { markdownTable, median } from "./table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    projects: { type: "string", default: "10000" },
    "latency-ms": { type: "string", default: "30" },
    runs: { type: "string", default: "3" },
  },
});
const PROJECTS = wholeNumber("--projects", values.projects);
const LATENCY_MS = wholeNumber("--latency-ms", values["latency-ms"]);
const RUNS = Math.max(1, wholeNumber("--runs", values.runs));

const server = await startTestServer({
  users: [{ username: "bench", password: "bench-password" }],
  latencyMs: LATENCY_MS,
  quiet: true,
});
try {
  for (let i = 0; i < PROJECTS; i++) {
    server.addProject({ name: `project-${String(i).padStart(5, "0")}`, owner: "bench" });
  }
  const client = new Client({ url: server.url, token: server.createToken("bench") });
  const pagesOf = (pageSize: number) => async () => {
    const projects: Project[] = [];
    for await (const page of client.core.pages<Project>({ path: ["projects"] }, pageSize)) {
      projects.push(...page);
    }
    return projects;
  };
  const ways: [string, () => Promise<Project[]>][] = [
    [`before: ${AUTO_PAGE_SIZE} a page, one after the other`, pagesOf(AUTO_PAGE_SIZE)],
    [
      `listProjects(): ${AUTO_PAGE_SIZE} a page, ${LIST_PAGE_CONCURRENCY} at a time`,
      () => client.listProjects(),
    ],
    ["Python SDK's walk: 20 a page, one after the other", pagesOf(20)],
  ];
  const rows = [["way", "median time", "round trips", "projects"]];
  for (const [label, list] of ways) {
    const times: number[] = [];
    let trips = 0;
    let count = 0;
    for (let run = 0; run < RUNS; run++) {
      const before = server.requests.length;
      const start = performance.now();
      count = (await list()).length;
      times.push(performance.now() - start);
      trips = server.requests.length - before;
    }
    if (count !== PROJECTS) throw new Error(`${label} listed ${count} of ${PROJECTS} projects`);
    rows.push([label, `${(median(times) / 1000).toFixed(2)} s`, String(trips), String(count)]);
    console.error(`${label}: done`);
  }
  console.log(
    `\nListing ${PROJECTS} projects, ${LATENCY_MS} ms added per request, median of ${RUNS}:\n`,
  );
  console.log(markdownTable(rows));
} finally {
  await server.close();
}

function wholeNumber(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${flag} needs a whole number, not "${value}"`);
    Deno.exit(2);
  }
  return n;
}
