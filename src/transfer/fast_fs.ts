/**
 * The file-system calls a transfer makes once per file, through Deno's own
 * API when the process runs on Deno and through `node:fs` elsewhere. On Deno,
 * `node:fs` is a layer over the same system calls that costs more per call:
 * its `writeFile` is three operations (open, write, close) where
 * `Deno.writeFile` is one, its `utimes` and `rename` add a promise wrapper,
 * and its `statSync` builds four `Date`s (three times slower than
 * `Deno.statSync`). Errors carry the same `code` (`ENOENT`, `EISDIR`, ...)
 * either way.
 *
 * On Deno, a rename or a change of times (some 20 µs on a local disk) is
 * made synchronously: handing it to the runtime's thread pool costs the
 * calling thread more than the call itself, and a download of 1000 small
 * files makes 2000 of them. A network share answers in milliseconds, so once
 * these calls turn out slow (see {@linkcode MetadataTimer}), the process makes
 * them asynchronously, and a slow file system never holds up other transfers.
 *
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { rename, utimes, writeFile } from "node:fs/promises";

/** What {@linkcode fastStat} tells of a path. */
export interface FastStat {
  isFile: boolean;
  isDirectory: boolean;
  size: number;
  mtimeMs: number;
  /** 0 where the platform has none. */
  ino: number;
}

/** The part of Deno's API used here, so that the module type-checks and runs elsewhere too. */
interface DenoFs {
  statSync(path: string): {
    isFile: boolean;
    isDirectory: boolean;
    size: number;
    mtime: Date | null;
    ino: number | null;
  };
  readFileSync(path: string): Uint8Array<ArrayBuffer>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  utime(path: string, atime: Date, mtime: Date): Promise<void>;
  utimeSync(path: string, atime: Date, mtime: Date): void;
  rename(from: string, to: string): Promise<void>;
  renameSync(from: string, to: string): void;
}
const deno = (globalThis as { Deno?: DenoFs }).Deno;

/**
 * Stats `path` (following symbolic links), synchronously: for many small files a
 * synchronous call costs less than a promise per `stat`. Throws as `statSync` does
 * when it is missing.
 *
 * @example
 * ```ts
 * import { fastStat } from "./fast_fs.ts";
 * const info = fastStat(".");
 * console.log(info.isDirectory); // true
 * ```
 */
export function fastStat(path: string): FastStat {
  if (deno) {
    const info = deno.statSync(path);
    return {
      isFile: info.isFile,
      isDirectory: info.isDirectory,
      size: info.size,
      mtimeMs: info.mtime?.getTime() ?? 0,
      ino: info.ino ?? 0,
    };
  }
  const info = statSync(path);
  return {
    isFile: info.isFile(),
    isDirectory: info.isDirectory(),
    size: info.size,
    mtimeMs: info.mtimeMs,
    ino: Number(info.ino),
  };
}

/** Reads a whole (small) file, synchronously, in one operation where the runtime has one. */
export function readWholeFileSync(path: string): Uint8Array<ArrayBuffer> {
  return deno ? deno.readFileSync(path) : new Uint8Array(readFileSync(path));
}

/** Creates or replaces `path` with `bytes`, in one operation where the runtime has one. */
export function writeWholeFile(path: string, bytes: Uint8Array): Promise<void> {
  return deno ? deno.writeFile(path, bytes) : writeFile(path, bytes);
}

/**
 * Decides whether metadata calls are still made synchronously: no longer once more than
 * half of 8 or more recent calls took over 1 ms (a network share; a local disk takes some 20 µs),
 * or once one call takes 50 ms (a share far away, found at its first call). Most calls, not
 * each: on a busy machine a fast call is held up by the scheduler now and then. (While a
 * call holds the thread, the stall detection of downloads does not count that time.)
 *
 * @example
 * ```ts
 * import { MetadataTimer } from "./fast_fs.ts";
 * const timer = new MetadataTimer();
 * timer.time(() => Deno.renameSync("a.part", "a.txt"));
 * console.log(timer.inline); // true on a local disk
 * ```
 */
export class MetadataTimer {
  #inline = true;
  #calls = 0;
  #slowCalls = 0;
  #now: () => number;

  /** @param now The clock, in milliseconds. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Whether the next call is to be made synchronously. */
  get inline(): boolean {
    return this.#inline;
  }

  /** Runs `call` synchronously and records how long it took (also when it throws). */
  time(call: () => void): void {
    const start = this.#now();
    try {
      call();
    } finally {
      const ms = this.#now() - start;
      this.#calls++;
      if (ms > 1) this.#slowCalls++;
      // Recent calls weigh most: a share mounted later in a long-lived process is still noticed.
      if (this.#calls >= 64) {
        this.#calls /= 2;
        this.#slowCalls /= 2;
      }
      if (ms > 50 || (this.#calls >= 8 && this.#slowCalls * 2 > this.#calls)) this.#inline = false;
    }
  }
}

const metadataTimer = new MetadataTimer();

/** Sets the access and modification times of `path`. */
export async function setFileTimes(path: string, atime: Date, mtime: Date): Promise<void> {
  if (!deno) return await utimes(path, atime, mtime);
  if (!metadataTimer.inline) return await deno.utime(path, atime, mtime);
  metadataTimer.time(() => deno.utimeSync(path, atime, mtime));
}

/** Renames `from` to `to`, replacing a file there (atomically on one file system). */
export async function renamePath(from: string, to: string): Promise<void> {
  if (!deno) return await rename(from, to);
  if (!metadataTimer.inline) return await deno.rename(from, to);
  metadataTimer.time(() => deno.renameSync(from, to));
}
