/**
 * The etag of a local file. A large file's 8 MiB parts are hashed on worker
 * threads and the main thread at once: MD5 runs at some 600 MB/s per core,
 * so one core would be slower than the disk.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
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
 * Computes the etag of a local file, reading it 1 MiB at a time so memory
 * stays flat whatever its size; from 32 MiB on, its parts are hashed on as
 * many threads as there are free cores.
 *
 * @example
 * ```ts
 * import { etagOfFile } from "./file_etag.ts";
 * const etag = await etagOfFile("project.qgz");
 * ```
 */
export async function etagOfFile(path: string): Promise<string> {
  const handle = await open(path, "r");
  let size: number;
  try {
    size = (await handle.stat()).size;
    // A small file is read whole into a buffer of its size and hashed once: a stream's buffer
    // and per-chunk calls cost more than the hashing itself (1000 x 16 KiB: 470 to ~60 ms).
    if (size <= WHOLE_READ_MAX) return etagOfBytes(await readWhole(handle, size));
  } finally {
    await handle.close();
  }
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

/**
 * Reads a file of `size` bytes (as its `stat` said) in one piece. A file that grew since is read
 * to its end, one that shrank only as far as it goes: the etag is of the bytes read.
 */
async function readWhole(handle: FileHandle, size: number): Promise<Uint8Array> {
  let buffer = new Uint8Array(size + 1); // one more byte shows whether the file grew
  let filled = 0;
  while (true) {
    if (filled === buffer.byteLength) {
      const bigger = new Uint8Array(buffer.byteLength * 2);
      bigger.set(buffer);
      buffer = bigger;
    }
    const want = buffer.byteLength - filled;
    const { bytesRead } = await handle.read(buffer, filled, want, null);
    filled += bytesRead;
    // A short read of a regular file means its end: no further call needed to see it.
    if (bytesRead < want) return buffer.subarray(0, filled);
  }
}
