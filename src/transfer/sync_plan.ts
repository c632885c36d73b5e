/**
 * Planning push, pull and sync: the local scan, the listing and the recorded
 * state, compared file by file with {@linkcode decideSync}. Planning reads and
 * never writes, so a plan is also the dry run.
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { RequestCore } from "../http.ts";
import { FileTransferStatus, type RemoteFile } from "../types.ts";
import { QfcException } from "../errors.ts";
import { fnmatchAny } from "./fnmatch.ts";
import { checkpointGpkg, walHasFrames } from "./gpkg_checkpoint.ts";
import { isGeoPackage } from "./local_backup.ts";
import { HashCache } from "./hash_cache.ts";
import { loadIgnoreRules } from "./ignore_rules.ts";
import { scanLocalFiles, type ScannedFile, statScanned } from "./local_scan.ts";
import type { TransferAction, TransferActionKind, TransferPlan } from "./plan.ts";
import { DEFAULT_CONCURRENCY, runPool } from "./pool.ts";
import { resolveLocalPath } from "./remote_names.ts";
import {
  type ConflictPreference,
  decideSync,
  type SyncDecision,
  type SyncDirection,
} from "./sync_decide.ts";
import { STATE_DIR_NAME, SyncStateStore } from "./sync_state.ts";
import type { TransferOptions, TransferResult } from "./types.ts";
import { isIgnoredLocalName, uploadOrder } from "./walk.ts";

/** The folder below `LOCAL_DIR/.qfieldcloud/` where replaced and deleted local files go. */
export const BACKUPS_DIR_NAME = "backups";

/** A plan may delete at most this many files of a side before the guard looks at the share. */
export const MASS_DELETION_MIN_FILES = 10;

/** Options of {@linkcode planSync} and `syncProject`. */
export interface SyncOptions extends TransferOptions {
  /** `pull` (cloud to folder), `push` (folder to cloud) or `sync` (both ways). */
  direction: SyncDirection;
  /** `pull` and `push`: also propagate deletions made since the last sync (`sync` always does). */
  delete?: boolean;
  /** Resolve conflicts: `cloud` downloads (the local file is backed up), `local` uploads. */
  prefer?: ConflictPreference;
  /** Only files whose remote name matches one of these globs (Python `fnmatch`: `*` matches `/`). */
  filter?: string | readonly string[];
  /** Go ahead with a plan that deletes more than half of one side's files (and more than 10). */
  allowMassDelete?: boolean;
  /** Receives warnings (an unreadable state, say); the default writes them to `console.warn`. */
  onWarning?: (message: string) => void;
  /** `syncProject` only: called with the plan before anything is done (to show it). */
  onPlan?: (plan: SyncPlan) => void;
}

/** What a sync does with one file, as listed in plans and results. */
export type SyncActionKind = TransferActionKind | "conflict";

/** A conflict left alone, with both sides' size and time. */
export interface SyncConflict {
  /** Remote name. */
  name: string;
  /** What happened on each side. */
  reason: string;
  /** The local file, when there is one. */
  local?: { size: number; modified: Date };
  /** The cloud's file, when there is one. */
  remote?: { size: number; modified?: Date };
  /** Set when `prefer` chose to keep this side as it is (pull keeps local files, push cloud ones). */
  kept?: ConflictPreference;
}

/** A plan would delete too many of one side's files; see {@linkcode SyncOptions.allowMassDelete}. */
export interface MassDeletion {
  /** The side that would lose files. */
  side: "local" | "cloud";
  /** Files the plan deletes there. */
  deletions: number;
  /** Files that side holds (within the filter). */
  files: number;
}

/** The plan of a push, pull or sync, computed by {@linkcode planSync}. */
export interface SyncPlan extends TransferPlan {
  /** The direction planned. */
  direction: SyncDirection;
  /** Conflicts left alone (also in `settled`, as `SKIPPED`). */
  conflicts: SyncConflict[];
  /** Files already in step (not listed). */
  unchanged: number;
  /** State updates that need no transfer: both sides agree (an etag) or neither has the file (null). */
  agreed: [name: string, etag: string | null][];
  /** Set when the mass-deletion guard stops the plan. */
  massDeletion?: MassDeletion;
  /** Warnings met while planning (also passed to `onWarning`). */
  warnings: string[];
  /** Local files read to hash them; the others' etags came from the hash cache. */
  hashed: number;
}

/** Thrown when a plan would delete too many files; nothing has been done. */
export class QfcMassDeletionException extends QfcException {
  /** What the plan would have deleted. */
  readonly massDeletion: MassDeletion;

  /** Creates the error from the guard's finding. */
  constructor(massDeletion: MassDeletion) {
    const where = massDeletion.side === "local" ? "in the folder" : "on the cloud";
    super(
      `Stopped before doing anything: the plan deletes ${massDeletion.deletions} of the ` +
        `${massDeletion.files} files ${where}; check the folder and the project id, and pass ` +
        "--allow-mass-delete (allowMassDelete) to go ahead",
    );
    this.massDeletion = massDeletion;
  }
}

