/**
 * Transfer progress: a pure renderer ({@linkcode renderProgress}, tested by
 * string equality) and a {@linkcode ProgressDisplay} that redraws it on a
 * terminal. Nothing is animated unless stderr is a terminal and `--json` is
 * off; colors only without `NO_COLOR`.
 *
 * @module
 */

import type { TransferProgressEvent } from "../../mod.ts";
import { formatBytes } from "./output.ts";
import type { TextSink } from "./io.ts";

/** One file being transferred. */
export interface FileProgress {
  /** Remote name of the file. */
  name: string;
  /** Bytes transferred so far. */
  bytes: number;
  /** Size of the file, when known. */
  total?: number;
}

/** Everything the progress display shows at one moment. */
export interface ProgressSnapshot {
  /** What is happening, e.g. `Uploading`. */
  verb: string;
  /** Files finished (transferred, skipped or failed). */
  doneFiles: number;
  /** Files in the transfer. */
  totalFiles: number;
  /** Bytes transferred over all files. */
  bytes: number;
  /** Bytes to transfer over all files, when known. */
  totalBytes?: number;
  /** Milliseconds since the transfer started. */
  elapsedMs: number;
  /** The files in flight. */
  active: readonly FileProgress[];
}

/** Options of {@linkcode renderProgress}. */
export interface RenderOptions {
  /** Terminal width; lines are cut to it. */
  width: number;
  /** Use ANSI colors. */
  color: boolean;
  /** At most this many per-file lines; default 8. */
  maxFileLines?: number;
}

const BAR_WIDTH = 20;

function percent(bytes: number, total: number | undefined): string {
  if (!total) return "";
  return `${Math.min(100, Math.floor((bytes / total) * 100))}%`;
}

function bar(bytes: number, total: number | undefined, color: boolean): string {
  const ratio = total ? Math.min(1, bytes / total) : 0;
  const filled = Math.round(ratio * BAR_WIDTH);
  const done = "#".repeat(filled);
  const todo = "-".repeat(BAR_WIDTH - filled);
  return color ? `[\x1b[32m${done}\x1b[2m${todo}\x1b[0m]` : `[${done}${todo}]`;
}

/** Visible length, ignoring ANSI escapes. */
function visibleLength(text: string): number {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "").length;
}

function cut(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  if (text.includes("\x1b")) return text; // colored lines are built to fit
  return text.slice(0, Math.max(0, width - 1)) + "…";
}

function shorten(name: string, max: number): string {
  if (name.length <= max) return name;
  return "…" + name.slice(name.length - Math.max(1, max - 1));
}

/**
 * Renders the progress as lines (without newlines): an overall line with
 * files, bytes, a bar, percent and rate, then one line per file in flight.
 *
 * @example
 * ```ts
 * import { renderProgress } from "./progress.ts";
 * const lines = renderProgress({
 *   verb: "Uploading", doneFiles: 1, totalFiles: 2, bytes: 1024, totalBytes: 2048,
 *   elapsedMs: 1000, active: [{ name: "a.gpkg", bytes: 0, total: 1024 }],
 * }, { width: 80, color: false });
 * console.log(lines[0]);
 * // "Uploading 1/2 files  1.0 KiB / 2.0 KiB  [##########----------]  50%  1.0 KiB/s"
 * ```
 */
export function renderProgress(snapshot: ProgressSnapshot, options: RenderOptions): string[] {
  const { bytes, totalBytes, elapsedMs } = snapshot;
  const rate = elapsedMs > 0 ? (bytes / elapsedMs) * 1000 : 0;
  const amount = totalBytes !== undefined
    ? `${formatBytes(bytes)} / ${formatBytes(totalBytes)}`
    : formatBytes(bytes);
  const overall = [
    `${snapshot.verb} ${snapshot.doneFiles}/${snapshot.totalFiles} files`,
    amount,
    bar(bytes, totalBytes, options.color),
    percent(bytes, totalBytes),
    `${formatBytes(rate)}/s`,
  ].filter(Boolean).join("  ");
  const lines = [cut(overall, options.width)];
  const maxFiles = options.maxFileLines ?? 8;
  for (const file of snapshot.active.slice(0, maxFiles)) {
    const size = file.total !== undefined
      ? `${formatBytes(file.bytes)} / ${formatBytes(file.total)}`
      : formatBytes(file.bytes);
    const tail = [size, percent(file.bytes, file.total)].filter(Boolean).join("  ");
    const room = Math.max(8, options.width - tail.length - 4);
    lines.push(cut(`  ${shorten(file.name, room)}  ${tail}`, options.width));
  }
  if (snapshot.active.length > maxFiles) {
    lines.push(`  … and ${snapshot.active.length - maxFiles} more`);
  }
  return lines;
}

