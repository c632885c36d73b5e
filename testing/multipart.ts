/**
 * A streaming `multipart/form-data` parser. Parts come one after the other,
 * each with a body stream that must be read (or cancelled) before the next
 * part is produced, so a 1 GiB file part passes through with bounded memory.
 *
 * @module
 */

/** One part of a multipart body. */
export interface MultipartPart {
  /** The `name` of the part's Content-Disposition. */
  name: string;
  /**
   * The `filename`, or the decoded RFC 2231 `filename*`, whichever comes last
   * (as Django's `parse_header_parameters` reads them); undefined for plain fields.
   */
  filename: string | undefined;
  /**
   * The part's headers by lower-case name, values decoded as UTF-8 as Django
   * does. Not a `Headers`: that one refuses any character above U+00FF.
   */
  headers: ReadonlyMap<string, string>;
  /** The part's content; read or cancel it before asking for the next part. */
  body: ReadableStream<Uint8Array>;
}

/** Thrown for a malformed multipart body. */
export class MultipartError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Reads the boundary of a `multipart/form-data` Content-Type, or undefined
 * when the type is not multipart/form-data or has no boundary.
 *
 * @example
 * ```ts
 * import { multipartBoundary } from "./multipart.ts";
 * multipartBoundary('multipart/form-data; boundary="abc"'); // "abc"
 * ```
 */
export function multipartBoundary(contentType: string | null): string | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = splitParams(contentType);
  if (type.trim().toLowerCase() !== "multipart/form-data") return undefined;
  for (const p of params) {
    const [k, v] = p;
    if (k === "boundary" && v) return v;
  }
  return undefined;
}

/** Splits `a; k=v; k2="v 2"` into `["a", [k, v], [k2, "v 2"]]`. */
function splitParams(value: string): [string, ...[string, string][]] {
  const out: [string, ...[string, string][]] = [""];
  let i = 0;
  const n = value.length;
  let first = "";
  while (i < n && value[i] !== ";") first += value[i++];
  out[0] = first;
  while (i < n) {
    i++; // skip ';'
    while (i < n && (value[i] === " " || value[i] === "\t")) i++;
    let key = "";
    while (i < n && value[i] !== "=" && value[i] !== ";") key += value[i++];
    key = key.trim().toLowerCase();
    let val = "";
    if (value[i] === "=") {
      i++;
      while (i < n && (value[i] === " " || value[i] === "\t")) i++;
      if (value[i] === '"') {
        i++;
        while (i < n && value[i] !== '"') {
          if (value[i] === "\\" && i + 1 < n) i++;
          val += value[i++];
        }
        i++; // closing quote
        while (i < n && value[i] !== ";") i++;
      } else {
        while (i < n && value[i] !== ";") val += value[i++];
        val = val.trim();
      }
    }
    if (key) out.push([key, val]);
  }
  return out;
}

/**
 * Decodes an RFC 2231 value, `charset'lang'percent-encoded`, as Python's
 * `unquote(value, encoding=charset)` does (bad bytes become U+FFFD); undefined
 * when the value does not have exactly two apostrophes or names an unknown charset.
 */
function decodeExtValue(value: string): string | undefined {
  const pieces = value.split("'");
  if (pieces.length !== 3) return undefined;
  const [charset, , encoded] = pieces;
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset || "utf-8");
  } catch {
    return undefined;
  }
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const hex = encoded.slice(i + 1, i + 3);
    if (encoded[i] === "%" && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...ENCODER.encode(encoded[i]));
    }
  }
  return decoder.decode(new Uint8Array(bytes));
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const ENCODER = new TextEncoder();

/**
 * Reads part header lines as Django's multipart parser does: each line is
 * decoded as UTF-8, and a line that is not UTF-8 or has no colon is skipped.
 */
