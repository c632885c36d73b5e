/**
 * GeoPackages open in QGIS keep their latest edits in a `-wal` sidecar until
 * SQLite checkpoints them into the `.gpkg`. Uploading the `.gpkg` alone would
 * upload stale data, so a push or sync first checkpoints it with
 * `PRAGMA wal_checkpoint(TRUNCATE)` through `node:sqlite` (imported only when
 * needed, so the library still loads where the runtime lacks it).
 *
 * @module
 */
import { asError } from "./failed_result.ts";
import { stat } from "node:fs/promises";
import { QfcException } from "../errors.ts";

/** A WAL file starts with a 32-byte header; anything beyond it is frames. */
const WAL_HEADER_SIZE = 32;

/** Thrown when a GeoPackage's `-wal` holds frames that cannot be checkpointed. */
export class QfcGpkgCheckpointException extends QfcException {}

/**
 * Whether the `-wal` sidecar of the GeoPackage at `path` holds frames (edits that
 * may not be in the `.gpkg` yet).
 *
 * @example
 * ```ts
 * import { walHasFrames } from "@qfieldcloud/sdk";
 * if (await walHasFrames("data.gpkg")) console.log("QGIS has unsaved edits in data.gpkg-wal");
 * ```
 */
export async function walHasFrames(path: string): Promise<boolean> {
  const info = await stat(`${path}-wal`).catch(() => undefined);
  return info !== undefined && info.isFile() && info.size > WAL_HEADER_SIZE;
}

/** Options of {@linkcode checkpointGpkg}. */
export interface CheckpointGpkgOptions {
  /** How long to wait for other connections to let go, in milliseconds. Default 2000. */
  busyTimeoutMs?: number;
}

/**
 * Writes the frames of a GeoPackage's `-wal` into the `.gpkg` and empties the
 * `-wal`. Throws {@linkcode QfcGpkgCheckpointException}, saying what to do, when
 * the runtime has no `node:sqlite` or another connection keeps the checkpoint
 * from completing.
 *
 * @example
 * ```ts
 * import { checkpointGpkg, walHasFrames } from "@qfieldcloud/sdk";
 * if (await walHasFrames("data.gpkg")) await checkpointGpkg("data.gpkg");
 * ```
 */
export async function checkpointGpkg(
  path: string,
  options: CheckpointGpkgOptions = {},
): Promise<void> {
  const sqlite = await loadSqlite();
  if (!sqlite) {
    throw new QfcGpkgCheckpointException(
      `GeoPackage "${path}" has edits in its -wal file that this runtime cannot write into ` +
        "it (it has no node:sqlite): close the layer in QGIS (which writes them) or run with " +
        "Deno or Node 22.5 or later, then try again",
    );
  }
  let busy: boolean;
  try {
    const db = new sqlite.DatabaseSync(path);
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 2000))}`);
      const row = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as
        | { busy?: number }
        | undefined;
      busy = row?.busy !== 0;
    } finally {
      db.close();
    }
  } catch (error) {
    throw new QfcGpkgCheckpointException(
      `Could not write the -wal edits of "${path}" into it (${asError(error).message}): ` +
        "close the layer in QGIS or QField and try again",
      { cause: error },
    );
  }
  if (busy) {
    throw new QfcGpkgCheckpointException(
      `GeoPackage "${path}" is in use, so its -wal edits could not be written into it: ` +
        "save and close the layer in QGIS or QField and try again",
    );
  }
}

type SqliteModule = typeof import("node:sqlite");
let sqliteModule: Promise<SqliteModule | undefined> | undefined;

function loadSqlite(): Promise<SqliteModule | undefined> {
  // Imported on first use: a runtime without node:sqlite (Node 20) still loads the library.
  sqliteModule ??= import("node:sqlite").catch(() => undefined);
  return sqliteModule;
}
