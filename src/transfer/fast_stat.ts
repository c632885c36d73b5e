/**
 * A synchronous `stat` of the fields transfers use. On Deno it is
 * `Deno.statSync`, three times faster than `node:fs`'s `statSync` there
 * (which builds four `Date`s per call); elsewhere `node:fs`. For many small
 * files, a synchronous call also costs less than a promise per `stat`.
 *
 * @module
 */
import { statSync } from "node:fs";

/** What {@linkcode fastStat} tells of a path. */
export interface FastStat {
  isFile: boolean;
  isDirectory: boolean;
  size: number;
  mtimeMs: number;
  /** 0 where the platform has none. */
  ino: number;
}

interface DenoStat {
  statSync(path: string): {
    isFile: boolean;
    isDirectory: boolean;
    size: number;
    mtime: Date | null;
    ino: number | null;
  };
}
const deno = (globalThis as { Deno?: DenoStat }).Deno;

/**
 * Stats `path` (following symbolic links); throws as `statSync` does when it is missing.
 *
 * @example
 * ```ts
 * import { fastStat } from "./fast_stat.ts";
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
