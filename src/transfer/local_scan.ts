/**
 * The local side of push, pull and sync: every file of a folder that a sync
 * considers, with the stat fields the hash cache is keyed by.
 *
 * @module
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { IgnoreRules } from "./ignore_rules.ts";
import { isIgnoredLocalName } from "./walk.ts";

/** A file found by {@linkcode scanLocalFiles}. */
export interface ScannedFile {
  /** Remote name: the path relative to the folder, `/`-separated. */
  name: string;
  /** The file's path, built from the folder given. */
  localPath: string;
  /** Size in bytes. */
  size: number;
  /** Modification time in milliseconds (with a fraction where the file system keeps one). */
  mtimeMs: number;
  /** Inode number, where the platform has one (0 otherwise). */
  ino: number;
}

/**
 * Lists the files below `localDir` that a transfer considers: those
 * {@linkcode isIgnoredLocalName} keeps and `rules` (the folder's
 * `.qfieldcloudignore`) does not ignore. Ignored folders are not entered.
 * Symbolic links are followed to files, not to folders. The order is unspecified.
 *
 * @example
 * ```ts
 * import { scanLocalFiles } from "./local_scan.ts";
 * for (const file of await scanLocalFiles("./my-project")) console.log(file.name, file.mtimeMs);
 * ```
 */
export async function scanLocalFiles(
  localDir: string,
  rules?: IgnoreRules,
): Promise<ScannedFile[]> {
  const files: ScannedFile[] = [];
  const visit = async (dir: string, prefix: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      // The folder itself may not exist yet (a first pull); a vanished subfolder holds nothing.
      if ((error as { code?: string }).code === "ENOENT") return;
      throw error;
    }
    await Promise.all(entries.map(async (entry) => {
      const name = prefix + entry.name;
      if (isIgnoredLocalName(name)) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!rules?.ignoresFolder(name)) await visit(path, `${name}/`);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !rules?.ignores(name)) {
        const file = await statScanned(name, path);
        if (file) files.push(file);
      }
    }));
  };
  await visit(localDir, "");
  return files;
}

/** Stats one file again (after a GeoPackage checkpoint, say); undefined when it is gone. */
export async function statScanned(
  name: string,
  localPath: string,
): Promise<ScannedFile | undefined> {
  const info = await stat(localPath).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  return { name, localPath, size: info.size, mtimeMs: info.mtimeMs, ino: Number(info.ino ?? 0) };
}
