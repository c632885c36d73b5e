/**
 * Bounded concurrency: run an async task per item, at most N at a time.
 *
 * @module
 */

/** Default number of files transferred at the same time. */
export const DEFAULT_CONCURRENCY = 8;

/**
 * Runs `task` for every item with at most `concurrency` tasks in flight, and
 * resolves with the results in item order. The first task that throws stops
 * the pool from starting new tasks; the ones already running are awaited and
 * then the error is rethrown. An aborted `signal` works the same way, with its
 * reason as the error.
 *
 * @example Hash files four at a time
 * ```ts
 * import { runPool } from "./pool.ts";
 * import { etagOfFile } from "./file_etag.ts";
 * const etags = await runPool(["a.gpkg", "b.gpkg"], 4, (path) => etagOfFile(path));
 * ```
 *
 * @param items The work items.
 * @param concurrency Most tasks at the same time; values below 1 count as 1.
 * @param task Called once per item with the item and its index.
 * @param signal Stops starting new tasks when aborted.
 */
export async function runPool<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      if (signal?.aborted) {
        failure ??= { error: signal.reason };
        return;
      }
      const index = next++;
      try {
        results[index] = await task(items[index], index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const width = Math.max(1, Math.min(Math.floor(concurrency) || 1, items.length));
  await Promise.all(Array.from({ length: width }, worker));
  if (failure) throw failure.error;
  return results;
}
