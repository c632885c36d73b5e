/**
 * The partial file of a download: where the bytes go until the file is
 * complete and checked, kept after an interruption so that the next try (or
 * the next run) resumes it with `Range`.
 *
 * @module
 */
import { rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { DirSnapshot } from "./dir_snapshot.ts";

const TEMP_PREFIX = ".qfc-";
const TEMP_SUFFIX = ".part";

/**
 * The temporary file of a download: hidden (so uploads skip it), beside the
 * target (so the rename is atomic), named after the file and the expected
 * content (so a resume only continues the same content).
 *
 * @param localPath The file the download will become.
 * @param etag The expected etag, if known.
 * @param version The version downloaded, if not the latest.
 */
export function partialPathFor(localPath: string, etag?: string, version?: string): string {
  const content = etag ?? (version ? `version:${version}` : "");
  return join(
    dirname(localPath),
    `${tempPrefix(localPath)}${shortHash(content)}${TEMP_SUFFIX}`,
  );
}

function tempPrefix(localPath: string): string {
  return `${TEMP_PREFIX}${shortHash(basename(localPath))}-`;
}

/**
 * 64 bits of a name, as hex, for temporary file names: two 32-bit FNV-1a
 * hashes from different starting points. In plain JavaScript, because three
 * calls into `node:crypto` per name cost more than a small file's write.
 */
function shortHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** Removes partial files left for older contents of the same file. */
export async function removeStalePartials(dirs: DirSnapshot, temp: string): Promise<void> {
  const dir = dirname(temp);
  const current = basename(temp);
  const prefix = current.slice(0, current.lastIndexOf("-") + 1); // the target's part of the name
  for (const entry of await dirs.entriesStartingWith(dir, TEMP_PREFIX)) {
    if (entry.startsWith(prefix) && entry.endsWith(TEMP_SUFFIX) && entry !== current) {
      await rm(join(dir, entry), { force: true }).catch(() => {});
    }
  }
}
