/**
 * One run per folder. `push`, `pull` and `sync` hold an exclusive lock on
 * their folder, so that two runs (a cron job overlapping a manual run, two CI
 * jobs sharing a workspace) never work on one folder at once.
 *
 * The lock is the file `LOCAL_DIR/.qfieldcloud/lock`, created with `O_EXCL`
 * and holding the owner's pid, host and start time; the owner refreshes its
 * modification time every `HEARTBEAT_MS`. A lock whose process is
 * certainly gone (a run killed with `kill -9`, a power cut), or that has not
 * been refreshed for `STALE_AFTER_MS` (10 minutes), is stale: the next run takes
 * it over (the rule is in `live_process.ts`). Only `node:fs`, `node:os`,
 * `node:process` and `node:timers`, so it works the same on Deno, Node and Bun.
 *
 * @module
 */
import { mkdir, open, readFile, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { clearInterval, setInterval } from "node:timers";
import { delay } from "../delay.ts";
import { QfcException } from "../errors.ts";
import {
  HEARTBEAT_MS,
  hostIdentity,
  isLeftBehind,
  ownerState,
  processStartOf,
  processState,
} from "./live_process.ts";

/** The folder, inside the synced folder, that holds the lock (and the sync state). */
export const STATE_DIR_NAME = ".qfieldcloud";
/** The lock file's name inside {@linkcode STATE_DIR_NAME}. */
export const LOCK_FILE_NAME = "lock";

/** A lock file that cannot be read is taken as being written for this long, then as stale. */
const UNREADABLE_GRACE_MS = 10_000;
/** A run waits this long at most while the lock is being written or taken over by another. */
const GIVE_UP_MS = 2 * UNREADABLE_GRACE_MS;
/** How often it looks again meanwhile. */
const RETRY_MS = 20;

/** What a lock file holds. */
interface LockHolder {
  pid: number;
  hostname: string;
  /** Where `pid` means something: the hostname, and on Linux the boot id and the pid namespace. */
  host?: string;
  /** When the run started, ISO 8601. */
  started: string;
  /** What the run does (`push`, `pull`, `sync`), for the message of the run that waits. */
  operation?: string;
  /** Unique to one acquisition: a release never removes another run's lock. */
  token: string;
  /** Linux: the process's start time in clock ticks after boot, which tells a reused pid. */
  processStart?: string;
}

/**
 * Thrown when another run holds the folder's lock. Names that run's pid and
 * host so that the person who sees it can find it.
 *
 * @example
 * ```ts
 * import { acquireFolderLock, QfcFolderBusyException } from "./folder_lock.ts";
 * try {
 *   const lock = await acquireFolderLock("./survey", { operation: "sync" });
 *   // ... sync, then lock.release() in a finally ...
 * } catch (error) {
 *   if (error instanceof QfcFolderBusyException) console.error(`busy: pid ${error.pid}`);
 * }
 * ```
 */
export class QfcFolderBusyException extends QfcException {
  /** The locked folder. */
  readonly folder: string;
  /** The lock file. */
  readonly lockPath: string;
  /** The other run's process id, when its lock could be read. */
  readonly pid?: number;
  /** The other run's host. */
  readonly hostname?: string;
  /** When the other run started (ISO 8601). */
  readonly started?: string;
  /** What the other run does (`push`, `pull`, `sync`), when it said. */
  readonly operation?: string;

  /** Creates the error from the lock that was found. */
  constructor(folder: string, lockPath: string, holder?: Partial<LockHolder>, hint?: string) {
    const who = holder?.pid === undefined ? "another run" : [
      `another ${holder.operation ? `"${holder.operation}" ` : ""}run`,
      ` (pid ${holder.pid} on host "${holder.hostname}", started ${holder.started})`,
    ].join("");
    super(
      `Folder "${folder}" is in use by ${who}: wait for it to end, or, if no such run ` +
        `exists any more, delete "${lockPath}"${hint ? ` (${hint})` : ""}`,
    );
    this.folder = folder;
    this.lockPath = lockPath;
    this.pid = holder?.pid;
    this.hostname = holder?.hostname;
    this.started = holder?.started;
    this.operation = holder?.operation;
  }
}

/** Options of {@linkcode acquireFolderLock}. */
export interface FolderLockOptions {
  /** What the run does (`push`, `pull`, `sync`), shown to a run that finds the folder busy. */
  operation?: string;
}

/**
 * A held folder lock: release it when the run ends. (Not `AsyncDisposable`: the library's
 * type declarations must check against ES2022, which has no `Symbol.asyncDispose`.)
 */
export interface FolderLock {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock if it is still this run's. Safe to call more than once. */
  release(): Promise<void>;
}

/** Tokens of the locks this process holds: a lock with this process's pid and another token is stale. */
const heldHere = new Set<string>();

/**
 * Takes the folder's lock for this run, or throws
 * {@linkcode QfcFolderBusyException} when another live run holds it. A lock
 * left by a run that no longer exists (same host, process gone), or not
 * refreshed for 10 minutes, is taken over; of several runs that find the same
 * stale lock, exactly one gets it. A lock held on another host (a shared
 * network folder) is never taken over: there is no telling whether that run
 * is alive. A run that may not check pids (Deno without `--allow-run`) finds
 * a fresh lock busy, and the message says so.
 *
 * @example
 * ```ts
 * import { acquireFolderLock } from "./folder_lock.ts";
 * const lock = await acquireFolderLock("./survey", { operation: "pull" });
 * try {
 *   // ... download into ./survey ...
 * } finally {
 *   await lock.release();
 * }
 * ```
 *
 * @param folder The folder the run works on; `.qfieldcloud/` is created in it if missing.
 * @param options What the run does, for the message others get.
 */
export async function acquireFolderLock(
  folder: string,
  options: FolderLockOptions = {},
): Promise<FolderLock> {
  const root = resolve(folder);
  const path = join(root, STATE_DIR_NAME, LOCK_FILE_NAME);
  try {
    return await acquire(root, path, options);
  } catch (error) {
    if (error instanceof QfcException) throw error;
    throw new QfcException(
      `Cannot lock folder "${root}" with "${path}": ${(error as Error)?.message ?? error}; ` +
        "check that the folder exists and that this user may create files in it",
      { cause: error },
    );
  }
}

/** {@linkcode acquireFolderLock}, whose errors other than a busy folder are not yet explained. */
async function acquire(
  root: string,
  path: string,
  options: FolderLockOptions,
): Promise<FolderLock> {
  await mkdir(join(root, STATE_DIR_NAME), { recursive: true });
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    host: hostIdentity(),
    started: new Date().toISOString(),
    operation: options.operation,
    token: crypto.randomUUID(),
    processStart: processStartOf(process.pid),
  };
  const content = JSON.stringify(holder) + "\n";
  let last: Partial<LockHolder> | undefined;
  for (const giveUpAt = Date.now() + GIVE_UP_MS; Date.now() < giveUpAt;) {
    // Known as this process's before the file exists: another taker here must not see it stale.
    heldHere.add(holder.token);
    if (await createExclusive(path, content)) return heldLock(path, holder.token);
    heldHere.delete(holder.token);
    const found = await readLock(path);
    if (found === "gone") continue; // released between our two calls: try again at once
    if (found.holder === undefined) {
      // Being written right now, or left empty by a run killed in between.
      if (Date.now() - found.mtimeMs < UNREADABLE_GRACE_MS) {
        await delay(RETRY_MS);
        continue;
      }
    } else {
      const state = lockState(found.holder, found.mtimeMs);
      if (state !== "stale") {
        const hint = state === "unknown" && processState(found.holder.pid) === "unknown"
          ? "this run may not check whether that pid runs: on Deno grant --allow-run"
          : undefined;
        throw new QfcFolderBusyException(root, path, found.holder, hint);
      }
    }
    last = found.holder;
    await takeOver(path, found.raw);
  }
  throw new QfcFolderBusyException(root, path, last);
}

