/**
 * The `filter` option of transfers: `fnmatch` globs on remote names.
 *
 * @module
 */
import { fnmatchAny } from "./fnmatch.ts";

/** Normalizes a `filter` option to a list of globs (empty: everything). */
export function filterGlobs(filter: string | readonly string[] | undefined): string[] {
  if (filter === undefined) return [];
  const list = typeof filter === "string" ? [filter] : [...filter];
  return list.filter((glob) => glob !== "");
}

/** Whether `name` passes the filter globs (none: everything passes). */
export function passesFilter(name: string, globs: readonly string[]): boolean {
  return fnmatchAny(name, globs);
}
