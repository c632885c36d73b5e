/**
 * The `delete_local` action: one local file moved to the backup folder when
 * the plan gives one, else unlinked only if it still holds the bytes the plan
 * decided on (its etag), which the cloud had. A GeoPackage's `-wal`/`-shm`
 * go with it (or aside, never destroyed). With `localDir`, nothing outside it
 * is touched, symbolic links followed.
 *
 * @module
 */
import { lstat, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { QfcException } from "../../errors.ts";
import { FileTransferStatus } from "../../types.ts";
import { etagOfFileOfSize } from "../file_etag.ts";
import { assertRealInside } from "../inside_root.ts";
import { isGeoPackage, moveSidecarsAside, moveToBackup } from "../local_backup.ts";
import type { ActionOutcome, ActionRunner } from "./context.ts";

/** Removes one local file; one that is already gone counts as removed. */
export const deleteLocal: ActionRunner = {
  async attempt(ctx, action): Promise<ActionOutcome> {
    ctx.tracker.start(action.name, action.size);
    const info = await lstat(action.localPath).catch(() => undefined);
    const parent = dirname(action.localPath);
    if (ctx.localDir !== undefined && await lstat(parent).then(() => true, () => false)) {
      await assertRealInside(ctx.localDir, parent); // before the file or its sidecars move
    }
    if (info?.isDirectory()) {
      throw new QfcException(`Cannot delete "${action.localPath}": it is a folder, not a file`);
    }
    if (info) {
      if (action.backupDir !== undefined) {
        await moveToBackup(action.localPath, action.backupDir, action.name);
      } else {
        await unlinkIfUnchanged(action.localPath, info.size, action.etag);
      }
    }
    if (isGeoPackage(action.localPath)) {
      await moveSidecarsAside(action.localPath, action.name, "delete", action.backupDir);
    }
    return { status: FileTransferStatus.SUCCESS, size: action.size };
  },
  retryable: () => false,
};

/** Unlinks a file only if it still has `etag`: bytes nobody checked are never destroyed. */
async function unlinkIfUnchanged(path: string, size: number, etag: string | undefined) {
  if (etag === undefined) {
    throw new QfcException(
      `Cannot delete "${path}" without a backup folder: the plan gives no etag to check it against`,
    );
  }
  const actual = await etagOfFileOfSize(path, size);
  if (actual !== etag) {
    throw new QfcException(
      `Cannot delete "${path}": it changed since the plan (etag "${actual}", expected "${etag}")`,
    );
  }
  await rm(path);
}
