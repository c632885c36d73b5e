/**
 * Transfer benchmark (`deno task bench`): this library against curl, on the
 * same test server (with `--storage`, in its own process), on this machine.
 *
 * Scenarios: upload and download of 1000 files of 16 KiB; upload and download
 * of one 1 GiB file; no-op re-downloads of both. For both downloads, a plain
 * Deno fetch-and-write client (`fetch_floor.ts`) shows Deno's floor.
 * Each client runs in its own process under `/usr/bin/time -v` so that its
 * peak RSS is measured alone. Wall time is process start to exit, for both.
 *
 * Options: --small-files N (default 1000), --big-mib N (default 1024), --runs N (default 1;
 * each client runs N times, in turns; the table shows the medians and each run's ratio), --verify etag|size (how our downloads are checked,
 * default etag, as in the library), --keep (keep the temporary folder), --python-sdk DIR (a
 * checkout of opengisch/qfieldcloud-sdk-python: its CLI's no-op `download-files` runs in turns
 * with ours), --python PATH (the Python with that CLI's dependencies, default python3).
 *
 * @module
 */
import { Client } from "../mod.ts";
import { markdownTable, median } from "./table.ts";
import { startServer, timed } from "./bench_helpers.ts";

const args = parseArgs(Deno.args);
const SMALL_FILES = args["small-files"] ?? 1000;
const SMALL_SIZE = 16 * 1024;
const BIG_MIB = args["big-mib"] ?? 1024;
const RUNS = args["runs"] ?? 1;
const VERIFY = args.verify ?? "etag";
if (!["etag", "size"].includes(VERIFY)) {
  console.error(`Unknown --verify "${VERIFY}": use etag or size`);
  Deno.exit(2);
}
const root = await Deno.makeTempDir({ prefix: "qfc-bench-" });
const repo = new URL("..", import.meta.url).pathname;

interface Measure {
  ms: number;
  rssMiB?: number;
  detail?: Record<string, unknown>;
}

const log = (line: string) => console.error(line);