/**
 * Computes what a push, pull or sync of `localDir` with a project would do, touching
 * nothing on either side (no file is written, not even the state or the hash cache).
 * A GeoPackage whose `-wal` holds frames counts as changed locally.
 *
 * Throws `QfcFolderBoundException` when the folder is synced with another project or server.
 *
 * @example Show what a sync would do
 * ```ts
 * import { planSync, RequestCore } from "@qfieldcloud/sdk";
 * const core = new RequestCore({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const plan = await planSync(core, "8d1a2c8e-…", "./survey", { direction: "sync" });
 * for (const action of plan.actions) console.log(action.kind, action.name, action.reason);
 * ```
 */
export async function planSync(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: SyncOptions,
): Promise<SyncPlan> {
  return (await prepareSync(core, projectId, localDir, options, { checkpoint: false })).plan;
}

/** A plan together with the state and cache it was computed from, for carrying it out. */
export interface PreparedSync {
  plan: SyncPlan;
  state: SyncStateStore;
  cache: HashCache;
  /** Names of the local files, for pruning the hash cache. */
  localNames: string[];
}

/**
 * Plans a sync. With `checkpoint`, GeoPackages with `-wal` frames are first checkpointed
 * (push and sync) so that their bytes are known; one that cannot be is a failed file.
 */
export async function prepareSync(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: SyncOptions,
  { checkpoint }: { checkpoint: boolean },
): Promise<PreparedSync> {
  const { direction } = options;
  if (!["pull", "push", "sync"].includes(direction)) {
    throw new TypeError(`Cannot sync in direction "${direction}": use pull, push or sync`);
  }
  if (options.prefer !== undefined && options.prefer !== "local" && options.prefer !== "cloud") {
    throw new TypeError(`Cannot prefer "${options.prefer}": use local or cloud`);
  }
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    (options.onWarning ?? console.warn)(message);
  };
  // Refuses a folder bound to another project before anything else happens.
  const { store: state, warning } = SyncStateStore.load(localDir, {
    server: core.baseUrl,
    projectId,
  });
  if (warning) warn(warning);

  const root = resolve(localDir);
  const rules = await loadIgnoreRules(root);
  const globs = typeof options.filter === "string"
    ? [options.filter]
    : [...(options.filter ?? [])].filter((glob) => glob !== "");
  const inScope = (name: string) =>
    !isIgnoredLocalName(name) && !rules?.ignores(name) &&
    (globs.length === 0 || fnmatchAny(name, globs));

  // The listing is requested first: the server works on it while the walk (synchronous) runs.
  const listing = core.list<RemoteFile>(
    { path: ["files", projectId], signal: options.signal },
    undefined,
    0,
  );
  listing.catch(() => {}); // Awaited below; no unhandled rejection while the walk runs.
  const scanned = await scanLocalFiles(root, rules);
  const listed = await listing;
  // The walk has applied the name rules and the ignore file already; the filter remains.
  const locals = new Map(
    scanned.filter((f) => globs.length === 0 || fnmatchAny(f.name, globs)).map((f) => [f.name, f]),
  );
  const remotes = new Map(listed.filter((f) => inScope(f.name)).map((f) => [f.name, f]));

  const settled: TransferResult[] = [];
  const failed = new Set<string>();
  const fail = (name: string, localPath: string | undefined, size: number, error: Error) => {
    failed.add(name);
    settled.push({
      name,
      localPath,
      size,
      status: FileTransferStatus.FAILED,
      reason: error.message.split("\n")[0],
      error,
    });
  };

  // Local etags: from the hash cache, GeoPackages with -wal frames checkpointed first.
  const cache = HashCache.load(localDir);
  const localEtags = new Map<string, string | undefined>();
  const checkpoints = checkpoint && direction !== "pull";
  // Cache hits first, without a promise each: a no-op sync of 20,000 files is mostly this.
  const toHash: ScannedFile[] = [];
  for (const file of locals.values()) {
    const cached = isGeoPackage(file.name) ? undefined : cache.lookup(file);
    if (cached === undefined) toHash.push(file);
    else localEtags.set(file.name, cached);
  }
  await runPool(toHash, options.concurrency ?? DEFAULT_CONCURRENCY, async (file) => {
    let current: ScannedFile | undefined = file;
    if (isGeoPackage(file.name) && await walHasFrames(file.localPath)) {
      if (!checkpoints) {
        localEtags.set(file.name, undefined); // Changed, bytes unknown until checkpointed.
        return;
      }
      try {
        await checkpointGpkg(file.localPath);
      } catch (error) {
        fail(file.name, file.localPath, file.size, error as Error);
        return;
      }
      current = await statScanned(file.name, file.localPath);
      if (!current) return;
      locals.set(file.name, current);
    }
    localEtags.set(file.name, await cache.etag(current));
  }, options.signal);

  const backupDir = join(localDir, STATE_DIR_NAME, BACKUPS_DIR_NAME, backupStamp(new Date()));
  const actions: TransferAction[] = [];
  const conflicts: SyncConflict[] = [];
  const agreed: [string, string | null][] = [];
  let unchanged = 0;
  const names = new Set([...locals.keys(), ...remotes.keys()]);
  for (const name of state.names()) if (inScope(name)) names.add(name);

  for (const name of names) {
    if (failed.has(name)) continue;
    const local = locals.get(name);
    const remote = remotes.get(name);
    // A scanned file's path is known good; a name from elsewhere is checked before any use.
    const target = local ? { path: local.localPath } : resolveLocalPath(root, name);
    if (target.problem !== undefined) {
      // A name this folder cannot hold: never downloaded, and never deleted for being absent.
      if (direction !== "push") fail(name, undefined, remote?.size ?? 0, new Error(target.problem));
      continue;
    }
    const decision: SyncDecision = decideSync({
      local: local && { etag: localEtags.get(name) },
      remote: remote && { etag: remote.md5sum },
      base: state.base(name),
    }, options);
    switch (decision.kind) {
      case "none":
        if (decision.record !== undefined) agreed.push([name, decision.record]);
        if (local || remote) unchanged++;
        break;
      case "conflict": {
        const conflict: SyncConflict = {
          name,
          reason: decision.reason,
          local: local && { size: local.size, modified: new Date(local.mtimeMs) },
          remote: remote && { size: remote.size, modified: parseListedTime(remote.last_modified) },
          kept: decision.kept,
        };
        conflicts.push(conflict);
        settled.push({
          name,
          localPath: target.path,
          size: local?.size ?? remote?.size ?? 0,
          status: FileTransferStatus.SKIPPED,
          reason: describeConflict(conflict),
        });
        break;
      }
      default:
        actions.push({
          kind: decision.kind,
          name,
          localPath: target.path,
          size: decision.kind === "upload" || decision.kind === "delete_local"
            ? local!.size
            : remote!.size,
          etag: decision.kind === "upload"
            ? localEtags.get(name)
            : decision.kind === "download"
            ? remote!.md5sum
            : undefined,
          reason: decision.reason,
          conflict: decision.conflict || undefined,
          backupDir: decision.backup && local ? backupDir : undefined,
          lastModified: decision.kind === "download" ? remote!.last_modified : undefined,
        });
    }
  }
  actions.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || uploadOrder(a, b));

  const plan: SyncPlan = {
    direction,
    actions,
    settled,
    conflicts,
    unchanged,
    agreed,
    warnings,
    hashed: cache.hashed,
    massDeletion: massDeletionOf(actions, locals.size, remotes.size),
  };
  return { plan, state, cache, localNames: scanned.map((f) => f.name) };
}

