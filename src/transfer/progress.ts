/**
 * The running totals of a transfer call, emitted as progress events (their types are in
 * `./types.ts` with the other transfer types, and re-exported here).
 *
 * @module
 */
import type { TransferOperation, TransferProgressEvent, TransferResult } from "./types.ts";

export type { TransferOperation, TransferProgressEvent } from "./types.ts";

/**
 * Keeps the running totals of one call and emits {@linkcode TransferProgressEvent}s.
 * Internal to the transfer functions; exported for them and for tests.
 *
 * @example
 * ```ts
 * import { ProgressTracker } from "./progress.ts";
 * const tracker = new ProgressTracker("download", (e) => console.log(e.type, e.totalBytes));
 * tracker.plan(1, 10);
 * tracker.start("a.txt", 10);
 * tracker.bytes("a.txt", 10, 10);
 * tracker.end({ name: "a.txt", status: "SUCCESS", size: 10 });
 * ```
 */
export class ProgressTracker {
  #operation: TransferOperation;
  #listener?: (event: TransferProgressEvent) => void;
  #perFile = new Map<string, number>();
  #totalBytes = 0;
  #totalSize = 0;
  #filesDone = 0;
  #filesTotal = 0;

  /** Creates a tracker that reports to `listener` (if any). */
  constructor(operation: TransferOperation, listener?: (event: TransferProgressEvent) => void) {
    this.#operation = operation;
    this.#listener = listener;
  }

  /** Sets the totals once the plan is known. */
  plan(filesTotal: number, totalSize: number): void {
    this.#filesTotal = filesTotal;
    this.#totalSize = totalSize;
    this.#emit({ type: "plan" }, 0, 0);
  }

  /** A file starts, with `already` bytes in place (a resumed download). */
  start(name: string, size: number, already = 0): void {
    this.#set(name, already);
    this.#emit({ type: "file-start", name }, already, size);
  }

  /** A file has now moved `bytes` of `size` bytes (it may go down when a try is restarted). */
  bytes(name: string, bytes: number, size: number): void {
    this.#set(name, bytes);
    this.#emit({ type: "file-bytes", name }, bytes, size);
  }

  /** A file is done. */
  end(result: TransferResult): void {
    this.#filesDone++;
    const bytes = this.#perFile.get(result.name) ?? 0;
    this.#perFile.delete(result.name); // its bytes stay counted; the map holds files in flight
    this.#emit({ type: "file-end", name: result.name, result }, bytes, result.size);
  }

  #set(name: string, bytes: number): void {
    this.#totalBytes += bytes - (this.#perFile.get(name) ?? 0);
    this.#perFile.set(name, bytes);
  }

  #emit(
    event: Pick<TransferProgressEvent, "type" | "name" | "result">,
    fileBytes: number,
    fileSize: number,
  ): void {
    if (!this.#listener) return;
    this.#listener({
      ...event,
      operation: this.#operation,
      fileBytes,
      fileSize,
      totalBytes: this.#totalBytes,
      totalSize: this.#totalSize,
      filesDone: this.#filesDone,
      filesTotal: this.#filesTotal,
    });
  }
}