const server = await startServer(`${root}/storage`);
try {
  const client = new Client({ url: server.url });
  const { token } = await client.login("bench", "bench-password");
  const newProject = async (name: string) => (await client.createProject(name)).id;

  // Local data.
  const smallDir = `${root}/small`;
  await Deno.mkdir(smallDir);
  const block = crypto.getRandomValues(new Uint8Array(SMALL_SIZE));
  for (let i = 0; i < SMALL_FILES; i++) {
    block[0] = i & 0xff;
    block[1] = (i >> 8) & 0xff;
    await Deno.writeFile(`${smallDir}/f${String(i).padStart(4, "0")}.bin`, block);
  }
  const bigDir = `${root}/big`;
  await Deno.mkdir(bigDir);
  await writeBigFile(`${bigDir}/big.bin`, BIG_MIB);
  log(`data ready in ${root}: ${SMALL_FILES} x 16 KiB, 1 x ${BIG_MIB} MiB`);

  const rows: string[][] = [];
  /**
   * One row: median times (and rates) of the runs, the highest peak RSS, the ratio of the
   * medians, and each run's ratio, so that the spread shows.
   */
  const report = (
    scenario: string,
    ours: Measure[],
    curl: Measure[] | undefined,
    amount: { files?: number; bytes?: number },
  ) => {
    const rate = (ms: number) =>
      amount.bytes !== undefined
        ? `${(amount.bytes / 1024 / 1024 / (ms / 1000)).toFixed(0)} MiB/s`
        : `${(amount.files! / (ms / 1000)).toFixed(0)} files/s`;
    const rss = (ms: Measure[]) => {
      const values = ms.flatMap((m) => (m.rssMiB === undefined ? [] : [m.rssMiB]));
      return values.length === 0 ? "n/a" : `${Math.max(...values).toFixed(0)} MiB`;
    };
    const oursMs = median(ours.map((m) => m.ms));
    const curlMs = curl ? median(curl.map((m) => m.ms)) : undefined;
    rows.push([
      scenario,
      `${(oursMs / 1000).toFixed(2)} s`,
      rate(oursMs),
      rss(ours),
      curlMs ? `${(curlMs / 1000).toFixed(2)} s` : "-",
      curlMs ? rate(curlMs) : "-",
      curl ? rss(curl) : "-",
      curlMs ? `${(oursMs / curlMs).toFixed(2)}x` : "-",
      curl ? ours.map((m, i) => (m.ms / curl[i].ms).toFixed(2)).join(", ") : "-",
    ]);
  };

  /**
   * Runs the clients in turns, `RUNS` times each: the machine's load drifts, and taking turns
   * exposes all of them to the same drift. Returns each client's runs.
   */
  const inTurns = async (
    ...clients: ((run: number) => Promise<Measure>)[]
  ): Promise<Measure[][]> => {
    const runs: Measure[][] = clients.map(() => []);
    for (let run = 0; run < RUNS; run++) {
      for (const [i, client] of clients.entries()) runs[i].push(await client(run));
    }
    return runs;
  };

  // 1000 small files, upload.
  let smallOurs = "";
  const [upSmallOurs, upSmallCurl] = await inTurns(async (run) => {
    smallOurs = await newProject(`small-ours-${run}`);
    return await runOurs({ op: "upload-dir", projectId: smallOurs, dir: smallDir }, token);
  }, async (run) => {
    const id = await newProject(`small-curl-${run}`);
    // One operation per file (a form applies to a whole operation), joined with "next".
    const config = [];
    for await (const entry of Deno.readDir(smallDir)) {
      if (config.length > 0) config.push("next");
      config.push(
        "fail",
        `url = "${server.url}files/${id}/${entry.name}/"`,
        `header = "Authorization: Token ${token}"`,
        `form = "file=@${smallDir}/${entry.name}"`,
        `output = "/dev/null"`,
      );
    }
    return await runCurl(config, root);
  });
  report(`upload ${SMALL_FILES} x 16 KiB`, upSmallOurs, upSmallCurl, { files: SMALL_FILES });

  // 1000 small files, download (from the project our upload filled).
  const listing = await client.listRemoteFiles(smallOurs);
  if (listing.length !== SMALL_FILES) {
    throw new Error(`expected ${SMALL_FILES} files, got ${listing.length}`);
  }
  const [downSmallOurs, downSmallCurl, downSmallFloor] = await inTurns(async (run) => {
    const dir = `${root}/down-small-ours-${run}`;
    return await runOurs({ op: "download-project", projectId: smallOurs, dir }, token);
  }, async (run) => {
    const dir = `${root}/down-small-curl-${run}`;
    await Deno.mkdir(dir);
    const config = ["fail", `header = "Authorization: Token ${token}"`];
    for (const file of listing) {
      config.push(
        `url = "${server.url}files/${smallOurs}/${file.name}/"`,
        `output = "${dir}/${file.name}"`,
      );
    }
    return await runCurl(config, root);
  }, (run) => runFloor(smallOurs, `${root}/down-small-floor-${run}`, token));
  report(`download ${SMALL_FILES} x 16 KiB`, downSmallOurs, downSmallCurl, { files: SMALL_FILES });
  report(`  the same, plain Deno fetch (floor)`, downSmallFloor, downSmallCurl, {
    files: SMALL_FILES,
  });

  // No-op re-download of the up-to-date project.
  const noop = await runOurs(
    { op: "download-project", projectId: smallOurs, dir: `${root}/down-small-ours-0` },
    token,
  );
  report(`no-op re-download of ${SMALL_FILES} files`, [noop], undefined, { files: SMALL_FILES });

  // The same no-op through the CLI (`download-files`, start-up included), taking turns with the
  // official Python CLI when `--python-sdk DIR` names a checkout of
  // opengisch/qfieldcloud-sdk-python whose dependencies `--python` (default python3) has.
  const cliArgs = [
    "-U",
    server.url,
    "-t",
    token,
    "download-files",
    smallOurs,
    `${root}/down-small-ours-0`,
  ];
  const cliRuns = [
    () => runCli("ours", [Deno.execPath(), "run", "-A", `${repo}cli.ts`, ...cliArgs]),
  ];
  if (args["python-sdk"]) {
    const python = args.python ?? "python3";
    const code = "from qfieldcloud_sdk.cli import cli; cli()";
    const env = `PYTHONPATH=${args["python-sdk"]}`;
    cliRuns.push(() => runCli("python", ["env", env, python, "-c", code, ...cliArgs]));
  }
  const [cliOurs, cliPython] = await inTurns(...cliRuns);

  // One big file, upload.
  let bigOurs = "";
  const bigProjects: string[] = [];
  const [upBigOurs, upBigCurl] = await inTurns(async (run) => {
    bigOurs = await newProject(`big-ours-${run}`);
    bigProjects.push(bigOurs);
    return await runOurs({ op: "upload-dir", projectId: bigOurs, dir: bigDir }, token);
  }, async (run) => {
    const id = await newProject(`big-curl-${run}`);
    bigProjects.push(id);
    return await runCurl([
      "fail",
      `url = "${server.url}files/${id}/big.bin/"`,
      `header = "Authorization: Token ${token}"`,
      `form = "file=@${bigDir}/big.bin"`,
      `output = "/dev/null"`,
    ], root);
  });
  const bigBytes = BIG_MIB * 1024 * 1024;
  report(`upload 1 x ${BIG_MIB} MiB`, upBigOurs, upBigCurl, { bytes: bigBytes });
  // Free the storage of all but one uploaded copy: gigabytes of written files left in the page
  // cache make the kernel reclaim memory during the downloads, which slows one run at random.
  for (const id of bigProjects) if (id !== bigOurs) await client.deleteProject(id);

  // One big file, download.
  const [downBigOurs, downBigCurl, downBigFloor] = await inTurns(async (run) => {
    const dir = `${root}/down-big-ours-${run}`;
    const m = await runOurs({ op: "download-project", projectId: bigOurs, dir }, token);
    await Deno.remove(dir, { recursive: true });
    return m;
  }, async (run) => {
    const out = `${root}/down-big-curl-${run}.bin`;
    const m = await runCurl([
      "fail",
      `url = "${server.url}files/${bigOurs}/big.bin/"`,
      `header = "Authorization: Token ${token}"`,
      `output = "${out}"`,
    ], root);
    await Deno.remove(out);
    return m;
  }, async (run) => {
    const dir = `${root}/down-big-floor-${run}`;
    const m = await runFloor(bigOurs, dir, token);
    await Deno.remove(dir, { recursive: true });
    return m;
  });
  report(`download 1 x ${BIG_MIB} MiB`, downBigOurs, downBigCurl, { bytes: bigBytes });
  report(`  the same, plain Deno fetch (floor)`, downBigFloor, downBigCurl, { bytes: bigBytes });

  // No-op re-download of the big file: it is hashed, not downloaded. md5sum reading and hashing
  // the same file is the yardstick for "at disk speed".
  const keptBig = `${root}/down-big-kept`;
  await runOurs({ op: "download-project", projectId: bigOurs, dir: keptBig }, token);
  const noopBig = await runOurs(
    { op: "download-project", projectId: bigOurs, dir: keptBig },
    token,
  );
  report(`no-op re-download of 1 x ${BIG_MIB} MiB`, [noopBig], undefined, { bytes: bigBytes });
  const md5sum = await timed(["md5sum", `${keptBig}/big.bin`]).catch(() => undefined);

  const header = [
    "scenario",
    "ours",
    "ours rate",
    "ours peak RSS",
    "curl",
    "curl rate",
    "curl peak RSS",
    "ours/curl",
    "each run",
  ];
  console.log(markdownTable([header, ...rows]));
  console.log();
  for (const [what, m] of [["small files", noop], ["big file", noopBig]] as const) {
    console.log(
      `no-op re-download (${what}): requests ${JSON.stringify(m.detail?.requests)}, results ${
        JSON.stringify(m.detail?.results)
      }`,
    );
  }
  if (md5sum) {
    console.log(
      `md5sum of the ${BIG_MIB} MiB file: ${(md5sum.ms / 1000).toFixed(2)} s (${
        (BIG_MIB / (md5sum.ms / 1000)).toFixed(0)
      } MiB/s), for the no-op re-download's hashing`,
    );
  }
  // The targets of the downloads are set against the floor: what Deno itself costs.
  for (
    const [what, ours, floor] of [
      [`${SMALL_FILES} x 16 KiB`, downSmallOurs, downSmallFloor],
      [`1 x ${BIG_MIB} MiB`, downBigOurs, downBigFloor],
    ] as const
  ) {
    const each = ours.map((m, i) => (m.ms / floor[i].ms).toFixed(2)).join(", ");
    const ratio = median(ours.map((m) => m.ms)) / median(floor.map((m) => m.ms));
    console.log(
      `download ${what}, verify "${VERIFY}": ${ratio.toFixed(2)}x the plain-fetch floor ` +
        `(each run: ${each})`,
    );
  }
  const cliMs = median(cliOurs.map((m) => m.ms));
  const rssOf = (ms: Measure[]) => Math.max(...ms.map((m) => m.rssMiB ?? 0)).toFixed(0);
  let cliLine =
    `CLI no-op download-files of ${SMALL_FILES} files: ${(cliMs / 1000).toFixed(2)} s, ` +
    `peak RSS ${rssOf(cliOurs)} MiB`;
  if (cliPython) {
    const pyMs = median(cliPython.map((m) => m.ms));
    const each = cliOurs.map((m, i) => (m.ms / cliPython[i].ms).toFixed(2)).join(", ");
    cliLine += `; Python CLI ${(pyMs / 1000).toFixed(2)} s, peak RSS ${rssOf(cliPython)} MiB: ` +
      `${(cliMs / pyMs).toFixed(2)}x its time (each run: ${each})`;
  }
  console.log(cliLine);
  console.log(`our downloads checked with verify: "${VERIFY}"`);
  console.log(`machine: ${await machine()}`);
} finally {
  await server.close();
  if (!args.keep) await Deno.remove(root, { recursive: true });
}

