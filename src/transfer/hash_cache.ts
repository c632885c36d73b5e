/**
 * Local etags remembered between runs, so that a sync of an unchanged folder
 * reads no file: an entry is keyed by the file's relative name, size,
 * modification time and inode, and is trusted while all four are unchanged.
 *
 * The "racy git" rule: a file modified within the modification-time
 * granularity of the moment it was hashed could change again without its
 * mtime moving, so its entry is not trusted and it is hashed again next time.
 *
 * @module
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { etagOfFileOfSize } from "./file_etag.ts";
import type { ScannedFile } from "./local_scan.ts";
import { STATE_DIR_NAME } from "./sync_state.ts";

const CACHE_NAME = "hash-cache.json";
const FORMAT_VERSION = 1;

/** One remembered hash: size, mtime, inode, etag, and when its hashing started. */
interface Entry {
  s: number;
  m: number;
  i: number;
  e: string;
  h: number;
}

/**
 * The hash cache of one folder, kept in `LOCAL_DIR/.qfieldcloud/hash-cache.json`.
 *
 * @example
 * ```ts
 * import { HashCache } from "./hash_cache.ts";
 * import { scanLocalFiles } from "./local_scan.ts";
 * const cache = HashCache.load("./my-project");
 * for (const file of await scanLocalFiles("./my-project")) {
 *   console.log(file.name, await cache.etag(file));
 * }
 * cache.save();
 * ```
 */
export class HashCache {
  readonly #path: string;
  readonly #entries: Map<string, Entry>;
  #changed = false;
  /** Files read since the cache was loaded (the benchmark checks a no-op sync reads none). */
  hashed = 0;

  private constructor(path: string, entries: Map<string, Entry>) {
    this.#path = path;
    this.#entries = entries;
  }

  /** Reads the cache of `localDir`; a missing or corrupt cache is empty (it only saves time). */
  static load(localDir: string): HashCache {
    const path = join(localDir, STATE_DIR_NAME, CACHE_NAME);
    const entries = new Map<string, Entry>();
    try {
      const value = JSON.parse(readFileSync(path, "utf8"));
      if (value?.version === FORMAT_VERSION && typeof value.files === "object") {
        for (const [name, entry] of Object.entries(value.files as Record<string, Entry>)) {
          if (typeof entry?.e === "string") entries.set(name, entry);
        }
      }
    } catch {
      // Missing or corrupt: every file is hashed.
    }
    return new HashCache(path, entries);
  }

  /** The remembered etag of `file`, when its stat is unchanged and it was not racily hashed. */
  lookup(file: ScannedFile): string | undefined {
    const entry = this.#entries.get(file.name);
    if (
      !entry || entry.s !== file.size || entry.m !== file.mtimeMs || entry.i !== file.ino ||
      isRacy(file.mtimeMs, entry.h)
    ) return undefined;
    return entry.e;
  }

  /** Remembers `etag` for `file` as stat'ed, hashed from `hashStartedMs` on. */
  remember(file: ScannedFile, etag: string, hashStartedMs: number): void {
    this.#entries.set(file.name, {
      s: file.size,
      m: file.mtimeMs,
      i: file.ino,
      e: etag,
      h: hashStartedMs,
    });
    this.#changed = true;
  }

  /** Forgets `name` (a file deleted or replaced). */
  forget(name: string): void {
    if (this.#entries.delete(name)) this.#changed = true;
  }

  /** The etag of `file`: from the cache, or read and hashed (and remembered). */
  async etag(file: ScannedFile): Promise<string> {
    const cached = this.lookup(file);
    if (cached !== undefined) return cached;
    const started = Date.now();
    this.hashed++;
    const etag = await etagOfFileOfSize(file.localPath, file.size);
    this.remember(file, etag, started);
    return etag;
  }

  /**
   * Keeps only the entries of `names` (files that still exist) and writes the cache
   * atomically when it changed. Fails silently: the cache only saves time.
   */
  save(names?: Iterable<string>): void {
    if (names) {
      const keep = new Set(names);
      for (const name of this.#entries.keys()) {
        if (!keep.has(name)) this.forget(name);
      }
    }
    if (!this.#changed) return;
    try {
      const temp = `${this.#path}.${Date.now()}.tmp`;
      writeFileSync(
        temp,
        JSON.stringify({ version: FORMAT_VERSION, files: Object.fromEntries(this.#entries) }),
      );
      renameSync(temp, this.#path);
      this.#changed = false;
    } catch {
      // No state folder (a dry run) or a read-only one: next time hashes again.
    }
  }
}

/**
 * Whether a file with modification time `mtimeMs` may have been written again after
 * its hashing started at `hashStartedMs` without its mtime changing. The granularity is
 * 2 s on file systems that keep whole seconds (FAT keeps two) and 50 ms otherwise (Linux
 * stamps files from a clock that ticks every 1 to 10 ms).
 */
export function isRacy(mtimeMs: number, hashStartedMs: number): boolean {
  const granularity = mtimeMs % 1000 === 0 ? 2000 : 50;
  return mtimeMs >= hashStartedMs - granularity;
}
