/**
 * A failure as a transfer reports it: a FAILED result with a one-line reason.
 *
 * @module
 */
import { FileTransferStatus } from "../types.ts";
import type { TransferResult } from "./types.ts";

/** Turns anything thrown into an `Error`. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The result of a file that failed with `error`. */
export function failedResult(result: TransferResult, error: unknown): TransferResult {
  return {
    ...result,
    status: FileTransferStatus.FAILED,
    reason: reasonOf(error),
    error: asError(error),
  };
}

/** One line describing an error, for a result's `reason`. */
export function reasonOf(error: unknown): string {
  const message = asError(error).message;
  return message.split("\n")[0];
}