function heldLock(path: string, token: string): FolderLock {
  let released = false;
  // The heartbeat: a lock that stops being refreshed is stale even where its pid cannot be judged.
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const release = async () => {
    if (released) return;
    released = true;
    clearInterval(heartbeat);
    heldHere.delete(token);
    // A lock that can no longer be read is left: without its heartbeat it goes stale.
    const found = await readLock(path).catch(() => "gone" as const);
    if (found !== "gone" && found.holder?.token === token) await unlink(path).catch(() => {});
  };
  return { path, release };
}

/** Creates `path` with `content` unless it exists; false if it does. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx");
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
  } catch (error) {
    await handle.close();
    await unlink(path).catch(() => {}); // an empty lock would hold the folder for a while
    throw error;
  }
  await handle.close();
  return true;
}

/** The lock file's bytes and holder (`undefined` when it is not a lock we can read). */
async function readLock(
  path: string,
): Promise<{ raw: string; holder?: LockHolder; mtimeMs: number } | "gone"> {
  let raw: string;
  let mtimeMs: number;
  try {
    [raw, { mtimeMs }] = await Promise.all([readFile(path, "utf8"), stat(path)]);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return "gone";
    throw error;
  }
  try {
    const holder = JSON.parse(raw);
    if (Number.isInteger(holder?.pid) && typeof holder.hostname === "string") {
      return { raw, holder, mtimeMs };
    }
  } catch {
    // not a lock we wrote (or not yet written)
  }
  return { raw, mtimeMs };
}

