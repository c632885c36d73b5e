/**
 * Downloads of project and package files: parallel, streamed to a temporary
 * file beside the target, checked against the listed etag and size, renamed
 * into place only when complete, resumed with `Range` after an interruption,
 * and skipped when the local file is already up to date.
 *
 * @module
 */
import { createHash } from "node:crypto";
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  stat,
} from "node:fs/promises";
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
} from "./common.ts";
import { EtagHasher, etagOfFile } from "./etag.ts";
import { EtagWorker } from "./etag_worker.ts";
import { DEFAULT_CONCURRENCY, runPool } from "./pool.ts";
import { ProgressTracker } from "./progress.ts";
import { resolveLocalPath } from "./remote_names.ts";
import type {
  DownloadableFile,
  DownloadFileOptions,
  DownloadFilesOptions,
  DownloadListedFilesOptions,
  TransferResult,
} from "./types.ts";

/** A download stalls out when no byte arrives for this long; it is then retried (resumed). */
const BODY_IDLE_TIMEOUT_MS = 60_000;
/** Bytes gathered before each write to disk (and each hashing step). */
const SLOT_SIZE = 1024 * 1024;
/** Buffers of {@linkcode SLOT_SIZE} being filled, written or hashed at most: bounds the memory. */
const SLOT_COUNT = 8;
/** The smallest buffer allocated for a small file. */
const MIN_SLOT_SIZE = 64 * 1024;
/** Files from this size on are hashed on a worker thread (starting one takes some 30 ms). */
const WORKER_MIN_SIZE = 32 * 1024 * 1024;
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
  /** Per-directory listings, to remove stale partial files of older versions. */
  listings: Map<string, Promise<string[]>>;
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
  await runPool(jobs, concurrency, async ({ job, index }) => {
    const check = await checkLocal(job, options.forceDownload ?? false);
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
  tracker.plan(results.length, todo.reduce((sum, { job }) => sum + (job.size ?? 0), 0));
  for (const result of results) {
    if (result.status !== FileTransferStatus.PENDING) tracker.end(result);
  }
  if (options.dryRun) {
    for (const { index } of todo) {
      results[index] = { ...results[index], reason: "Would be downloaded (dry run)" };
      tracker.end(results[index]);
    }
    return results;
  }

  const stop = childController(options.signal);
  const ctx: DownloadContext = {
    core,
    tracker,
    policy: retryPolicy(options.retry),
    signal: stop.controller.signal,
    listings: new Map(),
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
      listings: new Map(),
    };
    result = await transfer(ctx, job, check.localEtag, result);
  }
  tracker.end(result);
  return result;
}

