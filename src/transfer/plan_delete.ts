/**
 * Deciding a deletion of cloud files by glob: one listing, the names that
 * match any glob, sorted.
 *
 * @module
 */
import type { RequestCore } from "../http.ts";
import { listProjectFiles } from "./project_listing.ts";
import { fnmatch } from "./fnmatch.ts";
import { IGNORE_FILE_NAME, type IgnoreRules } from "./ignore_rules.ts";
import type { TransferPlan } from "./plan.ts";
import { byName } from "./walk.ts";
import { FileTransferStatus } from "../types.ts";

/** Plans the deletion of the project files whose names match any of `globs`. */
export async function planRemoteDeletes(
  core: RequestCore,
  projectId: string,
  globs: readonly string[],
  signal?: AbortSignal,
  ignore?: IgnoreRules,
): Promise<TransferPlan> {
  const listed = await listProjectFiles(core, projectId, signal);
  const all = listed
    .filter((file) => globs.some((glob) => fnmatch(file.name, glob)))
    .sort(byName);
  const matched = all.filter((file) => !ignore?.ignores(file.name));
  return {
    actions: matched.map((file) => ({
      kind: "delete_remote",
      name: file.name,
      localPath: "",
      size: file.size,
      reason: "Matches the globs",
    })),
    // Named by the glob but protected by the ignore file: reported, so that the user sees why.
    settled: all.filter((file) => ignore?.ignores(file.name)).map((file) => ({
      name: file.name,
      status: FileTransferStatus.SKIPPED,
      reason: `Ignored by ${IGNORE_FILE_NAME}`,
      size: file.size,
    })),
  };
}
