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
  #filtered = new Map<string, Promise<string[]>>();

  /** The entries of `dir` (none when it does not exist). */
  async entries(dir: string): Promise<string[]> {
    return (await this.#listing(dir)).names;
  }

  /** The entries of `dir` whose name starts with `prefix` (filtered once per directory). */
  entriesStartingWith(dir: string, prefix: string): Promise<string[]> {
    const key = `${prefix}\0${dir}`;
    let filtered = this.#filtered.get(key);
    if (!filtered) {
      filtered = this.entries(dir).then((names) => names.filter((n) => n.startsWith(prefix)));
      this.#filtered.set(key, filtered);
    }
    return filtered;
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
}

function lookupKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}