/** Decides from the local file alone whether a download can be skipped. */
async function checkLocal(
  job: DownloadJob,
  force: boolean,
): Promise<{ upToDate: boolean; localEtag?: string }> {
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
      const outcome = await attemptDownload(ctx, job, temp, localEtag);
      if (outcome.notModified) {
        await rm(temp, { force: true });
        return {
          ...result,
          status: FileTransferStatus.SKIPPED,
          reason: "Not modified on the server (304)",
        };
      }
      await rename(temp, job.localPath);
      await removeStalePartials(ctx, job, temp);
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
): Promise<{ notModified: boolean; size: number }> {
  let offset = 0;
  const partial = await stat(temp).catch(() => undefined);
  if (partial && partial.size > 0) {
    if (job.size !== undefined && partial.size > job.size) {
      await rm(temp, { force: true });
    } else {
      offset = partial.size;
    }
  }
  if (offset > 0 && offset === job.size) {
    // Complete already (killed before the rename): verify without a request.
    const hasher = startHasher(offset);
    try {
      await hashFileInto(temp, hasher);
      verify(job, await hasher.digest(), undefined, true);
    } finally {
      await hasher.terminate?.();
    }
    return { notModified: false, size: offset };
  }
  const headers: Record<string, string> = {};
  if (offset > 0) headers["Range"] = `bytes=${offset}-`;
  if (localEtag) headers["If-None-Match"] = `"${localEtag}"`;

  const idle = childController(ctx.signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let armedAt = 0;
  const arm = () => {
    clearTimeout(timer);
    armedAt = Date.now();
    timer = setTimeout(
      () => idle.controller.abort(new BodyInterrupted("no data received for 60 s")),
      BODY_IDLE_TIMEOUT_MS,
    );
  };
  let hasher: ChunkHasher | undefined;
  try {
    const response = await ctx.core.request({
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
      const length = response.headers.get("content-length");
      total = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
    }
    const expectedSize = job.size ?? total;
    const serverEtag = parseEtag(response.headers.get("etag"));
    const size = expectedSize ?? 0;
    hasher = startHasher(size);
    // The etag of the resumed file needs the hash of the bytes already there (re-read once).
    if (offset > 0) await hashFileInto(temp, hasher, offset);
    ctx.tracker.start(job.name, size, offset);

    const file = await open(temp, offset > 0 ? "a" : "w");
    let written = offset;
    try {
      if (!response.body) throw new BodyInterrupted("the response has no body");
      const sink = new HashingWriter(
        hasher,
        file,
        expectedSize === undefined ? undefined : expectedSize - offset,
      );
      arm();
      try {
        for await (const chunk of response.body) {
          // Re-arming a timer per chunk costs; once a second is enough for a 60 s limit.
          if (Date.now() - armedAt > 1000) arm();
          if (expectedSize !== undefined && written + chunk.byteLength > expectedSize) {
            throw new RestartDownload(
              `the server sent more than the expected ${expectedSize} bytes`,
            );
          }
          written += chunk.byteLength;
          await sink.push(chunk);
          ctx.tracker.bytes(job.name, written, size);
        }
      } catch (error) {
        // Keep every byte received so far on disk, for the resume (a failed write throws here).
        await sink.finish();
        if (error instanceof RestartDownload || ctx.signal.aborted) throw error;
        const why = idle.controller.signal.reason instanceof BodyInterrupted
          ? idle.controller.signal.reason.message
          : reasonOf(error);
        throw new BodyInterrupted(`the transfer broke off after ${written} bytes: ${why}`, {
          cause: error,
        });
      }
      await sink.finish();
    } finally {
      await file.close();
    }
    if (expectedSize !== undefined && written < expectedSize) {
      throw new BodyInterrupted(`the body ended after ${written} of ${expectedSize} bytes`);
    }
    verify(job, await hasher.digest(), serverEtag, offset > 0);
    return { notModified: false, size: written };
  } finally {
    clearTimeout(timer);
    idle.dispose();
    await hasher?.terminate?.();
  }
}

/** What hashes the bytes of a download: `EtagHasher` or an `EtagWorker`. */
interface ChunkHasher {
  update(bytes: Uint8Array): void | Promise<void>;
  digest(): string | Promise<string>;
  terminate?(): Promise<void>;
}

/** Hashes on a worker thread when the file is large enough to be worth one and a worker is free. */
function startHasher(size: number): ChunkHasher {
  return (size >= WORKER_MIN_SIZE ? EtagWorker.tryStart() : undefined) ?? new EtagHasher();
}

/**
 * Gathers the body's chunks into a few fixed buffers; each full buffer is
 * written to the file and hashed at the same time, while the next one fills
 * (up to {@linkcode SLOT_COUNT} buffers in flight, so memory stays flat). The
 * writes happen in order; after a failed write nothing more is written.
 */
class HashingWriter {
  #hasher: ChunkHasher;
  #file: FileHandle | undefined;
  #free: Uint8Array[] = [];
  #slotWaiter: (() => void) | undefined;
  #current: Uint8Array | undefined;
  #fill = 0;
  #writes: Promise<void> = Promise.resolve();
  #inFlight = new Set<Promise<void>>();
  #error: { value: unknown } | undefined;

  #slotSize: number;
  #allocated = 0;
  #shared: boolean;

  /**
   * Hashes the bytes, and appends them to `file` if given. Buffers are allocated as needed and
   * no larger than `expectedBytes`, so that many small files cost little memory.
   */
  constructor(hasher: ChunkHasher, file?: FileHandle, expectedBytes?: number) {
    this.#hasher = hasher;
    this.#file = file;
    this.#slotSize = Math.min(SLOT_SIZE, Math.max(MIN_SLOT_SIZE, expectedBytes ?? SLOT_SIZE));
    // A worker reads shared memory in place; the main thread's hasher needs no sharing.
    this.#shared = hasher instanceof EtagWorker && typeof SharedArrayBuffer !== "undefined";
  }

  #takeSlot(): Uint8Array | undefined {
    if (this.#free.length > 0) return this.#free.pop();
    if (this.#allocated === SLOT_COUNT) return undefined;
    this.#allocated++;
    const size = this.#slotSize;
    return new Uint8Array(this.#shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
  }

  /** Adds a chunk; resolves once it is copied, waiting for a free buffer if needed. */
  async push(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.byteLength) {
      this.#throwIfFailed();
      if (!this.#current) {
        let slot;
        while ((slot = this.#takeSlot()) === undefined) {
          await new Promise<void>((resolve) => (this.#slotWaiter = resolve));
          this.#throwIfFailed();
        }
        this.#current = slot;
        this.#fill = 0;
      }
      const take = Math.min(this.#current.byteLength - this.#fill, chunk.byteLength - at);
      this.#current.set(chunk.subarray(at, at + take), this.#fill);
      this.#fill += take;
      at += take;
      if (this.#fill === this.#current.byteLength) this.#submit();
    }
  }

  /** Writes and hashes what is left and waits for all of it; throws the first failure. */
  async finish(): Promise<void> {
    if (this.#current && this.#fill > 0 && !this.#error) this.#submit();
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
    this.#throwIfFailed();
  }

  #throwIfFailed() {
    if (this.#error) throw this.#error.value;
  }

  #submit() {
    const slot = this.#current!;
    const bytes = slot.subarray(0, this.#fill);
    this.#current = undefined;
    this.#fill = 0;
    const file = this.#file;
    let written: Promise<void> = Promise.resolve();
    if (file) {
      // One write at a time, in order, at the file's position.
      written = this.#writes = this.#writes.then(async () => {
        if (!this.#error) await writeAll(file, bytes);
      });
    }
    const job = Promise.all([written, this.#hasher.update(bytes)]).then(
      () => {},
      (error) => {
        this.#error ??= { value: error };
      },
    ).finally(() => {
      this.#inFlight.delete(job);
      this.#free.push(slot);
      const waiter = this.#slotWaiter;
      this.#slotWaiter = undefined;
      waiter?.();
    });
    this.#inFlight.add(job);
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

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** Removes partial files left for older contents of the same file. */
async function removeStalePartials(ctx: DownloadContext, job: DownloadJob, temp: string) {
  const dir = dirname(job.localPath);
  let listing = ctx.listings.get(dir);
  if (!listing) {
    listing = readdir(dir).catch(() => [] as string[]);
    ctx.listings.set(dir, listing);
  }
  const prefix = tempPrefix(job.localPath);
  const current = basename(temp);
  for (const entry of await listing) {
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

/** Feeds the first `length` bytes (or all) of a file to `hasher`, reading beside the hashing. */
async function hashFileInto(path: string, hasher: ChunkHasher, length = Infinity): Promise<void> {
  const handle = await open(path, "r");
  try {
    const sink = new HashingWriter(hasher);
    const buffer = new Uint8Array(SLOT_SIZE);
    let left = length;
    while (left > 0) {
      const want = Math.min(buffer.byteLength, left);
      const { bytesRead } = await handle.read(buffer, 0, want, null);
      if (bytesRead === 0) break;
      left -= bytesRead;
      await sink.push(buffer.subarray(0, bytesRead));
    }
    await sink.finish();
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
