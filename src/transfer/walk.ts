/**
 * The local side of an upload: which files of a directory are project files,
 * under which remote names, and in which order.
 *
 * @module
 */
import { readdir } from "node:fs/promises";
import type { IgnoreRules } from "./ignore_rules.ts";
import { isIgnoredLocalName, scanLocalFiles } from "./local_scan.ts";

export { isIgnoredLocalName };

/** A file found by {@linkcode walkLocalFiles}. */
export interface LocalFile {
  /** Remote name: the path relative to the walked directory, with `/` separators. */
  name: string;
  /** Absolute or walk-relative local path, as built from the directory given. */
  localPath: string;
  /** Size in bytes at walk time. */
  size: number;
}

/**
 * Tells whether a name is a QGIS project file (`.qgs` or `.qgz`, any case).
 * Uploading one starts a server job, so they go last.
 *
 * @example
 * ```ts
 * import { isQgisProjectFile } from "./walk.ts";
 * isQgisProjectFile("survey.QGZ"); // true
 * ```
 */
export function isQgisProjectFile(name: string): boolean {
  return /\.(qgs|qgz)$/i.test(name);
}

/**
 * Sorts names for upload: by name, QGIS project files last.
 *
 * @example
 * ```ts
 * import { uploadOrder } from "./walk.ts";
 * ["b.qgz", "a.gpkg"].sort(uploadOrder); // ["a.gpkg", "b.qgz"]
 * ```
 */
export function uploadOrder(a: { name: string } | string, b: { name: string } | string): number {
  const x = typeof a === "string" ? a : a.name;
  const y = typeof b === "string" ? b : b.name;
  const qx = isQgisProjectFile(x);
  const qy = isQgisProjectFile(y);
  if (qx !== qy) return qx ? 1 : -1;
  return byName(x, y);
}

/** Orders names by their UTF-16 code units, as the plans list files. */
export function byName(a: { name: string } | string, b: { name: string } | string): number {
  const x = typeof a === "string" ? a : a.name;
  const y = typeof b === "string" ? b : b.name;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Lists the regular files below `localDir` that an upload considers, with
 * POSIX-style remote names, sorted by {@linkcode uploadOrder}: the walk of
 * push, pull and sync ({@linkcode scanLocalFiles}), with its name rules
 * ({@linkcode isIgnoredLocalName}). Whole ignored folders are skipped.
 * Symbolic links are followed to files, not to folders (no loops). A missing
 * `localDir` is an error. With `rules` (a folder's `.qfieldcloudignore`), what
 * they ignore is left out.
 *
 * @example
 * ```ts
 * import { walkLocalFiles } from "./walk.ts";
 * for (const file of await walkLocalFiles("./my-project")) console.log(file.name, file.size);
 * ```
 */
export async function walkLocalFiles(
  localDir: string,
  rules?: IgnoreRules,
): Promise<LocalFile[]> {
  const files = await scanLocalFiles(localDir, rules);
  // The scan takes a missing folder for an empty one; here it is an error.
  if (files.length === 0) await readdir(localDir);
  return files.map(({ name, localPath, size }) => ({ name, localPath, size })).sort(uploadOrder);
}
