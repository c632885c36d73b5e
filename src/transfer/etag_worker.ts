/**
 * The 8 MiB parts of the S3-style etag (see `etag.ts`) hashed on a worker
 * thread, so that hashing a large transfer runs beside the network reads and
 * the disk writes instead of between them. MD5 runs at about 2 s per GiB: on
 * the main thread it would be most of a large download's time.
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
import { QfcException } from "../errors.ts";
import { ETAG_PART_SIZE } from "./etag.ts";

/**
 * The worker: the binary MD5 of parts, of a file it reads itself or of bytes
 * it is sent. CommonJS, as `eval` workers are.
 */
const WORKER_SOURCE = `"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const PART = workerData.partSize;
// The binary MD5 of each part of bytes [start, end) of a file; start is a part boundary.
function partDigestsOfFile(path, start, end) {
  const fd = fs.openSync(path, "r");
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  const out = [];
  try {
    for (let partStart = start; partStart < end; partStart += PART) {
      const partEnd = Math.min(partStart + PART, end);
      const hash = createHash("md5");
      for (let at = partStart; at < partEnd;) {
        const read = fs.readSync(fd, buffer, 0, Math.min(buffer.length, partEnd - at), at);
        if (read === 0) throw new Error('File "' + path + '" changed while being hashed: it is shorter than ' + end + " bytes now");
        hash.update(buffer.subarray(0, read));
        at += read;
      }
      const digest = hash.digest();
      out.push(digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength));
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}
// One part at a time, its bounds set by the sender (parts spread over several workers).
let onePart = null;
parentPort.on("message", (m) => {
  if (m.partBytes) {
    (onePart ??= createHash("md5")).update(new Uint8Array(m.buffer, m.offset, m.length));
    parentPort.postMessage({ done: true });
    return;
  }
  if (m.partEnd) {
    const digest = (onePart ?? createHash("md5")).digest();
    onePart = null;
    const bytes = digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength);
    parentPort.postMessage({ digests: [bytes] }, [bytes]);
    return;
  }
  if (m.file) {
    let digests;
    try {
      digests = partDigestsOfFile(m.file, m.start, m.end);
    } catch (error) {
      parentPort.postMessage({ error: String(error && error.message || error) });
      return;
    }
    parentPort.postMessage({ digests }, digests);
    return;
  }
  parentPort.postMessage({ error: "unknown message" });
});
`;

/** What the worker posts back: one reply per message, in order. */
interface WorkerReply {
  digests?: ArrayBuffer[];
  error?: string;
}

/** Worker threads that may hash at the same time: one core stays for the main thread. */
const MAX_WORKERS = Math.max(0, Math.min(4, availableParallelism() - 1));
let workersInUse = 0;

/**
 * A worker thread that hashes etag parts: the parts of a file it reads
 * ({@linkcode EtagWorker.partDigests}), or one part at a time from bytes it is
 * sent ({@linkcode EtagWorker.partUpdate}, then {@linkcode EtagWorker.endPart}).
 * Always {@linkcode EtagWorker.terminate} it.
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
 *     await hasher.partUpdate(bytes);
 *     console.log(await hasher.endPart()); // the 16 bytes of b6d81b360a5672d80c27430f39153e2c
 *   } finally {
 *     await hasher.terminate();
 *   }
 * }
 * ```
 */
export class EtagWorker {
  #worker: Worker;
  /** Callbacks of the messages sent and not answered yet, in order (the worker answers in order). */
  #pending: { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }[] = [];
  #failure: Error | undefined;
  #terminated = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on("message", (m: WorkerReply) => {
      const waiter = this.#pending.shift();
      if (m.error !== undefined) waiter?.reject(new QfcException(m.error));
      else waiter?.resolve(m);
    });
    worker.on("error", (error: unknown) => this.#fail(error));
    worker.on("exit", (code: number) => {
      if (!this.#terminated) {
        this.#fail(new QfcException(`The hashing worker exited with code ${code}`));
      }
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

  /** Number of workers started and not terminated yet, in this process. */
  static get inUse(): number {
    return workersInUse;
  }

  /** Shares bytes over a `SharedArrayBuffer` in place; copies and transfers others. */
  #bytesMessage(bytes: Uint8Array) {
    const shared = typeof SharedArrayBuffer !== "undefined" &&
      bytes.buffer instanceof SharedArrayBuffer;
    const buffer = shared ? bytes.buffer : bytes.slice().buffer;
    return {
      buffer,
      offset: shared ? bytes.byteOffset : 0,
      length: bytes.byteLength,
      transfer: shared ? [] : [buffer as ArrayBuffer],
    };
  }

  /** Stops the worker; pending calls reject. Safe to call more than once. */
  async terminate(): Promise<void> {
    if (this.#terminated) return;
    this.#terminated = true;
    workersInUse--;
    this.#fail(new QfcException("The hashing worker was terminated"));
    await this.#worker.terminate();
  }

  /**
   * Adds bytes to the part being hashed (see {@linkcode EtagWorker.endPart}); the sender decides
   * where parts begin and end, so that the parts of one file can be spread over several workers.
   * Bytes over a `SharedArrayBuffer` are read in place: do not change them before the promise
   * resolves; other bytes are copied.
   */
  partUpdate(bytes: Uint8Array): Promise<void> {
    const { transfer, ...message } = this.#bytesMessage(bytes);
    return this.#send({ partBytes: true, ...message }, transfer).then(() => {});
  }

  /** Ends the part fed by {@linkcode EtagWorker.partUpdate} and returns its binary MD5. */
  async endPart(): Promise<Uint8Array> {
    const reply = await this.#send({ partEnd: true }, []);
    return new Uint8Array(reply.digests![0]);
  }

  /**
   * Reads bytes `[start, end)` of the file at `path` on the worker thread and returns the binary
   * MD5 of each part; `start` must be a multiple of the part size.
   */
  async partDigests(path: string, start: number, end: number): Promise<Uint8Array[]> {
    const reply = await this.#send({ file: path, start, end }, []);
    return reply.digests!.map((digest) => new Uint8Array(digest));
  }

  #send(message: unknown, transfer: ArrayBuffer[]): Promise<WorkerReply> {
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
