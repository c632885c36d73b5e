/**
 * The decisions of push, pull and sync: a pure function from one file's
 * three etags (local now, cloud now, last synced) to what to do with it.
 *
 * @module
 */

/** Which way a run moves files: `pull` (cloud to folder), `push` (folder to cloud) or `sync` (both). */
export type SyncDirection = "pull" | "push" | "sync";

/** The side whose version wins a conflict. */
export type ConflictPreference = "local" | "cloud";

/** One file as seen on both sides and in the state. */
export interface SyncFileState {
  /**
   * The local file, if there is one. `etag` is undefined when the file is known to be
   * changed without its bytes being known (a GeoPackage whose `-wal` holds frames).
   */
  local?: { etag?: string };
  /** The cloud's latest version, if the cloud has the file. */
  remote?: { etag: string };
  /** The etag both sides last agreed on, if the file was ever synced. */
  base?: string;
}

/** How to decide. */
export interface DecideOptions {
  /** Which way files move. */
  direction: SyncDirection;
  /** Propagate deletions (always on for `sync`). */
  delete?: boolean;
  /** Resolve conflicts in favor of this side; without it conflicts are left alone. */
  prefer?: ConflictPreference;
}

/** What to do with one file. */
export type SyncDecision =
  | {
    /** Nothing to transfer. */
    kind: "none";
    /**
     * Update the state: an etag to record as the new base (both sides hold it), `null` to
     * forget the file (neither side holds it), absent to leave the state as it is.
     */
    record?: string | null;
  }
  | {
    kind: "upload" | "download" | "delete_remote" | "delete_local";
    /** Why, in a few words. */
    reason: string;
    /** A conflict resolved by `prefer`. */
    conflict: boolean;
    /** Move the local file to the backups folder first (download or delete_local). */
    backup: boolean;
  }
  | {
    /** A conflict left alone: nothing is done to the file. */
    kind: "conflict";
    reason: string;
    /** Set when `prefer` chose the side that is left as it is (pull keeps local, push keeps cloud). */
    kept?: ConflictPreference;
  };

/**
 * Decides what push, pull or sync does with one file, by the three-way
 * comparison QFieldSync uses: what changed on each side since the last sync.
 *
 * @example
 * ```ts
 * import { decideSync } from "@qfieldcloud/sdk";
 * decideSync({ local: { etag: "b" }, remote: { etag: "a" }, base: "a" }, { direction: "sync" });
 * // { kind: "upload", reason: "changed locally", conflict: false, backup: false }
 * ```
 */
export function decideSync(file: SyncFileState, options: DecideOptions): SyncDecision {
  const { local, remote, base } = file;
  const { direction } = options;
  const deletes = direction === "sync" || options.delete === true;
  const pulls = direction !== "push";
  const pushes = direction !== "pull";
  const L = local?.etag;
  const R = remote?.etag;

  if (!local && !remote) return base === undefined ? NONE : { kind: "none", record: null };

  if (base === undefined) {
    if (local && remote) {
      if (L !== undefined && L === R) return { kind: "none", record: R };
      return conflict(file, options, "different on both sides, never synced");
    }
    // On one side only: copied to the other, never deleted.
    if (local) return pushes ? act("upload", "new locally") : NONE;
    return pulls ? act("download", "new on the cloud") : NONE;
  }

  const localChanged = !local || L === undefined || L !== base;
  const remoteChanged = R !== base;
  if (!localChanged && !remoteChanged) return NONE;

  if (localChanged && remoteChanged) {
    if (local && remote && L !== undefined && L === R) return { kind: "none", record: R };
    if (!local && !remote) return { kind: "none", record: null };
    if (local && remote) return conflict(file, options, "changed on both sides");
    if (local) {
      // Changed locally, deleted on the cloud.
      if (direction === "push") return act("upload", "changed locally, deleted on the cloud");
      if (direction === "pull" && !deletes) return NONE;
      return conflict(file, options, "changed locally, deleted on the cloud");
    }
    // Deleted locally, changed on the cloud.
    if (direction === "pull") return act("download", "changed on the cloud, deleted locally");
    if (direction === "push" && !deletes) return NONE;
    return conflict(file, options, "deleted locally, changed on the cloud");
  }

  if (localChanged) {
    if (!pushes) return NONE;
    if (local) return act("upload", "changed locally");
    return deletes ? act("delete_remote", "deleted locally") : NONE;
  }
  if (!pulls) return NONE;
  // The local file equals the base, which the cloud keeps as a version: no backup needed.
  if (remote) return act("download", "changed on the cloud");
  // A cloud delete takes every version: the local copy may be the last one.
  return deletes ? act("delete_local", "deleted on the cloud", { backup: true }) : NONE;
}

const NONE: SyncDecision = { kind: "none" };

function act(
  kind: "upload" | "download" | "delete_remote" | "delete_local",
  reason: string,
  extra: { conflict?: boolean; backup?: boolean } = {},
): SyncDecision {
  return { kind, reason, conflict: extra.conflict ?? false, backup: extra.backup ?? false };
}

/** A conflict: left alone, or resolved by `prefer` within what the direction may do. */
function conflict(file: SyncFileState, options: DecideOptions, what: string): SyncDecision {
  const { prefer, direction } = options;
  if (prefer === "cloud") {
    if (direction === "push") {
      return {
        kind: "conflict",
        reason: `${what}; kept the cloud's file (--prefer cloud)`,
        kept: "cloud",
      };
    }
    const reason = `${what}; --prefer cloud`;
    if (file.remote) return act("download", reason, { conflict: true, backup: !!file.local });
    return act("delete_local", reason, { conflict: true, backup: true });
  }
  if (prefer === "local") {
    if (direction === "pull") {
      return {
        kind: "conflict",
        reason: `${what}; kept the local file (--prefer local)`,
        kept: "local",
      };
    }
    if (file.local) {
      return act("upload", `${what}; --prefer local (the cloud keeps its bytes as a version)`, {
        conflict: true,
      });
    }
    // Deleting the cloud's file would take its changed bytes and every version with them.
    return {
      kind: "conflict",
      reason: `${what}; --prefer local does not delete a file changed on the cloud ` +
        "(delete it with delete-files)",
    };
  }
  return { kind: "conflict", reason: what };
}
