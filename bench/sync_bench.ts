/**
 * Sync benchmark (part of `deno task bench`): folders of many 4 KiB files in
 * 200 folders, synced with a test server (with `--storage`, in its own
 * process). For 5,000, 10,000 and 20,000 files (or up to `--files N`): the
 * first sync's time per 1000 files, which stays flat when nothing in a run is
 * quadratic; then, at the largest size, a no-op sync (one listing request, no
 * file read) and a sync after one file changed (one upload, one file read).
 * Each sync runs in its own process under `/usr/bin/time -v`: wall time is
 * process start to exit, and the peak RSS is the client's alone.
 *
 * Each client runs with the CLI's V8 flag (`CLI_V8_FLAGS` of `scripts/compile.ts`), as
 * `qfieldcloud-cli sync` does.
 *
 * Options: --files N (default 20000; the sizes are 5000, 10000 and 20000 up to N),
 * --no-cli-flags (run the clients without the CLI's V8 flag), --keep (keep the temporary folder).
 *
 * @module
 */
import { Client } from "../mod.ts";
import { startServer, timed } from "./bench_helpers.ts";
import { markdownTable } from "./table.ts";
import { CLI_V8_FLAGS } from "../scripts/compile.ts";

const args = parseArgs(Deno.args);
const MAX_FILES = args.files ?? 20_000;
const FILE_SIZE = 4 * 1024;
const FOLDERS = 200;
const sizes = [5_000, 10_000, 20_000].filter((n) => n <= MAX_FILES);
if (sizes.at(-1) !== MAX_FILES) sizes.push(MAX_FILES);

const root = await Deno.makeTempDir({ prefix: "qfc-sync-bench-" });
const repo = new URL("..", import.meta.url).pathname;
const log = (line: string) => console.error(line);

interface Measure {
  ms: number;
  rssMiB?: number;
  detail: {
    ms: number;
    summary: Record<string, number>;
    hashed: number;
    requests: Record<string, number>;
  };
}

const server = await startServer(`${root}/storage`);
try {
  const client = new Client({ url: server.url });
  const { token } = await client.login("bench", "bench-password");
  const rows: string[][] = [[
    "scenario",
    "wall (start-up included)",
    "per 1000 files",
    "peak RSS",
    "files read",
    "requests",
  ]];
  const row = (scenario: string, files: number, m: Measure) =>
    rows.push([
      scenario,
      `${(m.ms / 1000).toFixed(2)} s`,
      `${(m.ms / (files / 1000) / 1000).toFixed(3)} s`,
      m.rssMiB === undefined ? "n/a" : `${m.rssMiB.toFixed(0)} MiB`,
      String(m.detail.hashed),
      Object.entries(m.detail.requests).map(([k, v]) => `${v} ${k}`).join(", "),
    ]);

  let last: { dir: string; projectId: string } | undefined;
  for (const files of sizes) {
    const dir = `${root}/folder-${files}`;
    await writeFolder(dir, files);
    const projectId = (await client.createProject(`sync-${files}`)).id;
    const first = await runSync({ url: server.url, token, projectId, dir });
    check(first, "upload", files);
    row(`first sync, ${files} files`, files, first);
    last = { dir, projectId };
  }
  const files = sizes.at(-1)!;
  const noop = await runSync({ url: server.url, token, ...last! });
  check(noop, "upload", 0);
  row(`no-op sync, ${files} files`, files, noop);
  await Deno.writeTextFile(`${last!.dir}/d007/f00007.txt`, "changed\n".repeat(512));
  const one = await runSync({ url: server.url, token, ...last! });
  check(one, "upload", 1);
  row(`one file changed among ${files}`, files, one);

  console.log(markdownTable(rows));
  console.log(`\nmachine: ${await machine()}`);
} finally {
  await server.close();
  if (!args.keep) await Deno.remove(root, { recursive: true });
}

function check(m: Measure, what: string, expected: number) {
  const got = m.detail.summary[what];
  if (got !== expected || m.detail.summary.failed !== 0) {
    throw new Error(`expected ${expected} ${what}(s), got ${JSON.stringify(m.detail.summary)}`);
  }
}

async function writeFolder(dir: string, files: number) {
  const block = crypto.getRandomValues(new Uint8Array(FILE_SIZE));
  for (let folder = 0; folder < FOLDERS; folder++) {
    await Deno.mkdir(`${dir}/d${String(folder).padStart(3, "0")}`, { recursive: true });
  }
  for (let i = 0; i < files; i++) {
    block[0] = i & 0xff;
    block[1] = (i >> 8) & 0xff;
    const folder = String(i % FOLDERS).padStart(3, "0");
    await Deno.writeFile(`${dir}/d${folder}/f${String(i).padStart(5, "0")}.txt`, block);
  }
  // Old mtimes, as files written before a sync would have: none is within the racy window.
  const old = new Date(Date.now() - 3_600_000);
  for await (const entry of Deno.readDir(dir)) {
    for await (const file of Deno.readDir(`${dir}/${entry.name}`)) {
      await Deno.utime(`${dir}/${entry.name}/${file.name}`, old, old);
    }
  }
  log(`${files} files of 4 KiB in ${FOLDERS} folders written to ${dir}`);
}

async function runSync(job: Record<string, unknown>): Promise<Measure> {
  // With the CLI's V8 flag, as `qfieldcloud-cli sync` runs (`--no-cli-flags` to leave it out).
  const flags = args["no-cli-flags"] ? [] : [CLI_V8_FLAGS];
  const cmd = [
    Deno.execPath(),
    "run",
    "-A",
    ...flags,
    `${repo}bench/sync_client.ts`,
    JSON.stringify(job),
  ];
  const m = await timed(cmd);
  const detail = JSON.parse(m.stdout.trim().split("\n").at(-1)!);
  log(`sync: ${m.ms.toFixed(0)} ms, ${JSON.stringify(detail)}`);
  return { ms: m.ms, rssMiB: m.rssMiB, detail };
}

async function machine(): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown CPU";
  return `${model}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os} ${Deno.build.arch}, ` +
    `Deno ${Deno.version.deno}`;
}

function parseArgs(
  argv: string[],
): { files?: number; keep?: boolean; "no-cli-flags"?: boolean } {
  const out: { files?: number; keep?: boolean; "no-cli-flags"?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--keep") out.keep = true;
    else if (argv[i] === "--no-cli-flags") out["no-cli-flags"] = true;
    else if (argv[i] === "--files") {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) {
        console.error(`--files needs a whole number of at least 1, not "${argv[i]}"`);
        Deno.exit(2);
      }
      out.files = value;
    } else {
      console.error(`Unknown option "${argv[i]}"`);
      Deno.exit(2);
    }
  }
  return out;
}