// --- helpers ---

async function runOurs(job: Record<string, unknown>, token: string): Promise<Measure> {
  const input = JSON.stringify({ url: server.url, token, verify: VERIFY, ...job });
  const cmd = [Deno.execPath(), "run", "-A", `${repo}bench/transfer_client.ts`, input];
  const m = await timed(cmd);
  const line = m.stdout.trim().split("\n").at(-1) ?? "{}";
  const detail = JSON.parse(line);
  log(`ours ${job.op}: ${m.ms.toFixed(0)} ms, ${JSON.stringify(detail)}`);
  return { ms: m.ms, rssMiB: m.rssMiB, detail };
}

/** Runs a CLI command (ours or the Python one) with its own empty config folder. */
async function runCli(who: string, cmd: string[]): Promise<Measure> {
  const m = await timed(["env", `QFIELDCLOUD_CONFIG_DIR=${root}/cli-config`, ...cmd]);
  log(`${who} CLI: ${m.ms.toFixed(0)} ms`);
  return { ms: m.ms, rssMiB: m.rssMiB };
}

/** Runs the plain Deno download (`fetch_floor.ts`) of a project into `dir`. */
async function runFloor(projectId: string, dir: string, token: string): Promise<Measure> {
  const input = JSON.stringify({ url: server.url, token, projectId, dir });
  const m = await timed([Deno.execPath(), "run", "-A", `${repo}bench/fetch_floor.ts`, input]);
  log(`plain fetch: ${m.ms.toFixed(0)} ms`);
  return { ms: m.ms, rssMiB: m.rssMiB };
}