/** Deletions first (they free quota), then downloads, then uploads (QGIS projects last). */
const KIND_ORDER: Record<TransferActionKind, number> = {
  delete_remote: 0,
  delete_local: 1,
  download: 2,
  upload: 3,
};

/** The side a plan would empty of more than half its files (and more than 10), if any. */
function massDeletionOf(
  actions: readonly TransferAction[],
  localFiles: number,
  cloudFiles: number,
): MassDeletion | undefined {
  const count = (kind: TransferActionKind) => actions.filter((a) => a.kind === kind).length;
  const sides = [
    { side: "local" as const, deletions: count("delete_local"), files: localFiles },
    { side: "cloud" as const, deletions: count("delete_remote"), files: cloudFiles },
  ];
  return sides.find((s) => s.deletions > MASS_DELETION_MIN_FILES && s.deletions > s.files / 2);
}

/** A conflict's reason with both sides' size and time. */
export function describeConflict(conflict: SyncConflict): string {
  const side = (label: string, file?: { size: number; modified?: Date }) =>
    file
      ? `${label} ${file.size} B${file.modified ? ` at ${file.modified.toISOString()}` : ""}`
      : `no ${label} file`;
  return `${conflict.reason} (${side("local", conflict.local)}; ${side("cloud", conflict.remote)})`;
}

/** `2026-12-07T00-21-36.123Z`: a timestamp that sorts and is a valid name everywhere. */
function backupStamp(date: Date): string {
  return date.toISOString().replaceAll(":", "-");
}

/** Reads the listing's `dd.mm.YYYY HH:MM:SS UTC` (or an ISO 8601 time). */
function parseListedTime(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const match = /^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})/.exec(text);
  const date = match
    ? new Date(Date.UTC(+match[3], +match[2] - 1, +match[1], +match[4], +match[5], +match[6]))
    : new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
