/**
 * The partial file of a download, written by one run only.
 *
 * A download streams into a hidden partial file beside its target and renames
 * it into place once verified; a run that was interrupted leaves the partial
 * for the next run to resume with `Range`. If two runs shared one partial
 * (a cron job overlapping a manual run), each would append to bytes the other
 * is writing and rename a file both wrote. So each run writes only under a
 * name of its own, holding its pid and host: a later run resumes a partial
 * only once its writer is certainly gone (by the rule of folder locks, in
 * `live_process.ts`: the pid no longer runs on this host, or the file has not
 * changed for `STALE_AFTER_MS`), and takes it over by renaming it to its own
 * name, which of several runs exactly one can do.
 *
 * Names: `.qfc-<target>-<content>.<pid>-<host>-<random>.part`, where `target`
 * and `content` are short hashes of the target's name and of the expected
 * content (etag or version), so that only the same content is resumed.
 *
 * @module
 */
import { rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import process from "node:process";
import type { DirSnapshot } from "./dir_snapshot.ts";
import { hostIdentity, isLeftBehind, ownerState } from "./live_process.ts";

const TEMP_PREFIX = ".qfc-";
const TEMP_SUFFIX = ".part";
/** `.qfc-<target>-<content>[.<pid>-<host>-<random>].part`; names without an owner are from older versions. */
const PARTIAL_NAME =
  /^\.qfc-[0-9a-f]{16}-[0-9a-f]{16}(?:\.(\d+)-([0-9a-f]{8})-[0-9a-f]{8})?\.part$/;

/** Partial files this process is writing now (by name): another one of ours is not abandoned. */
const writingHere = new Set<string>();

/**
 * A partial file that this run alone writes. {@linkcode PartialFile.release}
 * it once it is renamed into place or removed.
 */
export interface PartialFile {
  /** Where to write. */
  readonly path: string;
  /** The folder it is in: the target's. */
  readonly dir: string;
  /** Its name in that folder. */
  readonly name: string;
  /** Whether it holds bytes of a run that was killed, to be verified and resumed. */
  readonly takenOver: boolean;
  /** Forgets it as this run's (after the rename into place, or after removing it). */
  release(): void;
}

/**
 * The start of the names of the partial files of `localPath`: all its
 * contents (`contentKey` omitted), or one content.
 *
 * @example
 * ```ts
 * import { partialPrefix } from "./partial_file.ts";
 * console.log(partialPrefix("/data/survey/roads.gpkg", "0f343b0931126a20f133d67c2b018a3b"));
 * // ".qfc-<16 hex>-<16 hex>"
 * ```
 */
export function partialPrefix(localPath: string, contentKey?: string): string {
  const target = `${TEMP_PREFIX}${shortHash(basename(localPath))}-`;
  return contentKey === undefined ? target : `${target}${shortHash(contentKey)}`;
}

/**
 * Takes the partial file for a download of one content: a partial of that
 * content left by a run that is gone, renamed to a name of this run's own, or
 * else a new name of this run's own. Partials of live runs (of this process
 * too) are never touched: this run then starts its own.
 *
 * @example
 * ```ts
 * import { dirname } from "node:path";
 * import { readdir } from "node:fs/promises";
 * import { claimPartial, partialPrefix } from "./partial_file.ts";
 * const target = "/data/survey/roads.gpkg";
 * const prefix = partialPrefix(target, "0f343b0931126a20f133d67c2b018a3b");
 * const partial = await claimPartial(dirname(target), prefix, await readdir(dirname(target)));
 * try {
 *   // ... resume or write partial.path, verify, rename it to the target ...
 * } finally {
 *   partial.release();
 * }
 * ```
 *
 * @param dir The target's directory.
 * @param prefix {@linkcode partialPrefix} of the target and the content.
 * @param names Names in `dir` (a listing taken before; names gone since are passed over).
 */
export async function claimPartial(
  dir: string,
  prefix: string,
  names: readonly string[],
): Promise<PartialFile> {
  const mine = `${prefix}.${process.pid}-${hostTag()}-${nextTag()}${TEMP_SUFFIX}`;
  // Ours before the rename: another download in this process must not see it as abandoned.
  writingHere.add(mine);
  const owned = (takenOver: boolean): PartialFile => ({
    path: join(dir, mine),
    dir,
    name: mine,
    takenOver,
    release: () => writingHere.delete(mine),
  });
  for (const name of names) {
    if (!name.startsWith(prefix) || !(await isLeftBehindIn(dir, name))) continue;
    try {
      // Atomic: of several runs renaming the same file, one succeeds and the others find it gone.
      await rename(join(dir, name), join(dir, mine));
      return owned(true);
    } catch {
      // Taken by another run, or gone: try the next one.
    }
  }
  return owned(false);
}

/**
 * Removes the partial files of the same target that no run writes any more
 * (older contents, or the same content left twice), once `kept` (this run's
 * partial, now renamed into place) is done. Live runs' partials stay.
 *
 * @param dirs The listing of the target's directory taken before the run.
 * @param kept This run's partial file.
 */
export async function removeStalePartials(dirs: DirSnapshot, kept: PartialFile): Promise<void> {
  const target = kept.name.slice(0, TEMP_PREFIX.length + 17); // `.qfc-<target>-`
  for (const entry of await dirs.entriesStartingWith(kept.dir, target)) {
    if (entry !== kept.name && (await isLeftBehindIn(kept.dir, entry))) {
      await rm(join(kept.dir, entry), { force: true }).catch(() => {});
    }
  }
}

/**
 * Whether `name` is a partial file whose writer is certainly gone: its pid
 * no longer runs on this host, or it is this process's pid but not one of
 * its partials (an earlier process had the same pid), or it has not changed
 * since `changedMs` for `STALE_AFTER_MS`. A partial of another host (or boot,
 * or pid namespace), or whose pid this run may not check, is abandoned by age
 * only.
 *
 * @example
 * ```ts
 * import { isAbandonedPartial } from "./partial_file.ts";
 * isAbandonedPartial("notes.txt"); // false: not a partial file
 * ```
 *
 * @param name A file name.
 * @param changedMs When the file last changed (its modification or status change time).
 */
export function isAbandonedPartial(name: string, changedMs = Date.now()): boolean {
  const match = PARTIAL_NAME.exec(name);
  if (!match) return false;
  if (match[1] === undefined) return true; // an older version's partial: resumable
  const pid = Number(match[1]);
  const here = match[2] === hostTag();
  if (here && pid === process.pid) return !writingHere.has(name);
  return isLeftBehind(ownerState({ pid, host: here ? hostIdentity() : match[2] }), changedMs);
}

/**
 * {@linkcode isAbandonedPartial} of a file in `dir`, with its age. The status change time
 * counts too: setting the modification time (to the cloud's) is a change.
 */
async function isLeftBehindIn(dir: string, name: string): Promise<boolean> {
  if (!PARTIAL_NAME.test(name)) return false;
  if (isAbandonedPartial(name)) return true;
  const info = await stat(join(dir, name)).catch(() => undefined);
  return info !== undefined &&
    isAbandonedPartial(name, Math.max(info.mtimeMs, info.ctimeMs || info.mtimeMs));
}

/** A random start, then one more per partial: unique in this process, unlikely to repeat a name of an earlier one. */
let tagCounter = crypto.getRandomValues(new Uint32Array(1))[0];

/** 8 hex digits naming one partial file of this process (a random number per call cost more). */
function nextTag(): string {
  tagCounter = (tagCounter + 1) >>> 0;
  return tagCounter.toString(16).padStart(8, "0");
}

let cachedHostTag: string | undefined;

/** 32 bits of this host's identity (name, boot, pid namespace), as hex: other hosts' pids are not ours. */
function hostTag(): string {
  return cachedHostTag ??= shortHash(hostIdentity()).slice(0, 8);
}

/**
 * 64 bits of a name, as hex, for partial file names: two 32-bit FNV-1a
 * hashes from different starting points. In plain JavaScript, because three
 * calls into `node:crypto` per name cost more than a small file's write.
 */
function shortHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}
