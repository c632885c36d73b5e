/**
 * Downloaded files get the cloud's modification time, as rclone does, so that
 * tools sorting by date see the cloud's dates.
 *
 * @module
 */
import { setFileTimes } from "./fast_fs.ts";

/** `dd.mm.YYYY HH:MM:SS UTC`, the form of the listings' `last_modified`. */
const LISTED_TIME = /^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2}) UTC$/;

/**
 * Reads a time of the API: `dd.mm.YYYY HH:MM:SS UTC` (the listings' `last_modified`) or
 * ISO 8601. Resolves to `undefined` for anything else.
 *
 * @example
 * ```ts
 * import { parseCloudTime } from "./cloud_mtime.ts";
 * parseCloudTime("07.12.2026 00:19:00 UTC")?.toISOString(); // "2026-12-07T00:19:00.000Z"
 * ```
 */
export function parseCloudTime(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const listed = LISTED_TIME.exec(text);
  if (listed) {
    const [day, month, year, hours, minutes, seconds] = listed.slice(1).map(Number);
    const date = new Date(Date.UTC(year, month - 1, day, hours, minutes, seconds));
    // Date.UTC rolls 31.02 over into March, month 13 into January: a time that does not read
    // back is not one.
    const readsBack = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 &&
      date.getUTCDate() === day && date.getUTCHours() === hours &&
      date.getUTCMinutes() === minutes && date.getUTCSeconds() === seconds;
    return readsBack ? date : undefined;
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Sets the modification time of `path` to the cloud's `lastModified`, when it can be read. */
export async function setCloudMtime(path: string, lastModified: string | undefined): Promise<void> {
  const mtime = parseCloudTime(lastModified);
  if (mtime) await setFileTimes(path, new Date(), mtime);
}
