/**
 * Why a local folder cannot be used, said in a few words instead of the raw
 * `ENOTDIR: not a directory, mkdir '…'` of the call that failed.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { reasonOf } from "./failed_result.ts";

/** The reason, for a message such as `Cannot download into "X": <reason>`. */
export async function folderProblem(folder: string, error: unknown): Promise<string> {
  const { code, path } = (error ?? {}) as { code?: unknown; path?: unknown };
  if (code === "ENOTDIR" || code === "EEXIST") {
    const file = await nearestExisting(resolve(folder));
    return file === undefined || file === resolve(folder)
      ? "it is not a folder"
      : `"${file}" is a file, not a folder`;
  }
  if (code === "ENOENT") return "it does not exist";
  if (code === "EACCES" || code === "EPERM") {
    // The walk may fail deeper down: name the folder that was refused.
    return typeof path === "string" && resolve(path) !== resolve(folder)
      ? `permission denied on "${path}"`
      : "permission denied";
  }
  return reasonOf(error);
}

/** The path itself or its nearest ancestor that exists. */
async function nearestExisting(path: string): Promise<string | undefined> {
  for (let current = path;; current = dirname(current)) {
    if (await stat(current).then(() => true, () => false)) return current;
    if (dirname(current) === current) return undefined;
  }
}
