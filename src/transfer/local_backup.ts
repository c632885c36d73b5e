/**
 * Local bytes are moved, not destroyed: a file that a download replaces or a
 * `delete_local` removes can go to a backup folder, and a GeoPackage's
 * `-wal`/`-shm` sidecars never stay beside a new `.gpkg` (SQLite would apply
 * the old write-ahead log to the new file and corrupt it).
 *
 * @module
 */
import { copyFile, lstat, mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

/** The sidecars SQLite keeps beside a database in WAL mode. */
const SIDECAR_SUFFIXES = ["-wal", "-shm"] as const;

/** Whether a name is a GeoPackage (`.gpkg`, any case). */
export function isGeoPackage(name: string): boolean {
  return /\.gpkg$/i.test(name);
}

/**
 * Moves `localPath` to `backupDir/<name>` (`name` is `/`-separated, relative). A backup of
 * that name that is already there is kept: the new one gets `.1`, `.2`… appended. Resolves
 * with the backup's path, or `undefined` when there was nothing to move.
 *
 * @example
 * ```ts ignore
 * await moveToBackup("/data/survey/trees.gpkg", "/data/survey/.qfieldcloud/backups/t1", "trees.gpkg");
 * ```
 */
export async function moveToBackup(
  localPath: string,
  backupDir: string,
  name: string,
): Promise<string | undefined> {
  if (!(await exists(localPath))) return undefined;
  const target = await freePath(join(backupDir, ...name.split("/")));
  await mkdir(dirname(target), { recursive: true });
  await move(localPath, target);
  return target;
}

/**
 * Moves the `-wal`/`-shm` sidecars of the GeoPackage at `localPath` out of the way: into
 * `backupDir` under the file's relative name when given, else beside it under a name that says
 * why (`trees.gpkg-wal.before-download-20261207T001900Z~`), which uploads leave out. Resolves
 * with each move, to undo with {@linkcode moveBack}.
 *
 * @param localPath The `.gpkg` about to be replaced or removed.
 * @param name Its relative, `/`-separated name.
 * @param why A word for the name beside it, such as `download`.
 * @param backupDir Where backups go, if anywhere.
 */
export async function moveSidecarsAside(
  localPath: string,
  name: string,
  why: string,
  backupDir?: string,
): Promise<Moved[]> {
  const moved: Moved[] = [];
  for (const suffix of SIDECAR_SUFFIXES) {
    const sidecar = localPath + suffix;
    if (!(await exists(sidecar))) continue;
    if (backupDir !== undefined) {
      moved.push({ from: sidecar, to: (await moveToBackup(sidecar, backupDir, name + suffix))! });
      continue;
    }
    const aside = await freePath(`${sidecar}.before-${why}-${timestamp()}~`);
    await move(sidecar, aside);
    moved.push({ from: sidecar, to: aside });
  }
  return moved;
}

/** A file moved out of the way. */
export interface Moved {
  from: string;
  to: string;
}

/**
 * Undoes moves, last first, when what they made way for did not happen: each file goes back
 * to where it was, unless something has taken that place since.
 */
export async function moveBack(moved: readonly Moved[]): Promise<void> {
  for (const { from, to } of [...moved].reverse()) {
    if (!(await exists(from))) await move(to, from);
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

/** `path`, or `path.1`, `path.2`… whichever does not exist yet. */
async function freePath(path: string): Promise<string> {
  let candidate = path;
  for (let n = 1; await exists(candidate); n++) candidate = `${path}.${n}`;
  return candidate;
}

/** Renames, or copies then removes across file systems. */
async function move(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as { code?: string }).code !== "EXDEV") throw error;
    await copyFile(from, to);
    await rm(from);
  }
}

/** The time now as `20261207T001900Z`. */
function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}
