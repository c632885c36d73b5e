/**
 * The local side of push, pull and sync: every file of a folder that a sync
 * considers, with the stat fields the hash cache is keyed by.
 *
 * The walk is synchronous: for 20,000 files, a promise per `stat` costs
 * seconds where synchronous calls take a fraction of one (`fast_fs.ts`).
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fastStat } from "./fast_fs.ts";
import type { IgnoreRules } from "./ignore_rules.ts";

/**
 * Tells whether a relative path is left out of uploads: any part that starts
 * with `.` (hidden files and folders, `.qfieldsync`, temporary download files)
 * or ends with `~` (editor backups), and GeoPackage `-wal`/`-shm` sidecars,
 * which only hold uncheckpointed changes of their `.gpkg`.
 *
 * @example
 * ```ts
 * import { isIgnoredLocalName } from "@qfieldcloud/sdk";
 * isIgnoredLocalName(".git/config"); // true
 * isIgnoredLocalName("data.gpkg-wal"); // true
 * isIgnoredLocalName("DCIM/photo.jpg"); // false
 * ```
 */
export function isIgnoredLocalName(name: string): boolean {
  const parts = name.split("/");
  if (parts.some((part) => part.startsWith(".") || part.endsWith("~"))) return true;
  return /\.gpkg-(wal|shm)$/i.test(parts[parts.length - 1]);
}

/** A file found by {@linkcode scanLocalFiles}. */
export interface ScannedFile {
  /** Remote name: the path relative to the folder, `/`-separated. */
  name: string;
  /** The file's path, built from the folder given. */
  localPath: string;
  /** Size in bytes. */
  size: number;
  /** Modification time in milliseconds (with a fraction where the runtime gives one). */
  mtimeMs: number;
  /** Inode number, where the platform has one (0 otherwise). */
  ino: number;
}

/**
 * Lists the files below `localDir` that a transfer considers: those
 * {@linkcode isIgnoredLocalName} keeps and `rules` (the folder's
 * `.qfieldcloudignore`) does not ignore. Ignored folders are not entered.
 * Symbolic links are followed to files, not to folders, unless `links` is given: then
 * no link is followed, and the name of every link (to a file or a folder) is pushed to
 * `links` instead (a sync treats them as obstacles). The order is unspecified.
 *
 * @example
 * ```ts
 * import { scanLocalFiles } from "./local_scan.ts";
 * for (const file of await scanLocalFiles("./my-project")) console.log(file.name, file.mtimeMs);
 * ```
 */
export function scanLocalFiles(
  localDir: string,
  rules?: IgnoreRules,
  links?: string[],
): Promise<ScannedFile[]> {
  const files: ScannedFile[] = [];
  const visit = (dir: string, prefix: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      // The folder itself may not exist yet (a first pull); a vanished subfolder holds nothing.
      if ((error as { code?: string }).code === "ENOENT") return;
      throw error;
    }
    for (const entry of entries) {
      const name = prefix + entry.name;
      if (isIgnoredLocalName(name)) continue;
      const path = join(dir, entry.name);
      if (links && entry.isSymbolicLink()) {
        if (!rules?.ignores(name) && !rules?.ignoresFolder(name)) links.push(name);
      } else if (entry.isDirectory()) {
        if (!rules?.ignoresFolder(name)) visit(path, `${name}/`);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !rules?.ignores(name)) {
        const file = statFile(name, path);
        if (file) files.push(file);
      }
    }
  };
  try {
    visit(localDir, "");
  } catch (error) {
    return Promise.reject(error);
  }
  return Promise.resolve(files);
}

/** Stats one file again (after a GeoPackage checkpoint, say); undefined when it is gone. */
export function statScanned(name: string, localPath: string): Promise<ScannedFile | undefined> {
  return Promise.resolve(statFile(name, localPath));
}

function statFile(name: string, localPath: string): ScannedFile | undefined {
  try {
    const info = fastStat(localPath);
    if (!info.isFile) return undefined;
    return { name, localPath, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino };
  } catch {
    return undefined; // Vanished since the listing of its folder, or unreadable.
  }
}