async function runCurl(config: string[], dir: string): Promise<Measure> {
  const file = `${dir}/curl-${crypto.randomUUID()}.cfg`;
  await Deno.writeTextFile(file, config.join("\n") + "\n");
  const cmd = [
    "curl",
    "--silent",
    "--show-error",
    "--fail",
    "--parallel",
    "--parallel-max",
    "8",
    "--config",
    file,
  ];
  const m = await timed(cmd);
  await Deno.remove(file);
  log(`curl: ${m.ms.toFixed(0)} ms`);
  return { ms: m.ms, rssMiB: m.rssMiB };
}

async function writeBigFile(path: string, mib: number) {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const chunk = crypto.getRandomValues(new Uint8Array(65536));
    const mibBuffer = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 16; i++) mibBuffer.set(chunk, i * 65536);
    for (let i = 0; i < mib; i++) {
      mibBuffer[0] = i & 0xff;
      mibBuffer[1] = (i >> 8) & 0xff;
      let done = 0;
      while (done < mibBuffer.length) done += await file.write(mibBuffer.subarray(done));
    }
  } finally {
    file.close();
  }
}

async function machine(): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown CPU";
  const cores = navigator.hardwareConcurrency;
  const mem = /MemTotal:\s*(\d+)/.exec(await Deno.readTextFile("/proc/meminfo").catch(() => ""));
  const gib = mem ? (Number(mem[1]) / 1024 / 1024).toFixed(0) : "?";
  return `${model}, ${cores} cores, ${gib} GiB RAM, ${Deno.build.os} ${Deno.build.arch}, Deno ${Deno.version.deno}`;
}

interface BenchArgs {
  "small-files"?: number;
  "big-mib"?: number;
  runs?: number;
  verify?: string;
  keep?: boolean;
  "python-sdk"?: string;
  python?: string;
}

function parseArgs(argv: string[]): BenchArgs {
  const out: BenchArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--keep") out.keep = true;
    else if (arg === "--verify") out.verify = argv[++i];
    else if (arg === "--python-sdk") out["python-sdk"] = argv[++i];
    else if (arg === "--python") out.python = argv[++i];
    else if (arg === "--small-files" || arg === "--big-mib" || arg === "--runs") {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) {
        console.error(`${arg} needs a whole number of at least 1, not "${argv[i]}"`);
        Deno.exit(2);
      }
      out[arg.slice(2) as "small-files" | "big-mib" | "runs"] = value;
    } else {
      console.error(`Unknown option "${arg}"`);
      Deno.exit(2);
    }
  }
  return out;
}
