/**
 * What push, pull and sync remember about a folder, in `LOCAL_DIR/.qfieldcloud/`:
 * the server and project it is bound to, and per file the etag both sides last
 * agreed on (the "base" of the three-way comparison).
 *
 * The record is a JSON snapshot plus an append-only journal. Each completed file
 * appends one line to the journal (constant cost, however many files there are);
 * opening and closing the store fold the journal into a new snapshot, written to
 * a temporary file and renamed over the old one. A run killed at any point leaves
 * the snapshot whole and at worst a torn last journal line, which is dropped.
 *
 * @module
 */
import { asError } from "./failed_result.ts";
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { QfcException } from "../errors.ts";
import { LOCK_FILE_NAME, STATE_DIR_NAME } from "./folder_lock.ts";
export { STATE_DIR_NAME };

const SNAPSHOT_NAME = "sync-state.json";
const JOURNAL_NAME = "sync-state.journal";
const FORMAT_VERSION = 1;
/** An unreadable snapshot is kept under its name plus this and a timestamp. */
const CORRUPT_MARK = ".corrupt-";

/** The server and project a folder is bound to. */
export interface SyncBinding {
  /** The server's API URL, as the client uses it. */
  server: string;
  /** The project's id. */
  projectId: string;
}

/**
 * Thrown when a folder that was synced with one project (or server) is used
 * with another. Nothing has been done when it is thrown.
 */
export class QfcFolderBoundException extends QfcException {
  /** The binding found in the folder. */
  readonly bound: SyncBinding;
  /** The binding that was asked for. */
  readonly requested: SyncBinding;

  /** Creates the error from both bindings. */
  constructor(localDir: string, bound: SyncBinding, requested: SyncBinding) {
    const what = bound.server === requested.server
      ? `project "${bound.projectId}", not project "${requested.projectId}"`
      : `project "${bound.projectId}" on "${bound.server}", not project "${requested.projectId}" on "${requested.server}"`;
    super(
      `Folder "${localDir}" is synced with ${what}: use another folder, or delete ` +
        `"${join(localDir, STATE_DIR_NAME)}" to bind it anew`,
    );
    this.bound = bound;
    this.requested = requested;
  }
}

/** What {@linkcode SyncStateStore.open} found. */
export interface OpenedSyncState {
  store: SyncStateStore;
  /** Set when a state existed but could not be read: the run treats every file as never synced. */
  warning?: string;
}

/**
 * The per-file base etags of one folder. Read with {@linkcode SyncStateStore.load},
 * then {@linkcode SyncStateStore.bind} before the first change, {@linkcode SyncStateStore.record}
 * as each file completes, and {@linkcode SyncStateStore.close} at the end.
 *
 * @example
 * ```ts
 * import { SyncStateStore } from "./sync_state.ts";
 * const { store, warning } = SyncStateStore.load("./my-project", {
 *   server: "https://app.qfield.cloud/api/v1/",
 *   projectId: "8d1a2c8e-0000-0000-0000-000000000000",
 * });
 * if (warning) console.warn(warning);
 * store.bind();
 * store.record("trees.csv", "952d2c56d0485958336747bcdd98590d");
 * store.close();
 * ```
 */
export class SyncStateStore {
  readonly #dir: string;
  readonly #binding: SyncBinding;
  readonly #bases: Map<string, string>;
  #journal: number | undefined;
  /** The snapshot on disk already holds exactly these bases and this binding. */
  readonly #clean: boolean;
  /** A snapshot that could not be read: kept aside by `bind()`, never overwritten. */
  #unreadable: string | undefined;

  private constructor(
    dir: string,
    binding: SyncBinding,
    bases: Map<string, string>,
    clean = false,
    unreadable?: string,
  ) {
    this.#dir = dir;
    this.#binding = binding;
    this.#bases = bases;
    this.#clean = clean;
    this.#unreadable = unreadable;
  }

