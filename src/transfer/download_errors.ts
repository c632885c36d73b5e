/**
 * The errors of a download: those a try ends with when it can be tried
 * again, and those of a local obstacle (something that is not a file where
 * the file goes, a file where one of its folders goes).
 *
 * @module
 */
import { lstat } from "node:fs/promises";
import { dirname, relative } from "node:path";
import { QfcException } from "../errors.ts";
import type { TransferAction } from "./plan.ts";

/** The end of a download try that another try may fix; named after its class. */
class RetrySignal extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The body broke off (network error, truncation, stall): retry and resume. */
export class BodyInterrupted extends RetrySignal {}
/** The partial file cannot be continued: delete it and start over. */
export class RestartDownload extends RetrySignal {}

/** The error of a download whose place is taken by something that is not a file. */
export function obstacle(
  action: Pick<TransferAction, "name" | "localPath">,
  cause?: unknown,
): QfcException {
  return new QfcException(
    `Cannot download "${action.name}" to "${action.localPath}": it is not a file`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The error of a download whose folder cannot be created because a file is in the way: names
 * that file (relative to `localDir` when given), or resolves to `undefined` when none is.
 */
export async function fileInTheWay(
  action: Pick<TransferAction, "name" | "localPath">,
  localDir: string | undefined,
  cause: unknown,
): Promise<QfcException | undefined> {
  for (let dir = dirname(action.localPath); dir !== dirname(dir); dir = dirname(dir)) {
    const info = await lstat(dir).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) return undefined;
    const shown = localDir === undefined ? dir : relative(localDir, dir);
    return new QfcException(
      `Cannot download "${action.name}" to "${action.localPath}": "${shown}" is a file, not a folder`,
      { cause },
    );
  }
  return undefined;
}
