/**
 * The `delete_local` action: one local file moved to the backup folder when
 * the plan gives one, else unlinked. A GeoPackage's `-wal`/`-shm` go with it
 * (or aside, never destroyed).
 *
 * @module
 */
import { lstat, rm } from "node:fs/promises";
import { QfcException } from "../../errors.ts";
import { FileTransferStatus } from "../../types.ts";
import { isGeoPackage, moveSidecarsAside, moveToBackup } from "../local_backup.ts";
import type { ActionOutcome, ActionRunner } from "./context.ts";

/** Removes one local file; one that is already gone counts as removed. */
export const deleteLocal: ActionRunner = {
  async attempt(ctx, action): Promise<ActionOutcome> {
    ctx.tracker.start(action.name, action.size);
    const info = await lstat(action.localPath).catch(() => undefined);
    if (info?.isDirectory()) {
      throw new QfcException(`Cannot delete "${action.localPath}": it is a folder, not a file`);
    }
    if (info) {
      if (action.backupDir !== undefined) {
        await moveToBackup(action.localPath, action.backupDir, action.name);
      } else {
        await rm(action.localPath);
      }
    }
    if (isGeoPackage(action.localPath)) {
      await moveSidecarsAside(action.localPath, action.name, "delete", action.backupDir);
    }
    return { status: FileTransferStatus.SUCCESS, size: action.size };
  },
  retryable: () => false,
};
