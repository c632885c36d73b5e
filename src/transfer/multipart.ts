/**
 * A `multipart/form-data` request body streamed from a file on disk, with its
 * exact length known up front.
 *
 * `FormData` with a file `Blob` would read the whole file into memory in Deno,
 * so the body is built by hand: one part, read from disk chunk by chunk as
 * `fetch` asks for it.
 *
 * A file saved while it is being sent (QGIS writing a GeoPackage, SQLite
 * writing pages in place) would reach the server as a mix of old and new
 * bytes that never existed on disk. So the bytes are hashed as they are read,
 * and the end of the body is held back until they are known to be one
 * version of the file: the etag expected, and a file whose size and
 * modification time did not move while it was read. Without an expected etag
 * the file is hashed again once it is sent, before the end: on a filesystem
 * with coarse timestamps an overwrite within one tick leaves both the same.
 * (That second read costs some 0.45 s per 256 MiB from the page cache on a
 * loaded 2-core machine, against 2 s to send 256 MiB over gigabit.) Otherwise
 * the body fails before its end, the request is aborted, and the server
 * stores nothing.
 *
 * @module
 */
import { open } from "node:fs/promises";
import { QfcException } from "../errors.ts";
import { etagOfBytes } from "./etag.ts";
import { fastStat, readWholeFileSync } from "./fast_fs.ts";
import { etagOfFileOfSize } from "./file_etag.ts";
import { StreamingEtag } from "./streaming_etag.ts";

/** Size of each read from disk while streaming an upload. */
export const UPLOAD_CHUNK_SIZE = 256 * 1024;

/** Options of {@linkcode multipartFileBody}. */
export interface MultipartFileBodyOptions {
  /** Name of the form field. Default `file`, as the QFieldCloud upload endpoints expect. */
  field?: string;
  /** The part's filename; QFieldCloud ignores it but the SDK sends the remote name. */
  filename: string;
  /** Size of the file in bytes; the stream fails if the file no longer has this size. */
  size: number;
  /** Called with the number of file bytes handed to `fetch` after each chunk. */
  onBytes?: (bytesSoFar: number) => void;
  /** Fixed boundary, for tests; a random one by default. */
  boundary?: string;
  /**
   * The etag the sent bytes must have (the one the upload was decided on). They are hashed as
   * they are read; on a mismatch the body fails before its end.
   */
  etag?: string;
  /**
   * Called when the file changed while it was read, just before the body fails with `error`
   * (for instance to abort the request at once, so that it is not retried).
   */
  onChanged?: (error: QfcException) => void;
}

/** A streamed multipart body: pass `stream` as the request body and `headers` as headers. */
export interface MultipartFileBody {
  /** The body, read lazily from disk. It can be consumed once. */
  stream: ReadableStream<Uint8Array>;
  /** `Content-Type` (with the boundary) and `Content-Length`. */
  headers: { "Content-Type": string; "Content-Length": string };
  /** Total body length in bytes. */
  length: number;
}

/**
 * Builds a streamed `multipart/form-data` body with one file part, read from
 * `localPath` as the consumer pulls, so memory stays flat for any file size.
 *
 * @example Upload a file with fetch
 * ```ts
 * import { multipartFileBody } from "./multipart.ts";
 * const body = multipartFileBody("data.gpkg", { filename: "data.gpkg", size: 1234 });
 * await fetch("https://example.com/upload/", {
 *   method: "POST",
 *   body: body.stream,
 *   headers: body.headers,
 *   duplex: "half",
 * } as RequestInit);
 * ```
 *
 * @param localPath The file to send.
 * @param options Part name, filename and the file's size.
 */
export function multipartFileBody(
  localPath: string,
  options: MultipartFileBodyOptions,
): MultipartFileBody {
  const { head, tail, headers, length } = frameOf(options);
  const size = options.size;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let etag: StreamingEtag | undefined;
  let before: { size: number; mtimeMs: number } | undefined;
  let sent = 0;
  let stage: "head" | "file" | "tail" | "done" = "head";
  const closeFile = async () => {
    const h = handle;
    handle = undefined;
    const e = etag;
    etag = undefined;
    await Promise.all([h?.close(), e?.close()]);
  };
  /** The error of a file that changed while it was read; the caller is told first. */
  const changedError = (how = "") => changedWhileUploading(localPath, options, how);
  /** Throws when the bytes read are not one version of the file. */
  const checkUnchanged = async () => {
    const after = await handle!.stat();
    let changed = after.size !== before!.size || after.mtimeMs !== before!.mtimeMs;
    if (!changed && etag) {
      const sent = await etag.digest();
      // Without an expected etag, the file as it is now must still have the bytes sent.
      changed = sent !== (options.etag ?? await etagOfFileOfSize(localPath, size));
    }
    if (changed) throw changedError();
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (stage === "head") {
          handle = await open(localPath, "r");
          before = await handle.stat();
          etag = StreamingEtag.start(size);
          controller.enqueue(head);
          stage = size > 0 ? "file" : "tail";
          return;
        }
        if (stage === "file") {
          const buffer = new Uint8Array(Math.min(UPLOAD_CHUNK_SIZE, size - sent));
          const { bytesRead } = await handle!.read(buffer, 0, buffer.byteLength, sent);
          if (bytesRead === 0) throw changedError(` (it shrank below ${size} bytes)`);
          sent += bytesRead;
          await etag?.update(buffer.subarray(0, bytesRead));
          controller.enqueue(buffer.subarray(0, bytesRead));
          options.onBytes?.(sent);
          if (sent === size) stage = "tail";
          return;
        }
        if (stage === "tail") {
          // The end of the body waits until the bytes sent are known to be one version.
          await checkUnchanged();
          await closeFile();
          controller.enqueue(tail);
          stage = "done";
          controller.close();
        }
      } catch (error) {
        await closeFile().catch(() => {});
        controller.error(error);
      }
    },
    async cancel() {
      await closeFile();
    },
    // Nothing is opened (file, hash workers) before the first read: a body that is never
    // sent (a request refused before it) holds nothing.
  }, { highWaterMark: 0 });
  return { stream, headers, length };
}

