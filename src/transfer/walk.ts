/**
 * The local side of an upload: which files of a directory are project files,
 * under which remote names, and in which order.
 *
 * @module
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

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
 * Tells whether a relative path is left out of uploads: any part that starts
 * with `.` (hidden files and folders, `.qfieldsync`, temporary download files)
 * or ends with `~` (editor backups), and GeoPackage `-wal`/`-shm` sidecars,
 * which only hold uncheckpointed changes of their `.gpkg`.
 *
 * @example
 * ```ts
 * import { isIgnoredLocalName } from "./walk.ts";
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
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Lists the regular files below `localDir` that an upload considers, with
 * POSIX-style remote names, sorted by {@linkcode uploadOrder}. Ignored names
 * (see {@linkcode isIgnoredLocalName}) are skipped, and so are whole ignored
 * folders. Symbolic links are followed to files, not to folders (no loops).
 *
 * @example
 * ```ts
 * import { walkLocalFiles } from "./walk.ts";
 * for (const file of await walkLocalFiles("./my-project")) console.log(file.name, file.size);
 * ```
 */
export async function walkLocalFiles(localDir: string): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  const visit = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    await Promise.all(entries.map(async (entry) => {
      const name = prefix + entry.name;
      if (isIgnoredLocalName(name)) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await visit(path, `${name}/`);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        const info = await stat(path).catch(() => undefined);
        if (info?.isFile()) files.push({ name, localPath: path, size: info.size });
      }
    }));
  };
  await visit(localDir, "");
  return files.sort(uploadOrder);
}
