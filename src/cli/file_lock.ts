/**
 * A lock between processes: a lock file created with O_EXCL (`createNew`), so
 * that two CLI runs sharing one credentials file (two cron jobs, say) do not
 * both renew a single sign-on session: with rotating refresh tokens, the second
 * refresh would fail. A lock file older than `staleMs` was left by a run that
 * died; it is removed.
 *
 * @module
 */

import { dirname } from "node:path";

/** Options of {@linkcode withFileLock}. */
export interface FileLockOptions {
  /** A lock older than this is left over from a dead run and is taken over. Default 2 minutes. */
  staleMs?: number;
  /** How often to look again while another run holds the lock. Default 50 ms. */
  pollMs?: number;
}

const DEFAULT_STALE_MS = 2 * 60_000;
const DEFAULT_POLL_MS = 50;

async function tryCreate(path: string): Promise<boolean> {
  try {
    const file = await Deno.open(path, { createNew: true, write: true, mode: 0o600 });
    try {
      await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
    } finally {
      file.close();
    }
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    if (error instanceof Deno.errors.NotFound) {
      await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
      return await tryCreate(path);
    }
    throw error;
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const { mtime } = await Deno.stat(path);
    return mtime !== null && Date.now() - mtime.getTime() > staleMs;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false; // released meanwhile: try again
    throw error;
  }
}

/**
 * Runs `action` while holding the lock file at `path`, waiting for another holder
 * to release it (or for its lock to go stale).
 *
 * @example
 * ```ts
 * import { withFileLock } from "./file_lock.ts";
 * const dir = await Deno.makeTempDir();
 * console.log(await withFileLock(`${dir}/credentials.json.lock`, () => Promise.resolve(42))); // 42
 * ```
 */
export async function withFileLock<T>(
  path: string,
  action: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  while (!(await tryCreate(path))) {
    if (await isStale(path, staleMs)) {
      await Deno.remove(path).catch(() => {});
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  try {
    return await action();
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}
