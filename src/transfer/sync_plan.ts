/**
 * Planning push, pull and sync: the local scan, the listing and the recorded
 * state, compared file by file with {@linkcode decideSync}. Planning reads and
 * never writes, so a plan is also the dry run.
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { RequestCore } from "../http.ts";
import { FileTransferStatus } from "../types.ts";
import { QfcException } from "../errors.ts";
import { parseCloudTime } from "./cloud_mtime.ts";
import { filterGlobs, passesFilter } from "./name_filter.ts";
import { failedResult } from "./failed_result.ts";
import { latestVersionOf, listProjectFiles } from "./project_listing.ts";
import { checkpointGpkg, walHasFrames } from "./gpkg_checkpoint.ts";
import { isGeoPackage } from "./local_backup.ts";
import { HashCache } from "./hash_cache.ts";
import { loadIgnoreRules } from "./ignore_rules.ts";
import { scanLocalFiles, type ScannedFile, statScanned } from "./local_scan.ts";
import type { TransferAction, TransferActionKind, TransferPlan } from "./plan.ts";
import { DEFAULT_CONCURRENCY, runPool } from "../pool.ts";
import { remoteNameProblem, resolveLocalPath } from "./remote_names.ts";
import {
  type ConflictPreference,
  decideSync,
  type SyncDecision,
  type SyncDirection,
} from "./sync_decide.ts";
import { type MassDeletion, massDeletionOf } from "./sync_mass_deletion.ts";
import { STATE_DIR_NAME, SyncStateStore } from "./sync_state.ts";
import type { TransferOptions, TransferResult } from "./types.ts";
import { isIgnoredLocalName } from "./local_scan.ts";
import { uploadOrder } from "./walk.ts";

/** The folder below `LOCAL_DIR/.qfieldcloud/` where replaced and deleted local files go. */
export const BACKUPS_DIR_NAME = "backups";

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
  /** The action each file of `settled` stood for (a conflict left alone is `conflict`). */
  settledActions: Map<string, SyncActionKind>;
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
  return (await prepareSync(core, projectId, localDir, options)).plan;
}

/** A plan together with the state and cache it was computed from, for carrying it out. */
export interface PreparedSync {
  plan: SyncPlan;
  state: SyncStateStore;
  cache: HashCache;
  /** Names of the local files, for pruning the hash cache. */
  localNames: string[];
  /**
   * Checkpoints the GeoPackages whose `-wal` holds frames (push and sync; one that cannot be
   * is a failed file) and plans again with their bytes known. Call it only once the plan may
   * go ahead: it writes to those files.
   */
  checkpoint(): Promise<SyncPlan>;
}

/** A local file's stat as scanned, which a download's backup check compares with. */
type ScannedStat = Pick<ScannedFile, "size" | "mtimeMs" | "ino">;

/**
 * Plans a sync, touching nothing; {@linkcode PreparedSync.checkpoint} then makes the
 * GeoPackages with `-wal` frames known.
 */