/** Options of {@linkcode ProgressDisplay}. */
export interface ProgressDisplayOptions {
  /** Where to draw (stderr). */
  sink: TextSink;
  /** What is happening, e.g. `Uploading`. */
  verb: string;
  /** Draw at all: stderr is a terminal and `--json` is off. */
  live: boolean;
  /** Use ANSI colors. */
  color: boolean;
  /** Milliseconds between redraws; default 100. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Follows the transfer's progress events and redraws {@linkcode renderProgress}
 * in place on a terminal, at most every `intervalMs`. When not live it only
 * keeps the state.
 *
 * @example
 * ```ts
 * import { ProgressDisplay } from "./progress.ts";
 * const sink = { write: (t: string) => void Deno.stderr.writeSync(new TextEncoder().encode(t)), isTerminal: true };
 * const progress = new ProgressDisplay({ sink, verb: "Uploading", live: true, color: false });
 * progress.update({
 *   type: "file-end", operation: "upload", name: "a.txt", fileBytes: 10, fileSize: 10,
 *   totalBytes: 10, totalSize: 10, filesDone: 1, filesTotal: 1,
 * });
 * progress.finish();
 * ```
 */
export class ProgressDisplay {
  #options: ProgressDisplayOptions;
  #active = new Map<string, FileProgress>();
  #latest?: TransferProgressEvent;
  #startedAt?: number;
  #lastDraw = -Infinity;
  #drawnLines = 0;
  #now: () => number;

  /** Creates the display. */
  constructor(options: ProgressDisplayOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
  }

  /** The current state. */
  snapshot(): ProgressSnapshot {
    const latest = this.#latest;
    return {
      verb: this.#options.verb,
      doneFiles: latest?.filesDone ?? 0,
      totalFiles: latest?.filesTotal ?? 0,
      bytes: latest?.totalBytes ?? 0,
      totalBytes: latest?.totalSize || undefined,
      elapsedMs: this.#startedAt === undefined ? 0 : this.#now() - this.#startedAt,
      active: [...this.#active.values()],
    };
  }

  /** Records an event (the `onProgress` of the transfers) and redraws if it is time to. */
  update(event: TransferProgressEvent): void {
    this.#startedAt ??= this.#now();
    this.#latest = event;
    if (event.name !== undefined) {
      if (event.type === "file-end") this.#active.delete(event.name);
      else {
        this.#active.set(event.name, {
          name: event.name,
          bytes: event.fileBytes,
          total: event.fileSize || undefined,
        });
      }
    }
    const now = this.#now();
    if (now - this.#lastDraw >= (this.#options.intervalMs ?? 100)) {
      this.#lastDraw = now;
      this.#draw();
    }
  }

  /** Erases the display. */
  finish(): void {
    if (!this.#options.live || this.#drawnLines === 0) return;
    this.#options.sink.write(`\x1b[${this.#drawnLines}A\x1b[0J`);
    this.#drawnLines = 0;
  }

  #draw(): void {
    if (!this.#options.live) return;
    const width = Math.max(20, (this.#options.sink.columns ?? 80) - 1);
    const lines = renderProgress(this.snapshot(), { width, color: this.#options.color });
    const up = this.#drawnLines > 0 ? `\x1b[${this.#drawnLines}A\x1b[0J` : "";
    this.#options.sink.write(up + lines.join("\n") + "\n");
    this.#drawnLines = lines.length;
  }
}
