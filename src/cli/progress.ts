/**
 * Transfer progress: a pure renderer ({@linkcode renderProgress}, tested by
 * string equality) and a {@linkcode ProgressDisplay} that redraws it on a
 * terminal. Nothing is animated unless stderr is a terminal and `--json` is
 * off; colors only without `NO_COLOR`.
 *
 * @module
 */

import stringWidth from "string-width";
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
/** A bar narrower than this says too little to be worth its room. */
const MIN_BAR_WIDTH = 8;

function percent(bytes: number, total: number | undefined): string {
  if (!total) return "";
  return `${Math.min(100, Math.floor((bytes / total) * 100))}%`;
}

function bar(bytes: number, total: number | undefined, color: boolean, width: number): string {
  const ratio = total ? Math.min(1, bytes / total) : 0;
  const filled = Math.round(ratio * width);
  const done = "#".repeat(filled);
  const todo = "-".repeat(width - filled);
  return color ? `[\x1b[32m${done}\x1b[2m${todo}\x1b[0m]` : `[${done}${todo}]`;
}

// deno-lint-ignore no-control-regex -- escape sequences are what is being matched
const ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]/y;
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * Columns the text takes on a terminal: escape sequences take none, East Asian
 * wide characters (CJK, most emoji) take two.
 *
 * @example
 * ```ts
 * import { visibleWidth } from "./progress.ts";
 * console.log(visibleWidth("\x1b[32m写真.jpg\x1b[0m")); // 8
 * ```
 */
export function visibleWidth(text: string): number {
  return stringWidth(text);
}

/** The text split into escape sequences (width 0) and graphemes with their widths. */
function pieces(text: string): { text: string; width: number }[] {
  const result: { text: string; width: number }[] = [];
  let plain = "";
  const flush = () => {
    for (const { segment } of graphemes.segment(plain)) {
      result.push({ text: segment, width: stringWidth(segment) });
    }
    plain = "";
  };
  for (let i = 0; i < text.length;) {
    ESCAPE.lastIndex = i;
    const escape = ESCAPE.exec(text);
    if (escape) {
      flush();
      result.push({ text: escape[0], width: 0 });
      i += escape[0].length;
    } else {
      plain += text[i++];
    }
  }
  flush();
  return result;
}

/**
 * Cuts the text to at most `width` columns, ending it with `…` when cut; escape
 * sequences are kept whole, and colors are reset after a cut.
 *
 * @example
 * ```ts
 * import { cutToWidth } from "./progress.ts";
 * console.log(cutToWidth("写真写真.jpg", 6)); // "写真…"
 * ```
 */
export function cutToWidth(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  let result = "";
  let used = 0;
  let escaped = false;
  for (const piece of pieces(text)) {
    if (piece.width === 0 && piece.text.startsWith("\x1b")) {
      escaped = true;
      result += piece.text;
      continue;
    }
    if (used + piece.width > width - 1) break;
    result += piece.text;
    used += piece.width;
  }
  return result + (width >= 1 ? "…" : "") + (escaped ? "\x1b[0m" : "");
}

/** Keeps the end of a name (the file, not its folders) within `max` columns. */
function shortenName(name: string, max: number): string {
  if (stringWidth(name) <= max) return name;
  const kept: string[] = [];
  let used = 1; // the leading …
  for (const piece of pieces(name).reverse()) {
    if (used + piece.width > max) break;
    kept.unshift(piece.text);
    used += piece.width;
  }
  return "…" + kept.join("");
}

/**
 * The overall line, fitted to the width: the bar shrinks, then the bar, the rate and the byte
 * counts go, in that order, before anything is cut.
 */
function overallLine(snapshot: ProgressSnapshot, options: RenderOptions): string {
  const { bytes, totalBytes, elapsedMs } = snapshot;
  const rate = elapsedMs > 0 ? (bytes / elapsedMs) * 1000 : 0;
  const amount = totalBytes !== undefined
    ? `${formatBytes(bytes)} / ${formatBytes(totalBytes)}`
    : formatBytes(bytes);
  const head = `${snapshot.verb} ${snapshot.doneFiles}/${snapshot.totalFiles} files`;
  const done = percent(bytes, totalBytes);
  const speed = `${formatBytes(rate)}/s`;
  const join = (parts: string[]) => parts.filter(Boolean).join("  ");
  const barRoom = options.width - stringWidth(join([head, amount, done, speed])) - 4; // 2 spaces, []
  if (barRoom >= MIN_BAR_WIDTH) {
    const barText = bar(bytes, totalBytes, options.color, Math.min(BAR_WIDTH, barRoom));
    return join([head, amount, barText, done, speed]);
  }
  const fallbacks = [[head, amount, done, speed], [head, amount, done], [head, done]];
  const fitting = fallbacks.map(join).find((line) => stringWidth(line) <= options.width);
  return fitting ?? cutToWidth(join([head, done]), options.width);
}

/**
 * Renders the progress as lines (without newlines): an overall line with
 * files, bytes, a bar, percent and rate, then one line per file in flight.
 * No line is wider than `width` columns, counted as a terminal does.
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
  const lines = [overallLine(snapshot, options)];
  const maxFiles = options.maxFileLines ?? 8;
  for (const file of snapshot.active.slice(0, maxFiles)) {
    const size = file.total !== undefined
      ? `${formatBytes(file.bytes)} / ${formatBytes(file.total)}`
      : formatBytes(file.bytes);
    const tail = [size, percent(file.bytes, file.total)].filter(Boolean).join("  ");
    const room = Math.max(8, options.width - stringWidth(tail) - 4);
    lines.push(cutToWidth(`  ${shortenName(file.name, room)}  ${tail}`, options.width));
  }
  if (snapshot.active.length > maxFiles) {
    lines.push(cutToWidth(`  … and ${snapshot.active.length - maxFiles} more`, options.width));
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

  /**
   * Erases the display and leaves the cursor at column 0 where it began, also when
   * the terminal echoed `^C` after it; call it on success, failure and interrupt alike.
   */
  finish(): void {
    if (!this.#options.live || this.#drawnLines === 0) return;
    this.#options.sink.write(this.#erase());
    this.#drawnLines = 0;
  }

  /** Back to column 0 (the terminal may have echoed `^C`), up over the drawn lines, clear below. */
  #erase(): string {
    return this.#drawnLines > 0 ? `\r\x1b[${this.#drawnLines}A\x1b[0J` : "";
  }

  #draw(): void {
    if (!this.#options.live) return;
    // One column to spare: a line that fills the last column wraps on some terminals.
    const width = Math.max(20, (this.#options.sink.columns ?? 80) - 1);
    const lines = renderProgress(this.snapshot(), { width, color: this.#options.color });
    this.#options.sink.write(this.#erase() + lines.join("\n") + "\n");
    this.#drawnLines = lines.length;
  }
}
