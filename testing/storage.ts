/**
 * Blob storage of the test server: file contents by key, in memory or in a
 * directory. Writing takes a stream and computes the etag, MD5 and SHA-256 on
 * the way, so a large upload never sits in memory when a directory is used.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { EtagHasher } from "../src/transfer/etag.ts";

/** What {@linkcode BlobStorage.put} learned about the bytes it stored. */
export interface StoredBlob {
  /** Storage key. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** S3-style etag (QFieldCloud's `md5sum`). */
  etag: string;
  /** True hex MD5. */
  md5: string;
  /** Hex SHA-256. */
  sha256: string;
}

/** Bytes gathered before each write to disk. */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** Writes all of `bytes` to `file`, which may take several calls. */
function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.byteLength) written += file.writeSync(bytes.subarray(written));
}

/** Options of {@linkcode BlobStorage}. */
export interface BlobStorageOptions {
  /** Directory for the blobs; in memory when omitted. */
  dir?: string;
}

/** An inclusive byte range. */
export interface ByteRange {
  /** First byte. */
  start: number;
  /** Last byte (inclusive). */
  end: number;
}

/**
 * Key-value blob storage. On disk, blobs are named by the SHA-256 of their key
 * (keys contain user file names) and removed again by {@linkcode BlobStorage.close}.
 *
 * @example Store and read back
 * ```ts
 * import { BlobStorage } from "./storage.ts";
 * const storage = new BlobStorage();
 * const blob = await storage.put("a", new TextEncoder().encode("Hello!"));
 * console.log(blob.etag); // 952d2c56d0485958336747bcdd98590d
 * const text = await new Response(await storage.read("a")).text(); // "Hello!"
 * ```
 */
export class BlobStorage {
  #dir: string | undefined;
  #memory = new Map<string, Uint8Array>();
  #sizes = new Map<string, number>();
  #createdDir = false;
  #ready: Promise<void> | undefined;

  /** Creates a storage, in memory unless `dir` is given. */
  constructor(options: BlobStorageOptions = {}) {
    this.#dir = options.dir;
  }

  /** The directory blobs are written to, or undefined in memory. */
  get dir(): string | undefined {
    return this.#dir;
  }

