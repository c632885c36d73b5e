/**
 * Helpers shared by the upload, download and delete functions.
 *
 * @module
 */
import { type RequestCore, resolveRetryPolicy } from "../http.ts";
export { backoffMs, type RetryPolicy } from "../http.ts";
import type { Pagination } from "../pagination.ts";
import { FileTransferStatus, type RemoteFile } from "../types.ts";
import type { TransferResult } from "./types.ts";
import { fnmatchAny } from "./fnmatch.ts";

/** Normalizes a `filter` option to a list of globs (empty: everything). */
export function filterGlobs(filter: string | readonly string[] | undefined): string[] {
  if (filter === undefined) return [];
  const list = typeof filter === "string" ? [filter] : [...filter];
  return list.filter((glob) => glob !== "");
}

/** Whether `name` passes the filter globs (none: everything passes). */
export function passesFilter(name: string, globs: readonly string[]): boolean {
  return fnmatchAny(name, globs);
}

/**
 * Lists a project's files with `etag` (= `md5sum`) set as the Python SDK does: every page, or
 * the one `pagination` asks for. {@linkcode Client.listRemoteFiles} is this call.
 */
export async function listProjectFiles(
  core: RequestCore,
  projectId: string,
  signal?: AbortSignal,
  pagination?: Pagination,
): Promise<RemoteFile[]> {
  const files = await core.list<RemoteFile>({ path: ["files", projectId], signal }, pagination, 0);
  return files.map((file) => ({ ...file, etag: file.md5sum }));
}

/**
 * The results in the order of `names` (a name's result at a name's place); results of names
 * not listed keep their order, after the others.
 */
export function inOrder(
  results: readonly TransferResult[],
  names: readonly string[],
): TransferResult[] {
  const place = new Map(names.map((name, index) => [name, index]));
  const at = (r: TransferResult) => place.get(r.name) ?? names.length;
  return results.map((r, index) => ({ r, index }))
    .sort((a, b) => at(a.r) - at(b.r) || a.index - b.index)
    .map(({ r }) => r);
}

/** Fills in the defaults of a transfer's `retry` option (those of the request core). */
export const retryPolicy = resolveRetryPolicy;

/** Turns anything thrown into an `Error`. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The result of a file that failed with `error`. */
export function failedResult(result: TransferResult, error: unknown): TransferResult {
  return {
    ...result,
    status: FileTransferStatus.FAILED,
    reason: reasonOf(error),
    error: asError(error),
  };
}

/** One line describing an error, for a result's `reason`. */
export function reasonOf(error: unknown): string {
  const message = asError(error).message;
  return message.split("\n")[0];
}

/** An abort controller that also follows `parent`; `dispose` detaches it. */
export function childController(
  parent: AbortSignal | undefined,
): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  if (!parent) return { controller, dispose: () => {} };
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { controller, dispose: () => {} };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener("abort", onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener("abort", onAbort) };
}
