/**
 * How a complete download is checked before it is renamed into place: by its
 * etag (hashed while the bytes arrive) or by its size alone.
 *
 * @module
 */
import { RestartDownload } from "./download_errors.ts";
import type { DownloadVerification } from "./types.ts";

const VERIFICATIONS: readonly DownloadVerification[] = ["etag", "size"];

/** Checks and defaults the `verify` option: by etag unless told otherwise. */
export function verificationOf(verify: DownloadVerification | undefined): DownloadVerification {
  if (verify === undefined) return "etag";
  if (VERIFICATIONS.includes(verify)) return verify;
  throw new TypeError(
    `Unknown verify option "${verify}": use one of ${
      VERIFICATIONS.map((v) => `"${v}"`).join(", ")
    }`,
  );
}

/** Whether a whole (not resumed) download is checked by its etag rather than its size alone. */
export function checksByEtag(
  verify: DownloadVerification,
  expectedSize: number | undefined,
): boolean {
  if (expectedSize === undefined) return true; // with no size to check, the etag is all there is
  return verify === "etag";
}

/** Checks the downloaded bytes' etag against the expected one (or else the server's ETag). */
export function checkEtag(
  expectedEtag: string | undefined,
  actual: string,
  serverEtag: string | undefined,
  resumed: boolean,
) {
  const expected = expectedEtag ?? serverEtag;
  if (expected === undefined || expected === actual) return;
  const what = resumed ? " (after resuming a partial file)" : "";
  throw new RestartDownload(
    `the downloaded bytes have etag "${actual}" but "${expected}" was expected${what}`,
  );
}

/** Reads an `ETag` header if it holds an S3-style etag (`"<md5 hex>[-<parts>]"`). */
export function parseEtag(header: string | null): string | undefined {
  if (!header) return undefined;
  const value = header.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
  return /^[0-9a-f]{32}(-\d+)?$/.test(value) ? value : undefined;
}
