/**
 * The etag of a local file. A large file's 8 MiB parts are hashed on worker
 * threads and the main thread at once: MD5 runs at some 600 MB/s per core,
 * so one core would be slower than the disk.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { stat } from "node:fs/promises";
import {
  ETAG_PART_SIZE,
  EtagHasher,
  etagOfBytes,
  etagOfPartDigests,
  hashFileRange,
} from "./etag.ts";
import { EtagWorker } from "./etag_worker.ts";

/** Files up to this size are read in one piece. */
const WHOLE_READ_MAX = 1024 * 1024;
/** Files from this size on are split among threads (starting a worker takes some 30 ms). */
const PARALLEL_MIN_SIZE = 32 * 1024 * 1024;

/**
 * Computes the etag of a local file: a file up to 1 MiB read whole, a larger
 * one 1 MiB at a time so memory stays flat whatever its size; from 32 MiB on,
 * its parts are hashed on as many threads as there are free cores.
 *
 * @example
 * ```ts
 * import { etagOfFile } from "./file_etag.ts";
 * const etag = await etagOfFile("project.qgz");
 * ```
 */
export async function etagOfFile(path: string): Promise<string> {
  return await etagOfFileOfSize(path, (await stat(path)).size);
}

/**
 * {@linkcode etagOfFile} of a file whose size the caller has just read (so it is not read
 * again). A small file is read whole and hashed once, synchronously: for page-cached files an
 * asynchronous read and a stream's buffer cost more than the hashing itself (1000 x 16 KiB:
 * 716 ms streamed, 71 ms read whole), and a read of at most 1 MiB blocks no longer than its MD5.
 */
export async function etagOfFileOfSize(path: string, size: number): Promise<string> {
  if (size <= WHOLE_READ_MAX) return etagOfSmallFile(path);
  const parts = Math.ceil(size / ETAG_PART_SIZE);
  const workers: EtagWorker[] = [];
  try {
    if (size >= PARALLEL_MIN_SIZE) {
      let worker;
      while (workers.length < parts - 1 && (worker = EtagWorker.tryStart())) workers.push(worker);
    }
    if (workers.length === 0) {
      const hasher = new EtagHasher();
      await hashFileRange(path, 0, Infinity, hasher);
      return hasher.digest();
    }
    // Contiguous runs of parts, one per thread; the main thread takes the first.
    const threads = workers.length + 1;
    const bounds = Array.from(
      { length: threads + 1 },
      (_, i) => Math.min(size, Math.round((parts * i) / threads) * ETAG_PART_SIZE),
    );
    const [mine, ...theirs] = await Promise.all([
      mainThreadPartDigests(path, bounds[0], bounds[1]),
      ...workers.map((worker, i) => worker.partDigests(path, bounds[i + 1], bounds[i + 2])),
    ]);
    return etagOfPartDigests([...mine, ...theirs.flat()]);
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/**
 * The buffer every small file is read into: the read and the hash are synchronous, so it is
 * never used twice at once, and thousands of files do not leave thousands of buffers for the
 * garbage collector (20,000 files of 4 KiB grew the process by some 40 MiB).
 */
let scratch: Uint8Array | undefined;

/** The etag of a file of at most {@linkcode WHOLE_READ_MAX} bytes (read whole, on this thread). */
function etagOfSmallFile(path: string): string {
  const buffer = scratch ??= new Uint8Array(WHOLE_READ_MAX + 1);
  const fd = openSync(path, "r");
  let length = 0;
  try {
    while (length < buffer.byteLength) {
      const n = readSync(fd, buffer, length, buffer.byteLength - length, null);
      if (n === 0) break;
      length += n;
    }
  } finally {
    closeSync(fd);
  }
  // Grown past the limit since its size was read: hashed whole all the same.
  if (length > WHOLE_READ_MAX) return etagOfBytes(readFileSync(path));
  return etagOfBytes(buffer.subarray(0, length));
}

/** The binary MD5 of each part of bytes `[start, end)`, hashed on this thread. */
async function mainThreadPartDigests(path: string, start: number, end: number) {
  const digests: Uint8Array[] = [];
  for (let partStart = start; partStart < end; partStart += ETAG_PART_SIZE) {
    const hash = createHash("md5");
    await hashFileRange(path, partStart, Math.min(partStart + ETAG_PART_SIZE, end), hash);
    digests.push(hash.digest());
  }
  return digests;
}
