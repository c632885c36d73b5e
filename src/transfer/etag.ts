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
import { QfcException } from "../errors.ts";

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
    return etagOfPartDigests(this.#digests);
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
 * The etag of a file of more than one part, from the binary MD5 of each part
 * in order (for hashing the parts of a large file in parallel).
 *
 * @example
 * ```ts
 * import { createHash } from "node:crypto";
 * import { etagOfPartDigests } from "./etag.ts";
 * const part = (text: string) => createHash("md5").update(text).digest();
 * console.log(etagOfPartDigests([part("a"), part("b")])); // "<md5 hex>-2"
 * ```
 */
export function etagOfPartDigests(digests: readonly Uint8Array[]): string {
  const outer = createHash("md5");
  for (const digest of digests) outer.update(digest);
  return `${outer.digest("hex")}-${digests.length}`;
}

/**
 * Reads bytes `[start, end)` of a file and feeds them to `hasher`, 1 MiB at a
 * time (memory stays flat whatever the size). Throws if the file ends early.
 *
 * @example The etag of a whole file
 * ```ts
 * import { EtagHasher, hashFileRange } from "./etag.ts";
 * const hasher = new EtagHasher();
 * await hashFileRange("project.qgz", 0, Infinity, hasher);
 * console.log(hasher.digest());
 * ```
 */
export async function hashFileRange(
  path: string,
  start: number,
  end: number,
  hasher: { update(bytes: Uint8Array): void },
): Promise<void> {
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(1024 * 1024);
    for (let at = start; at < end;) {
      const want = Math.min(buffer.byteLength, end - at);
      const { bytesRead } = await handle.read(buffer, 0, want, at);
      if (bytesRead === 0) {
        if (end === Infinity) return;
        throw new QfcException(
          `File "${path}" changed while being hashed: it is shorter than ${end} bytes now`,
        );
      }
      hasher.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
}