export async function prepareSync(
  core: RequestCore,
  projectId: string,
  localDir: string,
  options: SyncOptions,
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
  const globs = filterGlobs(options.filter);
  const inScope = (name: string) =>
    !isIgnoredLocalName(name) && !rules?.ignores(name) && passesFilter(name, globs);

  // The listing is requested first: the server works on it while the walk (synchronous) runs.
  const listing = listProjectFiles(core, projectId, options.signal);
  listing.catch(() => {}); // Awaited below; no unhandled rejection while the walk runs.
  const links: string[] = [];
  const scanned = await scanLocalFiles(root, rules, links);
  const listed = await listing;
  // The walk has applied the name rules and the ignore file already; the filter remains.
  const locals = new Map(
    scanned.filter((f) => passesFilter(f.name, globs)).map((f) => [f.name, f]),
  );
  // A listed name this folder cannot hold (`../x`, `/x`) is not a dot file to leave out: it fails.
  const remotes = new Map(
    listed.filter((f) =>
      inScope(f.name) ||
      (passesFilter(f.name, globs) && resolveLocalPath(root, f.name).problem !== undefined)
    ).map((f) => [f.name, f]),
  );

  const settled: TransferResult[] = [];
  const settledActions = new Map<string, SyncActionKind>();
  const failed = new Set<string>();
  const pushes = direction !== "pull";
  /** The action a file that cannot be synced stood for. */
  const kindOf = (name: string): SyncActionKind =>
    direction === "pull" || (direction === "sync" && !locals.has(name)) ? "download" : "upload";
  const fail = (name: string, localPath: string | undefined, size: number, error: Error) => {
    failed.add(name);
    settledActions.set(name, kindOf(name));
    settled.push(failedResult({ name, localPath, size, status: FileTransferStatus.FAILED }, error));
  };

  const names = new Set([...locals.keys(), ...remotes.keys()]);
  for (const name of state.names()) if (inScope(name)) names.add(name);

  // A local name the cloud would refuse is never uploaded (nor its absence taken for a deletion).
  // A name the cloud lists passed its rules already.
  for (const [name, file] of locals) {
    if (remotes.has(name)) continue;
    const problem = remoteNameProblem(name);
    if (problem === undefined) continue;
    const error = new QfcException(`Cannot upload "${name}": ${problem}`);
    if (pushes) fail(name, file.localPath, file.size, error);
    else failed.add(name);
  }
  // A symbolic link (to a file or a folder) is an obstacle: nothing is transferred through
  // it, and what lies behind it is not taken for deleted.
  const nameList = links.length > 0 ? [...names] : [];
  for (const link of links) {
    const path = join(root, ...link.split("/"));
    const behind = nameList.filter((n) => n === link || n.startsWith(`${link}/`));
    if (behind.length === 0 && passesFilter(link, globs)) behind.push(link);
    for (const name of behind) {
      const error = new QfcException(
        `Cannot sync "${name}": "${path}" is a symbolic link, which sync does not follow; ` +
          "replace it with the folder or file itself",
      );
      fail(name, path, remotes.get(name)?.size ?? 0, error);
    }
  }
  for (const group of collisions(names)) {
    for (const name of group) {
      if (failed.has(name)) continue;
      const others = group.filter((other) => other !== name).map((n) => `"${n}"`).join(", ");
      const error = new QfcException(
        `Cannot sync "${name}": it collides with ${others} once case or Unicode ` +
          "normalization is ignored; rename one of them",
      );
      const file = locals.get(name);
      fail(name, file?.localPath, file?.size ?? remotes.get(name)?.size ?? 0, error);
    }
  }

  // Local etags from the hash cache. A GeoPackage whose -wal holds frames is changed, its bytes
  // unknown until checkpoint() writes the frames in.
  const cache = HashCache.load(localDir);
  const localEtags = new Map<string, string | undefined>();
  const withFrames: ScannedFile[] = [];
  // Cache hits first, without a promise each: a no-op sync of 20,000 files is mostly this.
  const toHash: ScannedFile[] = [];
  for (const file of locals.values()) {
    if (failed.has(file.name)) continue;
    const cached = isGeoPackage(file.name) ? undefined : cache.lookup(file);
    if (cached === undefined) toHash.push(file);
    else localEtags.set(file.name, cached);
  }
  await runPool(toHash, options.concurrency ?? DEFAULT_CONCURRENCY, async (file) => {
    if (isGeoPackage(file.name) && await walHasFrames(file.localPath)) {
      localEtags.set(file.name, undefined);
      withFrames.push(file);
      return;
    }
    localEtags.set(file.name, await cache.etag(file));
  }, options.signal);

  const backupDir = join(localDir, STATE_DIR_NAME, BACKUPS_DIR_NAME, backupStamp(new Date()));

  const decide = (): SyncPlan => {
    const actions: TransferAction[] = [];
    const conflicts: SyncConflict[] = [];
    const agreed: [string, string | null][] = [];
    const conflictSettled: TransferResult[] = [];
    const actionsOfSettled = new Map(settledActions);
    let unchanged = 0;
    for (const name of names) {
      if (failed.has(name)) continue;
      const local = locals.get(name);
      const remote = remotes.get(name);
      // A scanned file's path is known good; a name from elsewhere is checked before any use.
      const target = local ? { path: local.localPath } : resolveLocalPath(root, name);
      if (target.problem !== undefined) {
        // A name this folder cannot hold: never downloaded, and never deleted for being absent.
        if (direction !== "push") {
          const error = new QfcException(target.problem);
          actionsOfSettled.set(name, "download");
          conflictSettled.push(
            failedResult(
              { name, size: remote?.size ?? 0, status: FileTransferStatus.FAILED },
              error,
            ),
          );
        }
        continue;
      }
      const L = localEtags.get(name);
      const base = state.base(name);
      const decision: SyncDecision = decideSync({
        local: local && { etag: L },
        remote: remote && { etag: remote.md5sum },
        base,
      }, options);
      switch (decision.kind) {
        case "none":
          if (decision.record !== undefined) agreed.push([name, decision.record]);
          if (local && remote && L !== undefined && L === remote.md5sum) unchanged++;
          break;
        case "conflict": {
          const conflict: SyncConflict = {
            name,
            reason: decision.reason,
            local: local && { size: local.size, modified: new Date(local.mtimeMs) },
            remote: remote && { size: remote.size, modified: parseCloudTime(remote.last_modified) },
            kept: decision.kept,
          };
          conflicts.push(conflict);
          actionsOfSettled.set(name, "conflict");
          conflictSettled.push({
            name,
            localPath: target.path,
            size: local?.size ?? remote?.size ?? 0,
            status: FileTransferStatus.SKIPPED,
            reason: describeConflict(conflict),
          });
          break;
        }
        default: {
          const replaces = decision.kind === "download" || decision.kind === "delete_local";
          actions.push({
            kind: decision.kind,
            name,
            localPath: target.path,
            size: decision.kind === "upload" || decision.kind === "delete_local"
              ? local!.size
              : remote!.size,
            etag: decision.kind === "upload"
              ? L
              : decision.kind === "download"
              ? remote!.md5sum
              : undefined,
            reason: decision.reason,
            conflict: decision.conflict || undefined,
            // Whatever is at the path when the action runs is moved aside first...
            backupDir: replaces ? backupDir : undefined,
            // ...unless it is still the file scanned, whose bytes the cloud keeps as a version.
            expectedStat: decision.kind === "download" && !decision.backup && local &&
                remote?.versions?.some((v) => v.md5sum === base)
              ? statOf(local)
              : undefined,
            lastModified: decision.kind === "download" ? remote!.last_modified : undefined,
            // The listing already says what the cloud holds, so a failed upload's check for a
            // stored try needs no listing of its own before the first send.
            cloudVersion: decision.kind === "upload"
              ? (remote ? latestVersionOf(remote) : null)
              : undefined,
          });
        }
      }
    }
    actions.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || uploadOrder(a, b));
    return {
      direction,
      actions,
      settled: [...settled, ...conflictSettled],
      settledActions: actionsOfSettled,
      conflicts,
      unchanged,
      agreed,
      warnings,
      hashed: cache.hashed,
      massDeletion: massDeletionOf(actions, locals.size, remotes.size),
    };
  };

  const plan = decide();
  return {
    plan,
    state,
    cache,
    localNames: scanned.map((f) => f.name),
    async checkpoint() {
      if (!pushes || withFrames.length === 0) return plan;
      await runPool(withFrames, options.concurrency ?? DEFAULT_CONCURRENCY, async (file) => {
        try {
          await checkpointGpkg(file.localPath);
        } catch (error) {
          fail(file.name, file.localPath, file.size, error as Error);
          return;
        }
        const current = await statScanned(file.name, file.localPath);
        if (!current) return;
        locals.set(file.name, current);
        localEtags.set(file.name, await cache.etag(current));
      }, options.signal);
      return decide();
    },
  };
}

/** Deletions first (they free quota), then downloads, then uploads (QGIS projects last). */
const KIND_ORDER: Record<TransferActionKind, number> = {
  delete_remote: 0,
  delete_local: 1,
  download: 2,
  upload: 3,
};

/**
 * Groups of names that are one file on a disk that ignores case or Unicode normalization
 * (macOS, Windows): `Readme.txt` and `README.txt`, or `café` written two ways.
 */
function collisions(names: Iterable<string>): string[][] {
  const first = new Map<string, string>();
  const groups = new Map<string, string[]>();
  for (const name of names) {
    // deno-lint-ignore no-control-regex -- ASCII names need no normalization (the common case)
    const key = /^[\x00-\x7f]*$/.test(name)
      ? name.toLowerCase()
      : name.normalize("NFC").toLowerCase();
    const seen = first.get(key);
    if (seen === undefined) first.set(key, name);
    else if (groups.has(key)) groups.get(key)!.push(name);
    else groups.set(key, [seen, name]);
  }
  return [...groups.values()];
}

function statOf(file: ScannedStat): ScannedStat {
  return { size: file.size, mtimeMs: file.mtimeMs, ino: file.ino };
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
