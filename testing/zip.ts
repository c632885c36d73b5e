/**
 * Reads one file out of a zip archive, as the test server needs for `.qgz`
 * projects. The archive format is left to `fflate` (stored and deflated
 * entries, read from the central directory).
 *
 * @module
 */
import { unzipSync } from "fflate";

/**
 * Whether bytes start like a zip archive (a local file header, `PK\x03\x04`).
 *
 * @example
 * ```ts
 * import { isZip } from "./zip.ts";
 * isZip(new TextEncoder().encode("<qgis/>")); // false
 * ```
 */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 &&
    bytes[3] === 4;
}

/** A file read from a zip archive. */
export interface ZipFile {
  /** Name of the entry, `/`-separated. */
  name: string;
  /** Its uncompressed content. */
  content: Uint8Array;
}

/**
 * The first entry of a zip archive whose name passes `wanted`, uncompressed;
 * undefined when none does. Only that entry is inflated.
 *
 * @throws {Error} from `fflate` for a damaged archive or an unsupported compression method.
 * @example
 * ```ts
 * import { zipSync } from "fflate";
 * import { readZipFile } from "./zip.ts";
 * const archive = zipSync({ "a.txt": new TextEncoder().encode("a") });
 * readZipFile(archive, (name) => name.endsWith(".txt"))?.name; // "a.txt"
 * ```
 */
export function readZipFile(
  bytes: Uint8Array,
  wanted: (name: string) => boolean,
): ZipFile | undefined {
  let first: string | undefined;
  const files = unzipSync(bytes, {
    filter: ({ name }) => {
      if (first !== undefined || !wanted(name)) return false;
      first = name;
      return true;
    },
  });
  return first === undefined ? undefined : { name: first, content: files[first] };
}
