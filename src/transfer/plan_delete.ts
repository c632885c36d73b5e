/**
 * Deciding a deletion of cloud files by glob: one listing, the names that
 * match any glob, sorted.
 *
 * @module
 */
import type { RequestCore } from "../http.ts";
import { listProjectFiles } from "./common.ts";
import { fnmatch } from "./fnmatch.ts";
import type { TransferPlan } from "./plan.ts";

/** Plans the deletion of the project files whose names match any of `globs`. */
export async function planRemoteDeletes(
  core: RequestCore,
  projectId: string,
  globs: readonly string[],
  signal?: AbortSignal,
): Promise<TransferPlan> {
  const listed = await listProjectFiles(core, projectId, signal);
  const matched = listed
    .filter((file) => globs.some((glob) => fnmatch(file.name, glob)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    actions: matched.map((file) => ({
      kind: "delete_remote",
      name: file.name,
      localPath: "",
      size: file.size,
      reason: "Matches the globs",
    })),
    settled: [],
  };
}