function parsePartHeaders(bytes: Uint8Array): Map<string, string> {
  const headers = new Map<string, string>();
  let start = 0;
  while (start <= bytes.byteLength) {
    let end = indexOf(bytes, CRLF, start);
    if (end === -1) end = bytes.byteLength;
    let line: string | undefined;
    try {
      line = UTF8.decode(bytes.subarray(start, end));
    } catch {
      line = undefined;
    }
    start = end + 2;
    const colon = line?.indexOf(":") ?? -1;
    if (line === undefined || colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
  }
  return headers;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  const last = haystack.byteLength - needle.byteLength;
  let i = from;
  while (i <= last) {
    i = haystack.indexOf(first, i);
    if (i === -1 || i > last) return -1;
    let j = 1;
    while (j < needle.byteLength && haystack[i + j] === needle[j]) j++;
    if (j === needle.byteLength) return i;
    i++;
  }
  return -1;
}

const CRLF = new Uint8Array([13, 10]);
const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Parses a multipart body as a stream of parts.
 *
 * @example
 * ```ts
 * import { multipartBoundary, parseMultipart } from "./multipart.ts";
 * const form = new FormData();
 * form.append("file", new Blob(["Hello!"]), "a.txt");
 * const request = new Request("http://x/", { method: "POST", body: form });
 * const boundary = multipartBoundary(request.headers.get("content-type"))!;
 * for await (const part of parseMultipart(request.body!, boundary)) {
 *   console.log(part.name, part.filename, await new Response(part.body).text());
 * }
 * ```
 */
export async function* parseMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
): AsyncGenerator<MultipartPart> {
  const reader = body.getReader();
  const delimiter = ENCODER.encode(`\r\n--${boundary}`);
  // A leading CRLF lets the first boundary match the same delimiter.
  let buffer: Uint8Array = CRLF.slice();
  let done = false;

  const fill = async (): Promise<boolean> => {
    if (done) return false;
    const r = await reader.read();
    if (r.done) {
      done = true;
      return false;
    }
    if (buffer.byteLength === 0) {
      buffer = r.value;
      return true;
    }
    // Only a short unscanned tail is left when more is needed, so this copy
    // is one pass over each chunk, not a growing buffer.
    const merged = new Uint8Array(buffer.byteLength + r.value.byteLength);
    merged.set(buffer);
    merged.set(r.value, buffer.byteLength);
    buffer = merged;
    return true;
  };

  /** Drops everything up to and including the next delimiter; throws `message` if none comes. */
  const skipPastDelimiter = async (message: string): Promise<void> => {
    while (true) {
      const at = indexOf(buffer, delimiter);
      if (at !== -1) {
        buffer = buffer.subarray(at + delimiter.byteLength);
        return;
      }
      // Keep a tail that may hold the start of the delimiter.
      if (buffer.byteLength > delimiter.byteLength) {
        buffer = buffer.slice(buffer.byteLength - delimiter.byteLength);
      }
      if (!(await fill())) throw new MultipartError(message);
    }
  };

  try {
    // Preamble: skip to the first delimiter.
    await skipPastDelimiter("Multipart body has no boundary");

    while (true) {
      // After a delimiter: "--" ends the body, otherwise padding then CRLF.
      while (buffer.byteLength < 2) {
        if (!(await fill())) throw new MultipartError("Multipart body ends unexpectedly");
      }
      if (buffer[0] === 45 && buffer[1] === 45) return;
      let eol = indexOf(buffer, CRLF);
      while (eol === -1) {
        if (buffer.byteLength > 1024) throw new MultipartError("Malformed multipart boundary line");
        if (!(await fill())) throw new MultipartError("Multipart body ends unexpectedly");
        eol = indexOf(buffer, CRLF);
      }
      buffer = buffer.subarray(eol + 2);

      // Headers up to an empty line (which may come right away).
      let headerEnd: number;
      let headerBytes: Uint8Array;
      if (buffer.byteLength >= 2 && buffer[0] === 13 && buffer[1] === 10) {
        headerBytes = new Uint8Array(0);
        headerEnd = 2;
      } else {
        let at = indexOf(buffer, CRLFCRLF);
        while (at === -1) {
          if (buffer.byteLength > MAX_HEADER_BYTES) {
            throw new MultipartError("Multipart part headers are too large");
          }
          if (!(await fill())) throw new MultipartError("Multipart body ends unexpectedly");
          if (buffer.byteLength >= 2 && buffer[0] === 13 && buffer[1] === 10) break;
          at = indexOf(buffer, CRLFCRLF);
        }
        if (at === -1) {
          headerBytes = new Uint8Array(0);
          headerEnd = 2;
        } else {
          headerBytes = buffer.subarray(0, at);
          headerEnd = at + 4;
        }
      }
      const headers = parsePartHeaders(headerBytes);
      buffer = buffer.subarray(headerEnd);

      let name = "";
      let filename: string | undefined;
      const disposition = headers.get("content-disposition");
      if (disposition) {
        const [, ...params] = splitParams(disposition);
        for (const [k, v] of params) {
          if (k === "name") name = v;
          else if (k === "filename") filename = v;
          else if (k === "filename*") filename = decodeExtValue(v) ?? v;
        }
      }

      // The body: stream bytes until the next delimiter.
      let finished = false;
      let cancelled = false;
      const partBody = new ReadableStream<Uint8Array>({
        pull: async (c) => {
          while (true) {
            const at = indexOf(buffer, delimiter);
            if (at !== -1) {
              if (at > 0) c.enqueue(buffer.subarray(0, at));
              buffer = buffer.subarray(at + delimiter.byteLength);
              finished = true;
              c.close();
              return;
            }
            const safe = buffer.byteLength - delimiter.byteLength + 1;
            if (safe > 0) {
              // Views, not copies: buffers are never written after a fill.
              c.enqueue(buffer.subarray(0, safe));
              buffer = buffer.subarray(safe);
              return;
            }
            if (!(await fill())) {
              const error = new MultipartError("Multipart body ends inside a part");
              c.error(error);
              throw error;
            }
          }
        },
        cancel: () => {
          cancelled = true;
        },
      }, { highWaterMark: 0 });

      yield { name, filename, headers, body: partBody };

      if (!finished) {
        // The consumer skipped (or cancelled) the body: discard it up to the delimiter.
        if (!cancelled) await partBody.cancel().catch(() => {});
        await skipPastDelimiter("Multipart body ends inside a part");
      }
    }
  } finally {
    reader.releaseLock();
  }
}
