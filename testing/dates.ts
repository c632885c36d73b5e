/**
 * The date formats of the test server's JSON, shared by all route files.
 *
 * @module
 */
function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * Formats a datetime as DRF does in UTC: ISO-8601 with microseconds (omitted
 * when zero, like Python's `isoformat`) and `Z`. Hand-built dicts
 * (`packages/latest`, `status/`) show the same text.
 *
 * @example
 * ```ts
 * import { formatDateTime } from "./dates.ts";
 * formatDateTime(new Date("2026-08-21T17:37:14.123Z")); // "2026-08-21T17:37:14.123000Z"
 * ```
 */
export function formatDateTime(date: Date): string {
  const base = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  const ms = date.getUTCMilliseconds();
  return ms === 0 ? `${base}Z` : `${base}.${pad(ms, 3)}000Z`;
}

/**
 * Formats a nullable datetime with {@linkcode formatDateTime}.
 *
 * @example
 * ```ts
 * import { formatNullableDateTime } from "./dates.ts";
 * formatNullableDateTime(null); // null
 * ```
 */
export function formatNullableDateTime(date: Date | null | undefined): string | null {
  return date ? formatDateTime(date) : null;
}

/**
 * Formats a file's `last_modified`: `"%d.%m.%Y %H:%M:%S UTC"`.
 *
 * @example
 * ```ts
 * import { formatLastModified } from "./dates.ts";
 * formatLastModified(new Date("2026-08-21T17:37:14Z")); // "21.08.2026 17:37:14 UTC"
 * ```
 */
export function formatLastModified(date: Date): string {
  return `${pad(date.getUTCDate())}.${pad(date.getUTCMonth() + 1)}.${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC`;
}

/**
 * Formats a file version's `display`: `"vYYYYmmddHHMMSS"` in UTC.
 *
 * @example
 * ```ts
 * import { formatVersionDisplay } from "./dates.ts";
 * formatVersionDisplay(new Date("2026-08-21T17:37:14Z")); // "v20260821173714"
 * ```
 */
export function formatVersionDisplay(date: Date): string {
  return `v${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
    `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
}
