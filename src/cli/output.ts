/**
 * How commands print. In `--human` mode: tables and sentences on stdout,
 * notices and warnings on stderr. In `--json` mode: exactly one JSON document
 * on stdout (keys sorted, two-space indent, as the Python CLI prints them).
 * Every write goes through a redactor, so that a known secret never shows.
 *
 * @module
 */

import stringWidth from "string-width";
import type { TextSink } from "./io.ts";

/**
 * Serializes a value as JSON with object keys sorted at every level and a
 * two-space indent, so that the output is stable and diffable.
 *
 * @example
 * ```ts
 * import { stableJson } from "./output.ts";
 * console.log(stableJson({ b: 1, a: [true] }));
 * // {
 * //   "a": [
 * //     true
 * //   ],
 * //   "b": 1
 * // }
 * ```
 */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) ?? "null";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(record).sort()) {
      if (record[key] !== undefined) sorted[key] = sortKeys(record[key]);
    }
    return sorted;
  }
  return value;
}

/** A column of {@linkcode formatTable}. */
export interface Column<T> {
  /** Header text. */
  header: string;
  /** The cell text of a row. */
  value: (row: T) => string;
  /** Align right (numbers). */
  right?: boolean;
}

/**
 * Lays rows out as a plain-text table: a header line, then one line per row,
 * columns separated by two spaces, the last column not padded.
 *
 * @example
 * ```ts
 * import { formatTable } from "./output.ts";
 * const text = formatTable([{ n: "a", s: 1 }], [
 *   { header: "NAME", value: (r) => r.n },
 *   { header: "SIZE", value: (r) => String(r.s), right: true },
 * ]);
 * console.log(text); // "NAME  SIZE\na        1\n"
 * ```
 */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => clean(column.value(row))));
  // Widths in terminal columns: a CJK character or an emoji takes two, a combining mark none.
  const widths = columns.map((column, i) =>
    Math.max(stringWidth(column.header), ...cells.map((line) => stringWidth(line[i])))
  );
  const render = (line: string[]): string =>
    line.map((cell, i) => {
      const padding = " ".repeat(widths[i] - stringWidth(cell));
      if (columns[i].right) return padding + cell;
      return i === line.length - 1 ? cell : cell + padding;
    }).join("  ").trimEnd() + "\n";
  return render(columns.map((column) => column.header)) + cells.map(render).join("");
}

/** Keeps a cell on one line. */
function clean(text: string): string {
  return text.replace(/[\r\n\t]+/g, " ");
}

/**
 * Formats a byte count with binary units, e.g. `1.5 MiB`.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./output.ts";
 * console.log(formatBytes(1536)); // "1.5 KiB"
 * ```
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** Options of {@linkcode Output}. */
export interface OutputOptions {
  /** `--json` mode. */
  json: boolean;
  /** Use ANSI colors on stderr (a terminal and no `NO_COLOR`). */
  color: boolean;
  /** `--quiet`: print nothing but errors (and the `--json` document, which was asked for). */
  quiet?: boolean;
}

/**
 * The printer every command uses.
 *
 * @example
 * ```ts
 * import { Output } from "./output.ts";
 * const sink = { write: (t: string) => console.log(t), isTerminal: false };
 * const out = new Output(sink, sink, { json: false, color: false });
 * out.result({ id: 1 }, () => out.line("Project 1"));
 * ```
 */
export class Output {
  #stdout: TextSink;
  #stderr: TextSink;
  #options: OutputOptions;
  #secrets = new Set<string>();
  #printedJson = false;

  /** Creates the printer over the two streams. */
  constructor(stdout: TextSink, stderr: TextSink, options: OutputOptions) {
    this.#stdout = stdout;
    this.#stderr = stderr;
    this.#options = options;
  }

  /** `--json` mode. */
  get json(): boolean {
    return this.#options.json;
  }

  /** Colors on stderr. */
  get color(): boolean {
    return this.#options.color;
  }

  /** `--quiet` mode: only errors are printed. */
  get quiet(): boolean {
    return this.#options.quiet ?? false;
  }

  /** True when human-readable results are printed: neither `--json` nor `--quiet`. */
  get human(): boolean {
    return !this.json && !this.quiet;
  }

  /** Standard error, for live progress. */
  get stderrSink(): TextSink {
    return this.#stderr;
  }

  /** True once the JSON document has been printed. */
  get printedJson(): boolean {
    return this.#printedJson;
  }

  /** Registers a secret (token, password) that must never be printed. */
  addSecret(secret: string | undefined): void {
    if (secret && secret.length >= 4) this.#secrets.add(secret);
  }

  /** Replaces every registered secret in the text with `***`. */
  redact(text: string): string {
    let result = text;
    for (const secret of this.#secrets) result = result.split(secret).join("***");
    return result;
  }

  /**
   * Prints the command's result: `data` as the JSON document in `--json`
   * mode, otherwise whatever `human` prints.
   */
  result(data: unknown, human: () => void): void {
    if (this.json) this.printJson(data);
    else human();
  }

  /** Prints the JSON document (once per run). */
  printJson(data: unknown): void {
    if (this.#printedJson) throw new Error("A JSON document was already printed");
    this.#printedJson = true;
    this.#stdout.write(this.redact(stableJson(data)) + "\n");
  }

  /** Prints a line of the human result on stdout (ignored in `--json` and `--quiet` modes). */
  line(text = ""): void {
    if (this.human) this.#stdout.write(this.redact(text) + "\n");
  }

  /** Prints a table on stdout (ignored in `--json` and `--quiet` modes). */
  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    if (this.human) this.#stdout.write(this.redact(formatTable(rows, columns)));
  }

  /**
   * Prints a line on stdout that deliberately contains a secret (the
   * `export QFIELDCLOUD_TOKEN=...` line of `login`), bypassing the redactor.
   */
  secretLine(text: string): void {
    if (this.human) this.#stdout.write(text + "\n");
  }

  /**
   * Prints the JSON document of `login`, which carries the new token on purpose.
   */
  secretJson(data: unknown): void {
    this.#printedJson = true;
    this.#stdout.write(stableJson(data) + "\n");
  }

  /** Prints a notice on stderr (both modes; not with `--quiet`). */
  notice(text: string): void {
    if (!this.quiet) this.#stderr.write(this.redact(text) + "\n");
  }

  /** Prints lines on stderr that explain an error (a failed job's feedback), even with `--quiet`. */
  errorDetail(text: string): void {
    this.#stderr.write(this.redact(text) + "\n");
  }

  /** Prints `warning: ...` on stderr (both modes; not with `--quiet`). */
  warn(text: string): void {
    if (this.quiet) return;
    const label = this.color ? "\x1b[33mwarning\x1b[0m" : "warning";
    this.#stderr.write(`${label}: ${this.redact(text)}\n`);
  }

  /** Prints `error: ...` on stderr. */
  error(line: string): void {
    const text = this.redact(line);
    this.#stderr.write(
      (this.color ? text.replace(/^error:/, "\x1b[31merror\x1b[0m:") : text) + "\n",
    );
  }

  /** Prints raw text on stderr (debug lines, stack traces). */
  debug(text: string): void {
    this.#stderr.write(this.redact(text) + "\n");
  }
}