/** Whether the run that wrote the lock is certainly gone (`stale`), or may still run. */
function lockState(holder: LockHolder, mtimeMs: number): "stale" | "alive" | "unknown" {
  // Another machine: neither its pids nor its clock (the lock's age) can be judged from here.
  if (holder.hostname !== hostname()) return "unknown";
  const host = holder.host ?? hostIdentity(); // older versions recorded the hostname only
  if (host === hostIdentity() && holder.pid === process.pid) {
    return heldHere.has(holder.token) ? "alive" : "stale"; // else an earlier process, same pid
  }
  const state = ownerState({ pid: holder.pid, host, processStart: holder.processStart });
  if (isLeftBehind(state, mtimeMs)) return "stale";
  return state === "alive" ? "alive" : "unknown";
}

/**
 * Removes a stale lock if it still holds `staleRaw`. A second lock file,
 * taken with `O_EXCL` for the moment of the check and the removal, makes the
 * check-then-remove atomic among runs: without it, a run that read the stale
 * lock could remove the fresh lock another run has just put in its place.
 */
async function takeOver(path: string, staleRaw: string): Promise<void> {
  const guard = `${path}.takeover`;
  const token = crypto.randomUUID();
  const guardContent = JSON.stringify({
    pid: process.pid,
    hostname: hostname(),
    host: hostIdentity(),
    started: new Date().toISOString(),
    token,
    processStart: processStartOf(process.pid),
  });
  // Known as this process's before the file exists: another taker here must not see it stale.
  heldHere.add(token);
  if (!(await createExclusive(guard, guardContent))) {
    heldHere.delete(token);
    const other = await readLock(guard);
    const abandoned = other !== "gone" &&
      (other.holder
        ? lockState(other.holder, other.mtimeMs) === "stale"
        : Date.now() - other.mtimeMs >= UNREADABLE_GRACE_MS);
    // A run killed during its takeover leaves the guard behind; the guard's own takeover is not
    // guarded, which only matters if two runs find it at the same moment after such a kill.
    if (abandoned) await unlink(guard).catch(() => {});
    else await delay(RETRY_MS);
    return;
  }
  try {
    const now = await readLock(path);
    if (now !== "gone" && now.raw === staleRaw) await unlink(path).catch(() => {});
  } finally {
    await unlink(guard).catch(() => {});
    heldHere.delete(token);
  }
}

/** The `code` of a `node:fs` or `node:process` error (`EEXIST`, `ENOENT`...). */
function errorCode(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}
