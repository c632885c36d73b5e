/**
 * The S3-style etag that QFieldCloud reports as a file's `md5sum`.
 *
 * Files up to 8 MiB get the hex MD5 of their bytes; larger files get the MD5
 * of the concatenated binary MD5 digests of each 8 MiB part, followed by
 * `-<parts>`. The server and the Python SDK compute it the same way, so
 * comparing etags tells whether a local file equals the remote one.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";

/** Size of one part of the multipart etag: 8 MiB. */
export const ETAG_PART_SIZE = 8 * 1024 * 1024;

/**
 * Incremental etag computation over a stream of chunks: feed bytes with
 * {@linkcode EtagHasher.update}, read the result with {@linkcode EtagHasher.digest}.
 *
 * @example Hash bytes as they arrive
 * ```ts
 * import { EtagHasher } from "./etag.ts";
 * const hasher = new EtagHasher();
 * hasher.update(new TextEncoder().encode("Hello!"));
 * console.log(hasher.digest()); // 952d2c56d0485958336747bcdd98590d
 * ```
 */
export class EtagHasher {
  #part: Hash = createHash("md5");
  #partBytes = 0;
  #digests: Uint8Array[] = [];
  #size = 0;

  /** Adds the next chunk of the file. */
  update(chunk: Uint8Array): void {
    this.#size += chunk.byteLength;
    let offset = 0;
    while (offset < chunk.byteLength) {
      const take = Math.min(ETAG_PART_SIZE - this.#partBytes, chunk.byteLength - offset);
      this.#part.update(chunk.subarray(offset, offset + take));
      this.#partBytes += take;
      offset += take;
      if (this.#partBytes === ETAG_PART_SIZE) {
        this.#digests.push(this.#part.digest());
        this.#part = createHash("md5");
        this.#partBytes = 0;
      }
    }
  }

  /** Number of bytes hashed so far. */
  get size(): number {
    return this.#size;
  }

  /** Returns the etag of all bytes given so far. Call it once. */
  digest(): string {
    if (this.#size <= ETAG_PART_SIZE) {
      // One part (or none): the plain MD5 of the whole content.
      return this.#digests.length === 1
        ? Buffer.from(this.#digests[0]).toString("hex")
        : this.#part.digest("hex");
    }
    if (this.#partBytes > 0) this.#digests.push(this.#part.digest());
    const outer = createHash("md5");
    for (const d of this.#digests) outer.update(d);
    return `${outer.digest("hex")}-${this.#digests.length}`;
  }
}

/**
 * Computes the etag of bytes held in memory.
 *
 * @example
 * ```ts
 * import { etagOfBytes } from "./etag.ts";
 * etagOfBytes(new TextEncoder().encode("Hello!")); // "952d2c56d0485958336747bcdd98590d"
 * ```
 */
export function etagOfBytes(bytes: Uint8Array): string {
  const hasher = new EtagHasher();
  hasher.update(bytes);
  return hasher.digest();
}

/**
 * Computes the etag of a local file, streaming it in 1 MiB reads so memory
 * stays flat whatever its size.
 *
 * @example
 * ```ts
 * import { etagOfFile } from "./etag.ts";
 * const etag = await etagOfFile("project.qgz");
 * ```
 */
export async function etagOfFile(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const hasher = new EtagHasher();
    const buffer = new Uint8Array(1024 * 1024);
    while (true) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, null);
      if (bytesRead === 0) break;
      hasher.update(buffer.subarray(0, bytesRead));
    }
    return hasher.digest();
  } finally {
    await handle.close();
  }
}
