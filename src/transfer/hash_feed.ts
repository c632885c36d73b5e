/**
 * Hashing a download while its bytes arrive: on the main thread for a small
 * file, on a worker thread beside the network reads and disk writes for a
 * large one. Also re-hashes the part of a partial file already on disk before
 * a resume.
 *
 * @module
 */
import { open } from "node:fs/promises";
import { EtagHasher } from "./etag.ts";
import { EtagWorker } from "./etag_worker.ts";

/** Bytes read at a time when a partial file is hashed again. */
const READ_SIZE = 1024 * 1024;
/** Bytes handed to a hashing worker at a time. */
const HASH_SLOT_SIZE = 1024 * 1024;
/** Buffers of {@linkcode HASH_SLOT_SIZE} filled or waiting to be hashed, at most. */
const HASH_SLOTS = 8;
/** Files from this size on are hashed on a worker thread (starting one takes some 30 ms). */
const WORKER_MIN_SIZE = 32 * 1024 * 1024;

/** What hashes the bytes of a download: `EtagHasher` or an `EtagWorker`. */
interface ChunkHasher {
  update(bytes: Uint8Array): void | Promise<void>;
  digest(): string | Promise<string>;
  terminate?(): Promise<void>;
}

/**
 * Computes a download's etag, on the main thread or, for a large file, on a
 * worker thread that hashes while the next bytes arrive. For the worker, the
 * bytes are gathered into {@linkcode HASH_SLOT_SIZE} buffers (shared with it,
 * where the runtime allows, so nothing more is copied), at most
 * {@linkcode HASH_SLOTS} of them waiting to be hashed: memory stays flat.
 */
export class HashFeed {
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

/** Feeds the first `length` bytes (or all) of a file to `feed`. */
export async function hashFileInto(path: string, feed: HashFeed, length = Infinity): Promise<void> {
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
