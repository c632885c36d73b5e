/**
 * One `readdir` per directory instead of a `stat` per file: for a download of
 * many small files into a fresh folder, a failing `stat` per file (and per
 * partial file) costs more CPU than the download itself.
 *
 * @module
 */
import { readdir } from "node:fs/promises";
import { basename, dirname } from "node:path";

/**
 * The names in a few directories, each read once, the first time it is asked
 * about. Callers ask before they write into a directory, so a listing shows
 * what was there before the transfer. A directory that cannot be read (other
 * than missing) rules nothing out.
 */
export class DirSnapshot {
  #listings = new Map<string, Promise<Listing>>();

  /**
   * The entries of `dir` whose name starts with `prefix` (all of them for `""`; none when `dir`
   * does not exist): a binary search in the names sorted once, so that asking for each of a
   * folder's thousands of files stays cheap.
   */
  async entriesStartingWith(dir: string, prefix: string): Promise<string[]> {
    const listing = await this.#listing(dir);
    const sorted = listing.sorted ??= [...listing.names].sort();
    // Names that start with `prefix` follow each other in code unit order, from the first
    // name not below it.
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (sorted[middle] < prefix) low = middle + 1;
      else high = middle;
    }
    const found: string[] = [];
    for (let i = low; i < sorted.length && sorted[i].startsWith(prefix); i++) found.push(sorted[i]);
    return found;
  }

  /**
   * False only when `path` certainly did not exist. The comparison ignores
   * case and Unicode normalization, so that a file on a case-insensitive or
   * normalizing file system is still found; callers confirm with `stat`.
   */
  async mayExist(path: string): Promise<boolean> {
    const listing = await this.#listing(dirname(path));
    return listing.keys === undefined || listing.keys.has(lookupKey(basename(path)));
  }

  #listing(dir: string) {
    let listing = this.#listings.get(dir);
    if (!listing) {
      listing = readdir(dir).then(
        (names): Listing => ({ names, keys: new Set(names.map(lookupKey)) }),
        (error): Listing => {
          // A missing directory holds nothing; any other failure tells nothing.
          const code = (error as { code?: string }).code;
          return {
            names: [],
            keys: code === "ENOENT" || code === "ENOTDIR" ? new Set() : undefined,
          };
        },
      );
      this.#listings.set(dir, listing);
    }
    return listing;
  }
}

/** A directory's names, and their lookup keys (none when the directory could not be read). */
interface Listing {
  names: string[];
  keys: Set<string> | undefined;
  /** The names in code unit order, once a prefix was asked for. */
  sorted?: string[];
}

function lookupKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}
