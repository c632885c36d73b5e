/**
 * The etag of bytes as they pass: a download as it is received (so that it is
 * verified by the time its last byte is written), an upload as it is sent (so
 * that a file changed under it is caught before the request ends).
 *
 * MD5 runs at some 600 MB/s per core, slower than a fast network or disk. A
 * large file's 8 MiB parts are therefore hashed on worker threads, parts
 * spread over several workers, each fed 1 MiB at a time as the bytes arrive:
 * hashing keeps pace beside the transfer instead of adding to its time.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { open } from "node:fs/promises";
import { ETAG_PART_SIZE, EtagHasher, etagOfPartDigests } from "./etag.ts";
import { EtagWorker } from "./etag_worker.ts";

/** Files from this size on are hashed on worker threads (starting one takes some 30 ms). */
export const STREAMING_WORKER_MIN_SIZE = 32 * 1024 * 1024;
/** Bytes handed to a worker at a time; divides the part size, so no slot spans two parts. */
const SLOT_SIZE = 1024 * 1024;
/** Slots filled or waiting to be hashed, per worker, at most: memory stays flat. */
const SLOTS_PER_WORKER = 8;

/** Options of {@linkcode StreamingEtag.start}. */
export interface StreamingEtagOptions {
  /** Worker threads to use at most (default 2; fewer when the process has no more free). */
  maxWorkers?: number;
}

/**
 * Computes an etag from bytes given in order, on worker threads for a large
 * file. Give bytes with {@linkcode StreamingEtag.update} (awaiting each call:
 * it resolves once the bytes are copied, and waits when hashing falls behind),
 * read the etag with {@linkcode StreamingEtag.digest}, and always
 * {@linkcode StreamingEtag.close} it.
 *
 * @example Hash a download as it arrives
 * ```ts
 * import { StreamingEtag } from "./streaming_etag.ts";
 * const response = await fetch("https://example.com/big.gpkg");
 * const etag = StreamingEtag.start(Number(response.headers.get("content-length")));
 * try {
 *   for await (const chunk of response.body!) {
 *     // ... write the chunk ...
 *     await etag.update(chunk);
 *   }
 *   console.log(await etag.digest());
 * } finally {
 *   await etag.close();
 * }
 * ```
 */
export class StreamingEtag {
  #hasher: EtagHasher | undefined;
  #workers: EtagWorker[];
  #size = 0;
  /** The part being filled: its number and the bytes of it already handed to its worker. */
  #part = 0;
  #partSent = 0;
  #digests: Promise<Uint8Array>[] = [];
  #free: Uint8Array[] = [];
  #allocated = 0;
  #current: Uint8Array | undefined;
  #fill = 0;
  #backlog: { done: Promise<void>; slot: Uint8Array }[] = [];

  private constructor(workers: EtagWorker[]) {
    this.#workers = workers;
    if (workers.length === 0) this.#hasher = new EtagHasher();
  }

  /**
   * Starts a hasher for a file of about `expectedSize` bytes: on worker
   * threads from {@linkcode STREAMING_WORKER_MIN_SIZE} on when some are free,
   * else on this thread.
   */
  static start(expectedSize = 0, options: StreamingEtagOptions = {}): StreamingEtag {
    const workers: EtagWorker[] = [];
    if (expectedSize >= STREAMING_WORKER_MIN_SIZE) {
      const parts = Math.ceil(expectedSize / ETAG_PART_SIZE);
      const wanted = Math.min(options.maxWorkers ?? 2, parts);
      let worker;
      while (workers.length < wanted && (worker = EtagWorker.tryStart())) workers.push(worker);
    }
    return new StreamingEtag(workers);
  }

  /** Number of bytes given so far. */
  get size(): number {
    return this.#size;
  }

  /** Whether the parts are hashed on worker threads. */
  get onWorkers(): boolean {
    return this.#workers.length > 0;
  }

  /** Adds the next bytes; the caller may reuse `chunk` as soon as this resolves. */
  async update(chunk: Uint8Array): Promise<void> {
    this.#size += chunk.byteLength;
    if (this.#hasher) {
      this.#hasher.update(chunk);
      return;
    }
    let at = 0;
    while (at < chunk.byteLength) {
      if (!this.#current) {
        this.#current = this.#free.pop() ?? this.#allocate() ?? (await this.#settleOldest());
        this.#fill = 0;
      }
      const room = Math.min(
        this.#current.byteLength - this.#fill,
        ETAG_PART_SIZE - this.#partSent - this.#fill,
      );
      const take = Math.min(room, chunk.byteLength - at);
      this.#current.set(chunk.subarray(at, at + take), this.#fill);
      this.#fill += take;
      at += take;
      if (take === room) this.#submit();
    }
  }

  /**
   * Adds the first `length` bytes (or all) of a file: the part of a partial download already on
   * disk, before its resume. Reads 1 MiB at a time.
   */
  async updateFromFile(path: string, length = Infinity): Promise<void> {
    const handle = await open(path, "r");
    try {
      const buffer = new Uint8Array(SLOT_SIZE);
      for (let left = length; left > 0;) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.byteLength, left), null);
        if (bytesRead === 0) break;
        left -= bytesRead;
        await this.update(buffer.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
  }

  /** Waits for every byte to be hashed and returns the etag. Call it once, after the last update. */
  async digest(): Promise<string> {
    if (this.#hasher) return this.#hasher.digest();
    if (this.#fill > 0) this.#submit();
    // The last, short part (or the only part of an empty file).
    if (this.#partSent > 0 || this.#digests.length === 0) this.#endPart();
    const digests = await Promise.all(this.#digests);
    if (this.#size <= ETAG_PART_SIZE) return Buffer.from(digests[0]).toString("hex");
    return etagOfPartDigests(digests);
  }

  /** Frees the worker threads. Safe to call more than once. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }

  #worker(): EtagWorker {
    return this.#workers[this.#part % this.#workers.length];
  }

  #allocate(): Uint8Array | undefined {
    if (this.#allocated === SLOTS_PER_WORKER * this.#workers.length) return undefined;
    this.#allocated++;
    const shared = typeof SharedArrayBuffer !== "undefined";
    return new Uint8Array(shared ? new SharedArrayBuffer(SLOT_SIZE) : new ArrayBuffer(SLOT_SIZE));
  }

  /** Hands the current slot to the worker of the current part; ends the part when it is full. */
  #submit() {
    const slot = this.#current!;
    const done = this.#worker().partUpdate(slot.subarray(0, this.#fill));
    // A failure is thrown when this slot's turn comes (or by digest); never unhandled before.
    done.catch(() => {});
    this.#backlog.push({ done, slot });
    this.#partSent += this.#fill;
    this.#current = undefined;
    this.#fill = 0;
    if (this.#partSent === ETAG_PART_SIZE) this.#endPart();
  }

  #endPart() {
    const digest = this.#worker().endPart();
    digest.catch(() => {});
    this.#digests.push(digest);
    this.#part++;
    this.#partSent = 0;
  }

  /** Waits for the oldest slot to be hashed and returns it for reuse. */
  async #settleOldest(): Promise<Uint8Array> {
    const oldest = this.#backlog.shift()!;
    await oldest.done;
    return oldest.slot;
  }
}
