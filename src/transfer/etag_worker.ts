/**
 * The S3-style etag (see `etag.ts`) computed on a worker thread, so that
 * hashing a large download runs beside the network reads and the disk writes
 * instead of between them. MD5 runs at about 2 s per GiB: on the main thread
 * it would be most of a large download's time.
 *
 * Uses `node:worker_threads`, which Deno, Node and Bun all ship. The worker's
 * code is evaluated from a string (there is no file to resolve once the
 * library is bundled or published), and bytes over a `SharedArrayBuffer` reach
 * it without a copy.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ETAG_PART_SIZE } from "./etag.ts";

/**
 * The worker: the same computation as `EtagHasher` (MD5 per 8 MiB part, then
 * the MD5 of the part digests and `-<parts>`). CommonJS, as `eval` workers are.
 */
const WORKER_SOURCE = `"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const PART = workerData.partSize;
let part = createHash("md5");
let partBytes = 0;
let size = 0;
const digests = [];
parentPort.on("message", (m) => {
  if (m.digest) {
    let etag;
    if (size <= PART) {
      etag = digests.length === 1 ? digests[0].toString("hex") : part.digest("hex");
    } else {
      if (partBytes > 0) digests.push(part.digest());
      const outer = createHash("md5");
      for (const d of digests) outer.update(d);
      etag = outer.digest("hex") + "-" + digests.length;
    }
    parentPort.postMessage({ etag });
    return;
  }
  const bytes = new Uint8Array(m.buffer, m.offset, m.length);
  size += bytes.byteLength;
  let at = 0;
  while (at < bytes.byteLength) {
    const take = Math.min(PART - partBytes, bytes.byteLength - at);
    part.update(bytes.subarray(at, at + take));
    partBytes += take;
    at += take;
    if (partBytes === PART) {
      digests.push(part.digest());
      part = createHash("md5");
      partBytes = 0;
    }
  }
  parentPort.postMessage({ done: true });
});
`;

/** Worker threads that may hash at the same time: one core stays for the main thread. */
const MAX_WORKERS = Math.max(0, Math.min(4, availableParallelism() - 1));
let workersInUse = 0;

/**
 * Incremental etag computation on a worker thread. Feed bytes in order with
 * {@linkcode EtagWorker.update} (each call resolves once its bytes are hashed,
 * so the caller may then reuse them), read the etag with
 * {@linkcode EtagWorker.digest}, and always {@linkcode EtagWorker.terminate}.
 *
 * Workers are limited to one less than the number of cores (at most 4):
 * {@linkcode EtagWorker.tryStart} returns `undefined` when none is free, and
 * the caller then hashes on its own thread with `EtagHasher`.
 *
 * @example Hash a large buffer beside other work
 * ```ts
 * import { EtagWorker } from "./etag_worker.ts";
 * const hasher = EtagWorker.tryStart();
 * if (hasher) {
 *   try {
 *     const bytes = new Uint8Array(new SharedArrayBuffer(1024 * 1024));
 *     await hasher.update(bytes);
 *     console.log(await hasher.digest()); // b6d81b360a5672d80c27430f39153e2c
 *   } finally {
 *     await hasher.terminate();
 *   }
 * }
 * ```
 */
export class EtagWorker {
  #worker: Worker;
  /** Callbacks of the messages sent and not answered yet, in order (the worker answers in order). */
  #pending: { resolve: (value: string | undefined) => void; reject: (error: Error) => void }[] = [];
  #failure: Error | undefined;
  #size = 0;
  #terminated = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on("message", (m: { etag?: string }) => this.#pending.shift()?.resolve(m.etag));
    worker.on("error", (error: unknown) => this.#fail(error));
    worker.on("exit", (code: number) => {
      if (!this.#terminated) this.#fail(new Error(`The hashing worker exited with code ${code}`));
    });
  }

  /**
   * Starts a worker, or returns `undefined` when the limit of workers is
   * reached or the runtime cannot start one.
   */
  static tryStart(): EtagWorker | undefined {
    if (workersInUse >= MAX_WORKERS) return undefined;
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { partSize: ETAG_PART_SIZE } });
    } catch {
      return undefined;
    }
    workersInUse++;
    return new EtagWorker(worker);
  }

  /** Number of bytes given so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds the next bytes of the file. Bytes over a `SharedArrayBuffer` are
   * read in place: do not change them before the promise resolves. Other
   * bytes are copied.
   */
  update(bytes: Uint8Array): Promise<void> {
    this.#size += bytes.byteLength;
    const shared = typeof SharedArrayBuffer !== "undefined" &&
      bytes.buffer instanceof SharedArrayBuffer;
    const message = shared
      ? { buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.byteLength }
      : { buffer: bytes.slice().buffer, offset: 0, length: bytes.byteLength };
    return this.#send(message, shared ? [] : [message.buffer as ArrayBuffer]).then(() => {});
  }

  /** Returns the etag of all bytes given so far. Call it once, after the last update. */
  async digest(): Promise<string> {
    return (await this.#send({ digest: true }, []))!;
  }

  /** Stops the worker; pending calls reject. Safe to call more than once. */
  async terminate(): Promise<void> {
    if (this.#terminated) return;
    this.#terminated = true;
    workersInUse--;
    this.#fail(new Error("The hashing worker was terminated"));
    await this.#worker.terminate();
  }

  #send(message: unknown, transfer: ArrayBuffer[]): Promise<string | undefined> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#worker.postMessage(message, transfer);
    });
  }

  #fail(error: unknown) {
    this.#failure ??= error instanceof Error ? error : new Error(String(error));
    for (const waiter of this.#pending.splice(0)) waiter.reject(this.#failure);
  }
}
