/**
 * The exit codes of `qfieldcloud-cli`. Each kind of failure has its own code
 * so that scripts and CI can tell them apart; the table is printed in the
 * README and in `qfieldcloud-cli --help`.
 *
 * @module
 */

/**
 * Every exit code the CLI uses, by name.
 *
 * @example Branch on the exit code in a test
 * ```ts
 * import { ExitCode } from "./exit_codes.ts";
 * console.log(ExitCode.AUTH); // 3
 * ```
 */
export const ExitCode = {
  /** Everything worked. */
  OK: 0,
  /** An error that no other code describes. */
  FAILURE: 1,
  /** Bad command line: unknown command or option, missing argument, invalid choice. */
  USAGE: 2,
  /** Not logged in, wrong password, expired or rejected token (HTTP 401). */
  AUTH: 3,
  /** Logged in but not allowed (HTTP 403). */
  PERMISSION: 4,
  /** The project, file, job, user or organization does not exist (HTTP 404). */
  NOT_FOUND: 5,
  /** The server refused the request as invalid (HTTP 400, 405, 409, 413, 415, 416). */
  REJECTED: 6,
  /** The account's storage quota is exhausted (HTTP 402 `over_quota`). */
  QUOTA: 7,
  /** A transfer or bulk delete finished, but at least one file failed. */
  PARTIAL: 8,
  /** A waited-for job ended `failed` or `stopped`. */
  JOB_FAILED: 9,
  /** A wait or a request ran out of time. */
  TIMEOUT: 10,
  /** No answer from the server: connection refused, DNS or TLS failure. */
  NETWORK: 11,
  /** The server failed (HTTP 5xx, or an HTML error page from a proxy). */
  SERVER: 12,
  /** A push, pull or sync left conflicting files alone (resolve them with `--prefer`). */
  CONFLICT: 13,
  /**
   * A push, pull or sync stopped before doing anything: the folder is synced with another
   * project, or the plan deletes too many files (see `--allow-mass-delete`).
   */
  SYNC_REFUSED: 14,
  /**
   * Another run is working on the folder (push, pull and sync take one folder at a time).
   * 75 is `EX_TEMPFAIL` of sysexits.h: try again later.
   */
  BUSY: 75,
  /** Interrupted by Ctrl-C (SIGINT). */
  INTERRUPTED: 130,
} as const;

/** One of the values of {@linkcode ExitCode}. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

/**
 * A short description of each exit code, in the order of {@linkcode ExitCode};
 * used for the help text and the README table.
 *
 * @example Print the table
 * ```ts
 * import { EXIT_CODE_DESCRIPTIONS } from "./exit_codes.ts";
 * for (const [code, text] of EXIT_CODE_DESCRIPTIONS) console.log(code, text);
 * ```
 */
export const EXIT_CODE_DESCRIPTIONS: ReadonlyArray<readonly [ExitCode, string]> = [
  [ExitCode.OK, "success"],
  [ExitCode.FAILURE, "other error"],
  [ExitCode.USAGE, "usage error (unknown option, missing argument, invalid choice)"],
  [ExitCode.AUTH, "authentication failed or missing (HTTP 401)"],
  [ExitCode.PERMISSION, "permission denied (HTTP 403)"],
  [ExitCode.NOT_FOUND, "not found (HTTP 404)"],
  [ExitCode.REJECTED, "request rejected as invalid (HTTP 400, 405, 409, 413, 415, 416)"],
  [ExitCode.QUOTA, "storage quota exceeded (HTTP 402)"],
  [ExitCode.PARTIAL, "some files of a transfer or bulk delete failed"],
  [ExitCode.JOB_FAILED, "the job ended failed or stopped"],
  [ExitCode.TIMEOUT, "timed out"],
  [ExitCode.NETWORK, "network, DNS or TLS error (no response)"],
  [ExitCode.SERVER, "server error (HTTP 5xx)"],
  [ExitCode.CONFLICT, "push, pull or sync left conflicting files alone (see --prefer)"],
  [
    ExitCode.SYNC_REFUSED,
    "push, pull or sync refused before doing anything (folder bound to another project, mass deletion)",
  ],
  [ExitCode.BUSY, "the folder is in use by another run; try again when it has finished"],
  [ExitCode.INTERRUPTED, "interrupted (Ctrl-C)"],
];

/**
 * Maps an HTTP status (or its absence, for network failures) to an exit code.
 *
 * @example
 * ```ts
 * import { exitCodeForStatus } from "./exit_codes.ts";
 * console.log(exitCodeForStatus(404)); // 5
 * ```
 */
export function exitCodeForStatus(status: number | undefined): ExitCode {
  if (status === undefined) return ExitCode.NETWORK;
  if (status === 401) return ExitCode.AUTH;
  if (status === 402) return ExitCode.QUOTA;
  if (status === 403) return ExitCode.PERMISSION;
  if (status === 404) return ExitCode.NOT_FOUND;
  if (status === 408) return ExitCode.TIMEOUT;
  if (status >= 500) return ExitCode.SERVER;
  if (status >= 400) return ExitCode.REJECTED;
  return ExitCode.FAILURE;
}