  /**
   * Reads the state of `localDir` without changing anything. Throws
   * {@linkcode QfcFolderBoundException} when the folder is bound to another project or
   * server; a missing state is empty, and an unreadable or corrupt one is empty with a warning.
   */
  static load(localDir: string, binding: SyncBinding): OpenedSyncState {
    const dir = join(localDir, STATE_DIR_NAME);
    const snapshotPath = join(dir, SNAPSHOT_NAME);
    const refuseOther = (bound: SyncBinding | undefined) => {
      if (bound && !sameBinding(bound, binding)) {
        throw new QfcFolderBoundException(localDir, bound, binding);
      }
    };
    const bases = new Map<string, string>();
    let text: string;
    try {
      text = readFileSync(snapshotPath, "utf8");
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") {
        // Unreadable: only the journal can tell which project the folder is bound to.
        refuseOther(readJournal(dir, new Map()).bound);
        return {
          store: new SyncStateStore(dir, binding, bases, false, snapshotPath),
          warning: `Could not read the sync state "${snapshotPath}" (${asError(error).message}); ` +
            `treating every file as never synced (it is kept as "${SNAPSHOT_NAME}${CORRUPT_MARK}…")`,
        };
      }
      // A journal without a snapshot is a first run that was cut short: replay it.
      const journal = readJournal(dir, bases);
      refuseOther(journal.bound);
      // No state at all is a first run; a state folder with other things in it lost its state.
      const warning = journal.bound || !holdsMoreThanLock(dir)
        ? undefined
        : `No sync state in "${dir}"; treating every file as never synced`;
      return { store: new SyncStateStore(dir, binding, bases), warning };
    }
    const snapshot = parseSnapshot(text);
    if (!snapshot) {
      // The journal's binding, or whatever of the snapshot can still be read, names the project.
      refuseOther(readJournal(dir, new Map()).bound ?? salvageBinding(text, binding.server));
      return {
        store: new SyncStateStore(dir, binding, bases, false, snapshotPath),
        warning: `The sync state in "${snapshotPath}" is corrupt; ` +
          `treating every file as never synced (it is kept as "${SNAPSHOT_NAME}${CORRUPT_MARK}…")`,
      };
    }
    refuseOther({ server: snapshot.server, projectId: snapshot.project_id });
    for (const [name, etag] of Object.entries(snapshot.files)) bases.set(name, etag);
    const journal = readJournal(dir, bases);
    refuseOther(journal.bound);
    return { store: new SyncStateStore(dir, binding, bases, !journal.found) };
  }

  /** The etag both sides last agreed on for `name`, if it was ever synced. */
  base(name: string): string | undefined {
    return this.#bases.get(name);
  }

  /** Every recorded name. */
  names(): IterableIterator<string> {
    return this.#bases.keys();
  }

  /** How many files are recorded. */
  get size(): number {
    return this.#bases.size;
  }

  /**
   * Binds the folder to the project (a new snapshot folding in any journal) and opens
   * the journal for {@linkcode SyncStateStore.record}. Call it just before the first change.
   */
  bind(): void {
    if (this.#journal !== undefined) return;
    if (this.#unreadable !== undefined) {
      renameSync(this.#unreadable, `${this.#unreadable}${CORRUPT_MARK}${fileStamp()}`);
      this.#unreadable = undefined;
      // Its journal belongs to it: the bases it holds are not those of this new state.
      rmSync(join(this.#dir, JOURNAL_NAME), { force: true });
    }
    // Rewriting an up-to-date snapshot would cost a run of 20,000 files a second write of it.
    if (!this.#clean) this.#compact();
    this.#journal = openSync(join(this.#dir, JOURNAL_NAME), "a");
    // The journal's first line repeats the binding, for a snapshot lost between runs.
    this.#append({ server: this.#binding.server, project_id: this.#binding.projectId });
  }

  /** Records that both sides hold `etag` for `name`, or (`undefined`) that neither holds it. */
  record(name: string, etag: string | undefined): void {
    if (this.#journal === undefined) throw new Error("SyncStateStore.bind() was not called");
    if (etag === undefined) this.#bases.delete(name);
    else this.#bases.set(name, etag);
    this.#append({ n: name, e: etag ?? null });
  }

  /** Folds the journal into the snapshot. Safe to call more than once. */
  close(): void {
    if (this.#journal === undefined) return;
    closeSync(this.#journal);
    this.#journal = undefined;
    this.#compact();
  }

  #append(entry: unknown): void {
    writeSync(this.#journal!, JSON.stringify(entry) + "\n");
  }

  #compact(): void {
    mkdirSync(this.#dir, { recursive: true });
    const snapshot: Snapshot = {
      version: FORMAT_VERSION,
      server: this.#binding.server,
      project_id: this.#binding.projectId,
      files: Object.fromEntries(this.#bases),
    };
    const path = join(this.#dir, SNAPSHOT_NAME);
    const temp = `${path}.${Date.now()}.tmp`;
    writeFileSync(temp, JSON.stringify(snapshot));
    renameSync(temp, path);
    // The journal's entries are in the snapshot now; replaying them again would do no harm.
    rmSync(join(this.#dir, JOURNAL_NAME), { force: true });
  }
}

interface Snapshot {
  version: number;
  server: string;
  project_id: string;
  files: Record<string, string>;
}

function parseSnapshot(text: string): Snapshot | undefined {
  try {
    const value = JSON.parse(text);
    if (
      value?.version === FORMAT_VERSION && typeof value.server === "string" &&
      typeof value.project_id === "string" && typeof value.files === "object" &&
      value.files !== null &&
      Object.values(value.files).every((etag) => typeof etag === "string")
    ) return value;
  } catch {
    // Corrupt: the caller warns.
  }
  return undefined;
}

/** Applies the journal's entries to `bases`; returns the binding its first line names. */
function readJournal(
  dir: string,
  bases: Map<string, string>,
): { bound?: SyncBinding; found?: boolean } {
  let text: string;
  try {
    text = readFileSync(join(dir, JOURNAL_NAME), "utf8");
  } catch {
    return {};
  }
  let bound: SyncBinding | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // A torn line from a run killed mid-write.
    }
    if (typeof entry?.server === "string" && typeof entry.project_id === "string") {
      bound ??= { server: entry.server, projectId: entry.project_id };
    } else if (typeof entry?.n === "string") {
      if (typeof entry.e === "string") bases.set(entry.n, entry.e);
      else if (entry.e === null) bases.delete(entry.n);
    }
  }
  return { bound, found: text !== "" };
}

/** The binding a corrupt snapshot still shows, if its project id can be read. */
function salvageBinding(text: string, server: string): SyncBinding | undefined {
  const projectId = /"project_id"\s*:\s*"([^"\\]+)"/.exec(text)?.[1];
  if (projectId === undefined) return undefined;
  // Without a readable server, the project id alone decides.
  return { server: /"server"\s*:\s*"([^"\\]+)"/.exec(text)?.[1] ?? server, projectId };
}

/** Whether the state folder holds anything but a run's lock (a first run creates the lock). */
function holdsMoreThanLock(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => name !== LOCK_FILE_NAME);
  } catch {
    return false;
  }
}

/** The time now as `20261207T001900Z`. */
function fileStamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

function sameBinding(a: SyncBinding, b: SyncBinding): boolean {
  return a.projectId === b.projectId && normalizeServer(a.server) === normalizeServer(b.server);
}

function normalizeServer(url: string): string {
  return url.replace(/\/+$/, "").toLowerCase();
}