/**
 * Builds the same body as {@linkcode multipartFileBody} in memory, for small
 * files: a body of known length is sent with `Content-Length` by every
 * runtime (Deno's `fetch` sends streamed bodies chunked), and costs one read.
 *
 * @example
 * ```ts
 * import { multipartFileBytes } from "./multipart.ts";
 * const body = await multipartFileBytes("notes.txt", { filename: "notes.txt", size: 6 });
 * console.log(body.length === body.bytes.byteLength); // true
 * ```
 */
export async function multipartFileBytes(
  localPath: string,
  options: Omit<MultipartFileBodyOptions, "onBytes">,
): Promise<
  { bytes: Uint8Array<ArrayBuffer>; headers: MultipartFileBody["headers"]; length: number }
> {
  // Synchronous calls, and no stream: for many small files, five promises and a stream per file
  // cost more time and memory than the reads, and a read of at most 1 MiB blocks but briefly.
  // (Deno's own calls where it runs: `node:fs` builds four `Date`s per stat.)
  const { head, tail, headers, length } = frameOf(options);
  const size = options.size;
  const before = fastStat(localPath);
  // Not read at all if it is no longer the size announced (it may have grown large since).
  if (before.size !== size) throw changedWhileUploading(localPath, options);
  const data = readWholeFileSync(localPath);
  const after = fastStat(localPath);
  if (data.byteLength < size) {
    throw changedWhileUploading(localPath, options, ` (it shrank below ${size} bytes)`);
  }
  // The bytes read must be one version of the file, as for a streamed body: a file whose size
  // and modification time did not move while it was read, and the etag expected (without one,
  // the file as it is now must still have the bytes read).
  let changed = data.byteLength !== size || after.size !== before.size ||
    after.mtimeMs !== before.mtimeMs || after.ino !== before.ino;
  if (!changed) {
    changed = etagOfBytes(data) !== (options.etag ?? await etagOfFileOfSize(localPath, size));
  }
  if (changed) throw changedWhileUploading(localPath, options);
  const bytes = new Uint8Array(length);
  bytes.set(head, 0);
  bytes.set(data, head.byteLength);
  bytes.set(tail, head.byteLength + size);
  return { bytes, headers, length };
}

/**
 * The headers of the body {@linkcode multipartFileBody} builds with the same options
 * (give a `boundary`, or the two differ), without opening the file.
 *
 * @example
 * ```ts
 * import { multipartHeaders } from "./multipart.ts";
 * multipartHeaders({ filename: "a.txt", size: 3, boundary: "b" })["Content-Type"];
 * // "multipart/form-data; boundary=b"
 * ```
 */
export function multipartHeaders(options: MultipartFileBodyOptions): Record<string, string> {
  return frameOf(options).headers;
}

/** The part head and the closing tail around the file bytes, and the body's headers. */
function frameOf(options: MultipartFileBodyOptions) {
  const boundary = options.boundary ?? `----qfieldcloud-${crypto.randomUUID()}`;
  const encoder = new TextEncoder();
  const head = encoder.encode(
    `--${boundary}\r\n` +
      `Content-Disposition: form-data; name="${escapeQuoted(options.field ?? "file")}"; ` +
      `filename="${escapeQuoted(options.filename)}"\r\n\r\n`,
  );
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  const length = head.byteLength + options.size + tail.byteLength;
  const headers = {
    "Content-Type": `multipart/form-data; boundary=${boundary}`,
    "Content-Length": String(length),
  };
  return { head, tail, headers, length };
}

/** The error of a file that changed while it was read; the caller is told first. */
function changedWhileUploading(
  localPath: string,
  options: MultipartFileBodyOptions,
  how = "",
): QfcException {
  const error = new QfcException(`File "${localPath}" changed while uploading${how}: run again`);
  options.onChanged?.(error);
  return error;
}

/** Escapes a value for a quoted `Content-Disposition` parameter the way browsers do. */
function escapeQuoted(value: string): string {
  return value.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