  #ensureDir(): Promise<void> {
    const dir = this.#dir;
    if (!dir) return Promise.resolve();
    this.#ready ??= (async () => {
      try {
        await Deno.stat(dir);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        await Deno.mkdir(dir, { recursive: true });
        this.#createdDir = true;
      }
    })();
    return this.#ready;
  }

  #path(key: string): string {
    const name = createHash("sha256").update(key).digest("hex");
    return `${this.#dir}/${name}.blob`;
  }

  /**
   * Stores bytes under a key (replacing any previous blob) and returns their
   * size and checksums. A stream is consumed chunk by chunk; on error nothing
   * is kept.
   */
  async put(key: string, body: ReadableStream<Uint8Array> | Uint8Array): Promise<StoredBlob> {
    const etag = new EtagHasher();
    const md5 = createHash("md5");
    const sha256 = createHash("sha256");
    const hashAll = (chunk: Uint8Array) => {
      etag.update(chunk);
      md5.update(chunk);
      sha256.update(chunk);
    };
    const stream = body instanceof Uint8Array
      ? new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(body);
          c.close();
        },
      })
      : body;
    if (this.#dir) {
      await this.#ensureDir();
      const path = this.#path(key);
      const file = await Deno.open(path, { write: true, create: true, truncate: true });
      try {
        // Synchronous writes on purpose: awaiting an async file write per chunk
        // (a thread-pool hop each time) made Deno.serve hand over chunked
        // request bodies with a ~2 ms stall per read, 10-40x slower uploads.
        // Chunks are batched so each write is large and the event loop is
        // blocked for well under a millisecond at a time.
        const batch = new Uint8Array(WRITE_BATCH_BYTES);
        let used = 0;
        const flush = () => {
          writeAllSync(file, batch.subarray(0, used));
          used = 0;
        };
        for await (const chunk of stream) {
          hashAll(chunk);
          if (used + chunk.byteLength > batch.byteLength) flush();
          if (chunk.byteLength >= batch.byteLength) writeAllSync(file, chunk);
          else {
            batch.set(chunk, used);
            used += chunk.byteLength;
          }
        }
        flush();
      } catch (e) {
        file.close();
        await Deno.remove(path).catch(() => {});
        this.#sizes.delete(key);
        throw e;
      }
      file.close();
      this.#sizes.set(key, etag.size);
    } else {
      const chunks: Uint8Array[] = [];
      for await (const chunk of stream) {
        hashAll(chunk);
        chunks.push(chunk.slice());
      }
      const all = new Uint8Array(etag.size);
      let offset = 0;
      for (const c of chunks) {
        all.set(c, offset);
        offset += c.byteLength;
      }
      this.#memory.set(key, all);
      this.#sizes.set(key, all.byteLength);
    }
    return {
      key,
      size: etag.size,
      etag: etag.digest(),
      md5: md5.digest("hex"),
      sha256: sha256.digest("hex"),
    };
  }

  /** Whether a key is stored. */
  has(key: string): boolean {
    return this.#sizes.has(key);
  }

  /** Size of a stored blob, or undefined. */
  size(key: string): number | undefined {
    return this.#sizes.get(key);
  }

  /**
   * Reads a blob (or an inclusive byte range of it) as a stream. Throws a
   * `RangeError` for an unknown key.
   */
  async read(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const size = this.#sizes.get(key);
    if (size === undefined) throw new RangeError(`Blob "${key}" does not exist`);
    const start = range?.start ?? 0;
    const end = range ? Math.min(range.end, size - 1) : size - 1;
    if (!this.#dir) {
      const bytes = this.#memory.get(key)!.subarray(start, end + 1);
      const chunkSize = 64 * 1024;
      let offset = 0;
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (offset >= bytes.byteLength) {
            c.close();
            return;
          }
          c.enqueue(bytes.slice(offset, offset + chunkSize));
          offset += chunkSize;
        },
      }, { highWaterMark: 0 });
    }
    const file = await Deno.open(this.#path(key), { read: true });
    let remaining = end - start + 1;
    try {
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    } catch (e) {
      file.close();
      throw e;
    }
    let closed = false;
    const close = () => {
      if (!closed) {
        closed = true;
        file.close();
      }
    };
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        if (remaining <= 0) {
          close();
          c.close();
          return;
        }
        const buffer = new Uint8Array(Math.min(256 * 1024, remaining));
        const n = await file.read(buffer);
        if (n === null || n === 0) {
          close();
          c.close();
          return;
        }
        remaining -= n;
        c.enqueue(buffer.subarray(0, n));
      },
      cancel() {
        close();
      },
    }, { highWaterMark: 0 });
  }

  /** Reads a whole blob into memory (for small files such as QGIS projects). */
  async readAll(key: string): Promise<Uint8Array> {
    if (!this.#dir) {
      const bytes = this.#memory.get(key);
      if (!bytes) throw new RangeError(`Blob "${key}" does not exist`);
      return bytes;
    }
    if (!this.#sizes.has(key)) throw new RangeError(`Blob "${key}" does not exist`);
    return await Deno.readFile(this.#path(key));
  }

  /** Copies a blob to another key without reading it into memory. */
  async copy(from: string, to: string): Promise<void> {
    if (!this.#dir) {
      const bytes = this.#memory.get(from);
      if (!bytes) throw new RangeError(`Blob "${from}" does not exist`);
      this.#memory.set(to, bytes);
      this.#sizes.set(to, bytes.byteLength);
      return;
    }
    if (!this.#sizes.has(from)) throw new RangeError(`Blob "${from}" does not exist`);
    await Deno.copyFile(this.#path(from), this.#path(to));
    this.#sizes.set(to, this.#sizes.get(from)!);
  }

  /** Renames a blob. */
  async move(from: string, to: string): Promise<void> {
    if (!this.#dir) {
      await this.copy(from, to);
      await this.delete(from);
      return;
    }
    if (!this.#sizes.has(from)) throw new RangeError(`Blob "${from}" does not exist`);
    await Deno.rename(this.#path(from), this.#path(to));
    this.#sizes.set(to, this.#sizes.get(from)!);
    this.#sizes.delete(from);
  }

  /** Deletes a blob; unknown keys are ignored. */
  async delete(key: string): Promise<void> {
    if (!this.#sizes.delete(key)) return;
    if (!this.#dir) {
      this.#memory.delete(key);
      return;
    }
    await Deno.remove(this.#path(key)).catch(() => {});
  }

  /** Deletes every blob whose key starts with a prefix. */
  async deletePrefix(prefix: string): Promise<void> {
    for (const key of [...this.#sizes.keys()]) {
      if (key.startsWith(prefix)) await this.delete(key);
    }
  }

  /** Keys of all stored blobs. */
  keys(): string[] {
    return [...this.#sizes.keys()];
  }

  /**
   * Removes every blob this storage wrote, and its directory when the storage
   * created it.
   */
  async close(): Promise<void> {
    for (const key of [...this.#sizes.keys()]) await this.delete(key);
    this.#memory.clear();
    if (this.#dir && this.#createdDir) {
      await Deno.remove(this.#dir).catch(() => {});
      this.#createdDir = false;
    }
  }
}
