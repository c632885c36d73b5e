/**
 * A project's file listing: all pages, with `etag` set; and one listing
 * shared by the uploads of a run that need one (a failed upload asks whether
 * the cloud now holds its bytes, and many uploads failing at once, as when a
 * proxy restarts, must not each fetch the whole listing).
 *
 * @module
 */
import type { RequestCore } from "../http.ts";
import type { Pagination } from "../pagination.ts";
import type { RemoteFile } from "../types.ts";

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

/** A point in the run's listings: a listing started after it shows what happened before it. */
export type ListingMark = number;

/** The listings of one run, each shared by whoever may take it. */
export class SharedListing {
  #core: RequestCore;
  #projectId: string;
  #signal: AbortSignal;
  #started = 0;
  #latest?: { number: number; files: Promise<Map<string, RemoteFile>> };

  constructor(core: RequestCore, projectId: string, signal: AbortSignal) {
    this.#core = core;
    this.#projectId = projectId;
    this.#signal = signal;
  }

  /** A mark taken now (when a try fails): {@linkcode after} gives a listing started later. */
  mark(): ListingMark {
    return this.#started;
  }

  /** Any listing of this run, started now if there is none. */
  any(): Promise<Map<string, RemoteFile>> {
    return this.after(-1);
  }

  /** A listing started after `mark`: the latest one if it did, else a new one. */
  after(mark: ListingMark): Promise<Map<string, RemoteFile>> {
    if (this.#latest && this.#latest.number > mark) return this.#latest.files;
    const number = ++this.#started;
    const files = listProjectFiles(this.#core, this.#projectId, this.#signal)
      .then((list) => new Map(list.map((file) => [file.name, file])));
    const latest = { number, files };
    this.#latest = latest;
    // A failed listing is not shared with later askers: they start another.
    files.catch(() => {
      if (this.#latest === latest) this.#latest = undefined;
    });
    return files;
  }
}

/**
 * What tells the versions of a listed file apart: the latest `version_id`, or (a listing
 * without versions) its etag and time.
 */
export function latestVersionOf(file: RemoteFile): string {
  return file.versions?.[0]?.version_id ?? `${file.md5sum} ${file.last_modified}`;
}
