/**
 * Downloads of project and package files: parallel, streamed to a temporary
 * file beside the target, checked against the listed etag or size (the
 * `verify` option), renamed into place only when complete, resumed with
 * `Range` after an interruption, and skipped when the local file is already up
 * to date.
 *
 * @module
 */
import { type FileHandle, mkdir, open, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { delay } from "../delay.ts";
import { QfcException, QfcRequestException } from "../errors.ts";
import type { RequestCore } from "../http.ts";
import { FileTransferStatus, FileTransferType, type LatestPackage } from "../types.ts";
import {
  backoffMs,
  childController,
  failedResult,
  filterGlobs,
  listProjectFiles,
  passesFilter,
  reasonOf,
  type RetryPolicy,
  retryPolicy,
  startReport,
} from "./common.ts";
import { DirSnapshot } from "./dir_snapshot.ts";
import { EtagHasher } from "./etag.ts";
import { etagOfFile } from "./file_etag.ts";
import { EtagWorker } from "./etag_worker.ts";
import { IdleWatchdog, type Watch } from "./idle_watchdog.ts";
import { DEFAULT_CONCURRENCY, runPool } from "./pool.ts";
import { ProgressTracker } from "./progress.ts";
import { resolveLocalPath } from "./remote_names.ts";
import type {
  DownloadableFile,
  DownloadFileOptions,
  DownloadFilesOptions,
  DownloadListedFilesOptions,
  DownloadVerification,
  TransferResult,
} from "./types.ts";

/** A download stalls out when no byte arrives for this long; it is then retried (resumed). */
const BODY_IDLE_TIMEOUT_MS = 60_000;
/** Bodies up to this size are read in one piece (a stream costs CPU per chunk, per file). */
const WHOLE_BODY_MAX = 256 * 1024;
/** Bytes read at a time when a partial file is hashed again. */
const READ_SIZE = 1024 * 1024;
/** Bytes handed to a hashing worker at a time. */
const HASH_SLOT_SIZE = 1024 * 1024;
/** Buffers of {@linkcode HASH_SLOT_SIZE} filled or waiting to be hashed, at most. */
const HASH_SLOTS = 8;
/** Files from this size on are hashed on a worker thread (starting one takes some 30 ms). */
const WORKER_MIN_SIZE = 32 * 1024 * 1024;
/**
 * With `verify: "auto"`, files from this size on are checked by their size only: MD5 runs at
 * some 600 MB/s per core, slower than a fast network, so hashing would set the pace.
 */
const AUTO_VERIFY_ETAG_BELOW = 32 * 1024 * 1024;
const VERIFICATIONS: readonly DownloadVerification[] = ["auto", "etag", "size"];
const TEMP_PREFIX = ".qfc-";
const TEMP_SUFFIX = ".part";

/** One file to fetch. */
interface DownloadJob {
  name: string;
  path: string[];
  query?: Record<string, string>;
  localPath: string;
  etag?: string;
  size?: number;
}

/** State shared by the files of one call. */
interface DownloadContext {
  core: RequestCore;
  tracker: ProgressTracker;
  policy: RetryPolicy;
  signal: AbortSignal;
  /** How complete downloads are checked before the rename. */
  verify: DownloadVerification;
  /** What the target directories held before: local files, partial files of earlier runs. */
  dirs: DirSnapshot;
  /** Aborts a body that stalls for {@linkcode BODY_IDLE_TIMEOUT_MS}. */
  watchdog: IdleWatchdog;
}

/** The body broke off (network error, truncation, stall): retry and resume. */
class BodyInterrupted extends Error {}
/** The partial file cannot be continued: delete it and start over. */
class RestartDownload extends Error {}

/**
 * Downloads every file of a project into `localDir` (one listing request, then
 * the files, `concurrency` at a time). Files whose local etag equals the listed
 * one are skipped without a request.
 *
 * @example
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { downloadProject } from "./download.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const results = await downloadProject(client.core, projectId, "./survey", { filter: "*.gpkg" });
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param localDir Where to put the files; created if missing.
 * @param options Filter, concurrency, progress, dry run...
 * @returns One result per listed file that passes the filter.
 */
export async function downloadProject(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: DownloadFilesOptions = {},
): Promise<TransferResult[]> {
  verificationOf(options.verify); // refuse a bad option before any request
  const files = await listProjectFiles(core, projectId, options.signal);
  return await downloadFiles(core, projectId, files, localDir, {
    ...options,
    type: FileTransferType.PROJECT,
  });
}

/**
 * Downloads the files of a project's latest package into `localDir`. Package
 * files whose local etag equals their listed `md5sum` are skipped.
 *
 * @example
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { packageDownload } from "./download.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * await packageDownload(client.core, projectId, "./for-qfield");
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param localDir Where to put the files; created if missing.
 * @param options Filter, concurrency, progress, dry run...
 */
export async function packageDownload(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: DownloadFilesOptions = {},
): Promise<TransferResult[]> {
  verificationOf(options.verify); // refuse a bad option before any request
  const latest = await core.json<LatestPackage>({
    path: ["packages", projectId, "latest"],
    signal: options.signal,
  });
  return await downloadFiles(core, projectId, latest.files, localDir, {
    ...options,
    type: FileTransferType.PACKAGE,
  });
}

/**
 * Downloads already-listed files (from `listRemoteFiles` or `packageLatest`)
 * into `localDir`. Names are untrusted: one that is absolute, has a `..` part,
 * a backslash, a drive letter or a NUL, or resolves outside `localDir`, is
 * refused and reported as `FAILED`; nothing is written outside `localDir`.
 *
 * @example
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { downloadFiles } from "./download.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const files = await client.listRemoteFiles(projectId);
 * await downloadFiles(client.core, projectId, files.filter((f) => f.size < 1e6), "./small");
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param files The files to download, with their listed `md5sum` and `size`.
 * @param localDir Where to put the files; created if missing.
 * @param options Type (project or package files), filter, concurrency, progress, dry run...
 */
export async function downloadFiles(
  core: RequestCore,
  projectId: string,
  files: readonly DownloadableFile[],
  localDir: string,
  options: DownloadListedFilesOptions = {},
): Promise<TransferResult[]> {
  const globs = filterGlobs(options.filter);
  const verify = verificationOf(options.verify);
  const type = options.type ?? FileTransferType.PROJECT;
  const tracker = new ProgressTracker("download", options.onProgress);
  const selected = files
    .filter((file) => passesFilter(file.name, globs))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // Refuse hostile names before anything touches the disk.
  const results: TransferResult[] = [];
  const jobs: { job: DownloadJob; index: number }[] = [];
  for (const file of selected) {
    const target = resolveLocalPath(localDir, file.name);
    const size = file.size ?? 0;
    if (target.problem !== undefined) {
      results.push({
        name: file.name,
        status: FileTransferStatus.FAILED,
        reason: target.problem,
        size,
        error: new QfcException(target.problem),
      });
      continue;
    }
    const job: DownloadJob = {
      name: file.name,
      path: type === FileTransferType.PACKAGE
        ? ["packages", projectId, "latest", "files", file.name]
        : ["files", projectId, file.name],
      localPath: target.path,
      etag: file.md5sum ?? file.etag,
      size: file.size,
    };
    jobs.push({ job, index: results.length });
    results.push({
      name: file.name,
      localPath: target.path,
      status: FileTransferStatus.PENDING,
      size,
    });
  }
  const refused = results.find((r) => r.status === FileTransferStatus.FAILED);
  if (refused && options.throwOnError) throw refused.error;

  // Plan: hash local files that may already be in place.
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const root = resolve(localDir);
  const localEtags = new Map<number, string>();
  const dirs = new DirSnapshot();
  await runPool(jobs, concurrency, async ({ job, index }) => {
    const check = await checkLocal(job, options.forceDownload ?? false, dirs);
    if (check.upToDate) {
      results[index] = {
        ...results[index],
        status: FileTransferStatus.SKIPPED,
        reason: "Local file is up to date (same etag)",
      };
    } else if (check.localEtag) {
      localEtags.set(index, check.localEtag);
    }
  }, options.signal);
  const todo = jobs.filter(({ index }) => results[index].status === FileTransferStatus.PENDING);
  const todoBytes = todo.reduce((sum, { job }) => sum + (job.size ?? 0), 0);
  const dryRun = { enabled: options.dryRun, reason: "Would be downloaded (dry run)" };
  if (startReport(tracker, results, todo, todoBytes, dryRun)) return results;

  const stop = childController(options.signal);
  const ctx: DownloadContext = {
    core,
    tracker,
    policy: retryPolicy(options.retry),
    signal: stop.controller.signal,
    verify,
    dirs,
    watchdog: new IdleWatchdog(BODY_IDLE_TIMEOUT_MS),
  };
  const insideChecks = new Map<string, Promise<void>>();
  try {
    await runPool(todo, concurrency, async ({ job, index }) => {
      try {
        await mkdirInside(root, dirname(job.localPath), insideChecks);
        results[index] = await transfer(ctx, job, localEtags.get(index), results[index]);
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (ctx.signal.aborted && !options.throwOnError) throw ctx.signal.reason;
        results[index] = failedResult(results[index], error);
        if (options.throwOnError) {
          stop.controller.abort(error);
          throw error;
        }
      }
      tracker.end(results[index]);
    }, ctx.signal);
  } finally {
    stop.dispose();
  }
  return results;
}

/**
 * Downloads one file to `localPath` (a path you choose, so it is trusted),
 * optionally a given version. With `etag`, a local file that already has it is
 * left alone without a request; otherwise the local file's etag goes out as
 * `If-None-Match` and a 304 leaves it untouched. Throws on failure.
 *
 * @example Download an older version
 * ```ts
 * import { Client } from "@qfieldcloud/sdk";
 * import { downloadFile } from "./download.ts";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const [file] = await client.listRemoteFiles(projectId);
 * const old = file.versions!.at(-1)!;
 * await downloadFile(client.core, projectId, file.name, "old.gpkg", {
 *   version: old.version_id,
 *   etag: old.md5sum,
 * });
 * ```
 *
 * @param core The request core (`client.core`).
 * @param projectId The project's id.
 * @param name The remote name.
 * @param localPath Where to write the file.
 * @param options Version, expected etag and size, type, progress...
 */
export async function downloadFile(
  core: RequestCore,
  projectId: string,
  name: string,
  localPath: string,
  options: DownloadFileOptions = {},
): Promise<TransferResult> {
  const type = options.type ?? FileTransferType.PROJECT;
  const verify = verificationOf(options.verify);
  if (options.version !== undefined && type === FileTransferType.PACKAGE) {
    throw new TypeError(`Cannot download version "${options.version}" of a package file`);
  }
  const job: DownloadJob = {
    name,
    path: type === FileTransferType.PACKAGE
      ? ["packages", projectId, "latest", "files", name]
      : ["files", projectId, name],
    query: options.version !== undefined ? { version: options.version } : undefined,
    localPath: resolve(localPath),
    etag: options.etag,
    size: options.size,
  };
  const tracker = new ProgressTracker("download", options.onProgress);
  let result: TransferResult = {
    name,
    localPath: job.localPath,
    status: FileTransferStatus.PENDING,
    size: options.size ?? 0,
  };
  const check = await checkLocal(job, options.forceDownload ?? false);
  tracker.plan(1, check.upToDate ? 0 : result.size);
  if (check.upToDate) {
    result = {
      ...result,
      status: FileTransferStatus.SKIPPED,
      reason: "Local file is up to date (same etag)",
    };
  } else if (options.dryRun) {
    result = { ...result, reason: "Would be downloaded (dry run)" };
  } else {
    await mkdir(dirname(job.localPath), { recursive: true });
    const ctx: DownloadContext = {
      core,
      tracker,
      policy: retryPolicy(options.retry),
      signal: options.signal ?? new AbortController().signal,
      verify,
      dirs: new DirSnapshot(),
      watchdog: new IdleWatchdog(BODY_IDLE_TIMEOUT_MS),
    };
    result = await transfer(ctx, job, check.localEtag, result);
  }
  tracker.end(result);
  return result;
}

/**
 * Decides from the local file alone whether a download can be skipped. With `dirs`, a file
 * missing from its directory's listing is taken as absent without a `stat`.
 */
async function checkLocal(
  job: DownloadJob,
  force: boolean,
  dirs?: DirSnapshot,
): Promise<{ upToDate: boolean; localEtag?: string }> {
  if (dirs && !(await dirs.mayExist(job.localPath))) return { upToDate: false };
  const info = await stat(job.localPath).catch(() => undefined);
  if (!info) return { upToDate: false };
  if (!info.isFile()) {
    throw new QfcException(`Cannot download "${job.name}" to "${job.localPath}": it is not a file`);
  }
  if (force) return { upToDate: false };
  // A different size means a different etag: no need to hash (or to send If-None-Match).
  if (job.size !== undefined && info.size !== job.size) return { upToDate: false };
  const localEtag = await etagOfFile(job.localPath);
  return { upToDate: job.etag !== undefined && localEtag === job.etag, localEtag };
}

/** Downloads one file with retries; resolves with its SUCCESS or SKIPPED result. */
async function transfer(
  ctx: DownloadContext,
  job: DownloadJob,
  localEtag: string | undefined,
  result: TransferResult,
): Promise<TransferResult> {
  const temp = tempPathFor(job);
  for (let attempt = 1;; attempt++) {
    try {
      const outcome = await attemptDownload(ctx, job, temp, localEtag, attempt === 1);
      if (outcome.notModified) {
        await rm(temp, { force: true });
        return {
          ...result,
          status: FileTransferStatus.SKIPPED,
          reason: "Not modified on the server (304)",
        };
      }
      await rename(temp, job.localPath);
      await removeStalePartials(ctx, temp);
      return { ...result, status: FileTransferStatus.SUCCESS, size: outcome.size };
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? error; // keep the partial file for a resume
      const retryable = error instanceof BodyInterrupted || error instanceof RestartDownload;
      // Keep a partial file only while it can be resumed: after a broken-off body, or when
      // the server could not be reached or failed (a later run resumes it).
      const resumable = error instanceof BodyInterrupted ||
        (error instanceof QfcRequestException && (error.status ?? 500) >= 500);
      if (!resumable) await rm(temp, { force: true });
      if (!retryable || attempt >= ctx.policy.attempts) {
        throw error instanceof BodyInterrupted || error instanceof RestartDownload
          ? new QfcException(`Cannot download "${job.name}": ${error.message}`, { cause: error })
          : error;
      }
      await delay(backoffMs(ctx.policy, attempt), ctx.signal);
    }
  }
}

/** One try: continue the partial file if any, stream the body to it, verify. */
async function attemptDownload(
  ctx: DownloadContext,
  job: DownloadJob,
  temp: string,
  localEtag: string | undefined,
  firstAttempt: boolean,
): Promise<{ notModified: boolean; size: number }> {
  let offset = 0;
  // Before the first attempt, the snapshot knows whether an earlier run left a partial file.
  const partial = firstAttempt && !(await ctx.dirs.mayExist(temp))
    ? undefined
    : await stat(temp).catch(() => undefined);
  if (partial && partial.size > 0) {
    if (job.size !== undefined && partial.size > job.size) {
      await rm(temp, { force: true });
    } else {
      offset = partial.size;
    }
  }
  if (offset > 0 && offset === job.size) {
    // Complete already (killed before the rename): verify without a request.
    const feed = HashFeed.start(offset);
    try {
      await hashFileInto(temp, feed);
      verify(job, await feed.digest(), undefined, true);
    } finally {
      await feed.terminate();
    }
    return { notModified: false, size: offset };
  }
  const headers: Record<string, string> = {};
  if (offset > 0) headers["Range"] = `bytes=${offset}-`;
  if (localEtag) headers["If-None-Match"] = `"${localEtag}"`;

  const idle = childController(ctx.signal);
  let watch: Watch | undefined;
  let feed: HashFeed | undefined;
  let response: Response | undefined;
  try {
    response = await ctx.core.request({
      path: job.path,
      query: job.query,
      headers,
      signal: idle.controller.signal,
      acceptStatuses: [304, 416],
    });
    if (response.status === 304) {
      await response.body?.cancel();
      return { notModified: true, size: 0 };
    }
    if (response.status === 416) {
      await response.body?.cancel();
      throw new RestartDownload("the server refused to resume the partial file (416)");
    }
    let total: number | undefined;
    const length = response.headers.get("content-length");
    const bodyLength = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
    if (response.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(
        response.headers.get("content-range") ?? "",
      );
      if (!range || Number(range[1]) !== offset) {
        await response.body?.cancel();
        throw new RestartDownload("the server answered a different range");
      }
      total = range[3] === "*" ? undefined : Number(range[3]);
    } else {
      // Without a 206 the server ignored Range: start over with the full body.
      offset = 0;
      total = bodyLength;
    }
    const expectedSize = job.size ?? total;
    const serverEtag = parseEtag(response.headers.get("etag"));
    const size = expectedSize ?? 0;
    // A resumed file joins two responses: only its etag shows they belong together.
    const checkEtag = (job.etag ?? serverEtag) !== undefined &&
      (offset > 0 || checksByEtag(ctx.verify, expectedSize));
    if (checkEtag) {
      feed = HashFeed.start(size);
      // The etag of the resumed file needs the hash of the bytes already there (re-read once).
      if (offset > 0) await hashFileInto(temp, feed, offset);
    }
    ctx.tracker.start(job.name, size, offset);

    if (!response.body) throw new BodyInterrupted("the response has no body");
    // In one piece only when the server says the body is small (a stale listing could be wrong).
    const small = bodyLength !== undefined && bodyLength <= WHOLE_BODY_MAX;
    const reader = small ? wholeBodyReader(response) : response.body.getReader();
    // Opened at the first byte, so that a body that breaks off at once leaves no empty file.
    let file: FileHandle | undefined;
    const openTemp = () => open(temp, offset > 0 ? "a" : "w");
    let written = offset;
    let ended = false;
    try {
      watch = ctx.watchdog.watch(() =>
        idle.controller.abort(new BodyInterrupted("no data received for 60 s"))
      );
      while (true) {
        let chunk;
        try {
          const next = await reader.read();
          if (next.done) break;
          chunk = next.value;
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          const why = idle.controller.signal.reason instanceof BodyInterrupted
            ? idle.controller.signal.reason.message
            : reasonOf(error);
          throw new BodyInterrupted(`the transfer broke off after ${written} bytes: ${why}`, {
            cause: error,
          });
        }
        watch.touch();
        if (expectedSize !== undefined && written + chunk.byteLength > expectedSize) {
          throw new RestartDownload(`the server sent more than the expected ${expectedSize} bytes`);
        }
        // Each chunk is on disk before the next is read: a break keeps every byte received so far
        // for the resume. (Writes of 1 MiB batches beside the reads cost more CPU in the kernel.)
        file ??= await openTemp();
        await writeAll(file, chunk);
        written += chunk.byteLength;
        await feed?.push(chunk);
        ctx.tracker.bytes(job.name, written, size);
      }
      file ??= await openTemp(); // an empty file
      ended = true;
    } finally {
      if (!ended) await reader.cancel().catch(() => {});
      await file?.close();
    }
    if (expectedSize !== undefined && written < expectedSize) {
      throw new BodyInterrupted(`the body ended after ${written} of ${expectedSize} bytes`);
    }
    if (feed) verify(job, await feed.digest(), serverEtag, offset > 0);
    return { notModified: false, size: written };
  } finally {
    watch?.stop();
    // Releases the response if something failed before its body was touched.
    if (response && !response.bodyUsed) await response.body?.cancel().catch(() => {});
    idle.dispose();
    await feed?.terminate();
  }
}

/** A reader that returns the whole body as its one chunk. */
function wholeBodyReader(
  response: Response,
): Pick<ReadableStreamDefaultReader<Uint8Array>, "read" | "cancel"> {
  let done = false;
  return {
    async read() {
      if (done) return { done: true, value: undefined };
      done = true;
      return { done: false, value: new Uint8Array(await response.arrayBuffer()) };
    },
    async cancel() {
      if (!response.bodyUsed) await response.body?.cancel();
    },
  };
}

/** What hashes the bytes of a download: `EtagHasher` or an `EtagWorker`. */
interface ChunkHasher {
  update(bytes: Uint8Array): void | Promise<void>;
  digest(): string | Promise<string>;
  terminate?(): Promise<void>;
}

/** Checks and defaults the `verify` option. */
function verificationOf(verify: DownloadVerification | undefined): DownloadVerification {
  if (verify === undefined) return "auto";
  if (VERIFICATIONS.includes(verify)) return verify;
  throw new TypeError(
    `Unknown verify option "${verify}": use one of ${
      VERIFICATIONS.map((v) => `"${v}"`).join(", ")
    }`,
  );
}

/** Whether a whole (not resumed) download is checked by its etag rather than its size alone. */
function checksByEtag(verify: DownloadVerification, expectedSize: number | undefined): boolean {
  if (expectedSize === undefined) return true; // with no size to check, the etag is all there is
  if (verify === "auto") return expectedSize < AUTO_VERIFY_ETAG_BELOW;
  return verify === "etag";
}

/**
 * Computes a download's etag, on the main thread or, for a large file, on a
 * worker thread that hashes while the next bytes arrive. For the worker, the
 * bytes are gathered into {@linkcode HASH_SLOT_SIZE} buffers (shared with it,
 * where the runtime allows, so nothing more is copied), at most
 * {@linkcode HASH_SLOTS} of them waiting to be hashed: memory stays flat.
 */
class HashFeed {
  #hasher: ChunkHasher;
  #worker: boolean;
  #free: Uint8Array[] = [];
  #allocated = 0;
  #current: Uint8Array | undefined;
  #fill = 0;
  #backlog: { done: Promise<void>; slot: Uint8Array }[] = [];

  private constructor(hasher: ChunkHasher, worker: boolean) {
    this.#hasher = hasher;
    this.#worker = worker;
  }

  /** Hashes on a worker thread when the file is large enough to be worth one and one is free. */
  static start(size: number): HashFeed {
    const worker = size >= WORKER_MIN_SIZE ? EtagWorker.tryStart() : undefined;
    return worker ? new HashFeed(worker, true) : new HashFeed(new EtagHasher(), false);
  }

  /** Hands over a chunk; the caller may reuse it as soon as this resolves. */
  async push(chunk: Uint8Array): Promise<void> {
    if (!this.#worker) {
      await this.#hasher.update(chunk);
      return;
    }
    let at = 0;
    while (at < chunk.byteLength) {
      if (!this.#current) {
        this.#current = this.#free.pop() ?? this.#allocate() ?? (await this.#settleOldest());
        this.#fill = 0;
      }
      const take = Math.min(this.#current.byteLength - this.#fill, chunk.byteLength - at);
      this.#current.set(chunk.subarray(at, at + take), this.#fill);
      this.#fill += take;
      at += take;
      if (this.#fill === this.#current.byteLength) this.#submit();
    }
  }

  /** Waits for every byte to be hashed and returns the etag. */
  async digest(): Promise<string> {
    if (this.#current && this.#fill > 0) this.#submit();
    while (this.#backlog.length > 0) this.#free.push(await this.#settleOldest());
    return await this.#hasher.digest();
  }

  /** Frees the worker thread, if any. */
  async terminate(): Promise<void> {
    await this.#hasher.terminate?.();
  }

  #allocate(): Uint8Array | undefined {
    if (this.#allocated === HASH_SLOTS) return undefined;
    this.#allocated++;
    const shared = typeof SharedArrayBuffer !== "undefined";
    return new Uint8Array(
      shared ? new SharedArrayBuffer(HASH_SLOT_SIZE) : new ArrayBuffer(HASH_SLOT_SIZE),
    );
  }

  #submit() {
    const slot = this.#current!;
    const done = this.#hasher.update(slot.subarray(0, this.#fill)) as Promise<void>;
    // A failure is thrown when this slot's turn comes; until then it must not go unhandled.
    done.catch(() => {});
    this.#backlog.push({ done, slot });
    this.#current = undefined;
    this.#fill = 0;
  }

  /** Waits for the oldest slot to be hashed and returns it for reuse. */
  async #settleOldest(): Promise<Uint8Array> {
    const oldest = this.#backlog.shift()!;
    await oldest.done;
    return oldest.slot;
  }
}

/** Checks the downloaded bytes' etag against the listed one (or else the server's ETag). */
function verify(
  job: DownloadJob,
  actual: string,
  serverEtag: string | undefined,
  resumed: boolean,
) {
  const expected = job.etag ?? serverEtag;
  if (expected === undefined || expected === actual) return;
  const what = resumed ? " (after resuming a partial file)" : "";
  throw new RestartDownload(
    `the downloaded bytes have etag "${actual}" but "${expected}" was expected${what}`,
  );
}

/** Reads an `ETag` header if it holds an S3-style etag (`"<md5 hex>[-<parts>]"`). */
function parseEtag(header: string | null): string | undefined {
  if (!header) return undefined;
  const value = header.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
  return /^[0-9a-f]{32}(-\d+)?$/.test(value) ? value : undefined;
}

/**
 * The temporary file of a download: hidden (so uploads skip it), beside the
 * target (so the rename is atomic), named after the file and the expected
 * content (so a resume only continues the same content).
 */
function tempPathFor(job: DownloadJob): string {
  const content = job.etag ?? (job.query?.version ? `version:${job.query.version}` : "");
  return join(
    dirname(job.localPath),
    `${tempPrefix(job.localPath)}${shortHash(content)}${TEMP_SUFFIX}`,
  );
}

function tempPrefix(localPath: string): string {
  return `${TEMP_PREFIX}${shortHash(basename(localPath))}-`;
}

/**
 * 64 bits of a name, as hex, for temporary file names: two 32-bit FNV-1a
 * hashes from different starting points. In plain JavaScript, because three
 * calls into `node:crypto` per name cost more than a small file's write.
 */
function shortHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** Removes partial files left for older contents of the same file. */
async function removeStalePartials(ctx: DownloadContext, temp: string) {
  const dir = dirname(temp);
  const current = basename(temp);
  const prefix = current.slice(0, current.lastIndexOf("-") + 1); // the target's part of the name
  for (const entry of await ctx.dirs.entriesStartingWith(dir, TEMP_PREFIX)) {
    if (entry.startsWith(prefix) && entry.endsWith(TEMP_SUFFIX) && entry !== current) {
      await rm(join(dir, entry), { force: true }).catch(() => {});
    }
  }
}

/**
 * Creates `dir` (inside `root`) and makes sure that, symbolic links followed,
 * it is still inside `root`: a link in the tree must not let a download write
 * elsewhere.
 */
async function mkdirInside(root: string, dir: string, checked: Map<string, Promise<void>>) {
  let check = checked.get(dir);
  if (!check) {
    check = (async () => {
      await mkdir(root, { recursive: true });
      const realRoot = await realpath(root);
      // Check the deepest existing ancestor before creating anything below it.
      let existing = dir;
      while (!(await stat(existing).catch(() => undefined))) existing = dirname(existing);
      assertInside(realRoot, await realpath(existing), dir);
      await mkdir(dir, { recursive: true });
      assertInside(realRoot, await realpath(dir), dir);
    })();
    checked.set(dir, check);
  }
  await check;
}

function assertInside(realRoot: string, realDir: string, dir: string) {
  const rel = relative(realRoot, realDir);
  if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel) && realDir.startsWith(realRoot))) {
    return;
  }
  throw new QfcException(
    `Refused to write into "${dir}": it resolves to "${realDir}", outside "${realRoot}${sep}"`,
  );
}

/** Feeds the first `length` bytes (or all) of a file to `feed`. */
async function hashFileInto(path: string, feed: HashFeed, length = Infinity): Promise<void> {
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(READ_SIZE);
    let left = length;
    while (left > 0) {
      const want = Math.min(buffer.byteLength, left);
      const { bytesRead } = await handle.read(buffer, 0, want, null);
      if (bytesRead === 0) break;
      left -= bytesRead;
      await feed.push(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

async function writeAll(file: FileHandle, bytes: Uint8Array) {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done, null);
    done += bytesWritten;
  }
}
