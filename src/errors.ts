/**
 * Errors thrown by the client, and the one rule every throw in this library follows:
 *
 * - **A bad argument from the caller is a `TypeError` or a `RangeError`**, as in denoland/std:
 *   a wrong or missing value (`TypeError`), or a number out of range (`RangeError`). It is a bug
 *   in the calling code, found before any request or file is touched: fix the call rather than
 *   catch it.
 * - **What a caller is meant to catch is a {@linkcode QfcException}**: a failed request
 *   ({@linkcode QfcRequestException}), a failed job, a timeout, a file or folder that cannot be
 *   read or written, a sync refused. Catch `QfcException` for all of them.
 * - A plain `Error` only marks a broken internal invariant: a bug in this library.
 *
 * Every error class takes its `name` from its own class (`new.target.name`). Messages are one
 * line in sentence case, quote the value at fault, end without a period, and say what to do
 * (or, when nothing can be done, why) after a colon:
 * `Cannot use the server URL "ftp://x": only http and https are supported`.
 *
 * @module
 */

/**
 * The base of every error a caller is meant to catch (bad arguments are `TypeError` or
 * `RangeError` instead; see the module's rule).
 *
 * @example Catch any client error
 * ```ts
 * import { Client, QfcException } from "@qfieldcloud/sdk";
 * try {
 *   await new Client({ url: "https://app.qfield.cloud/api/v1/" }).listProjects();
 * } catch (error) {
 *   if (error instanceof QfcException) console.error(error.message);
 * }
 * ```
 */
export class QfcException extends Error {
  /** Creates the error; `cause` keeps the underlying error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** What a {@linkcode QfcRequestException} knows about the failed request. */
export interface QfcRequestExceptionInit {
  /** HTTP method of the request. */
  method: string;
  /** Full URL of the request (never holds a token). */
  url: string;
  /** HTTP status, absent for network errors and timeouts. */
  status?: number;
  /** The server's error `code`, such as `object_not_found`. */
  code?: string;
  /** The server's error `message`, or a one-line summary of a non-JSON error page. */
  serverMessage?: string;
  /** The underlying error (network failure, abort, timeout). */
  cause?: unknown;
}

/**
 * A request that failed: an error status from the server, a network failure or
 * a timeout. Carries the status, the server's `code` and `message`, the method
 * and the URL, but never the token.
 *
 * @example React to a missing project
 * ```ts
 * import { Client, QfcRequestException } from "@qfieldcloud/sdk";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * try {
 *   await client.getProject("8d1a2c8e-0000-0000-0000-000000000000");
 * } catch (error) {
 *   if (error instanceof QfcRequestException && error.code === "object_not_found") {
 *     console.error("No such project");
 *   }
 * }
 * ```
 */
export class QfcRequestException extends QfcException {
  /** HTTP method of the request. */
  readonly method: string;
  /** URL of the request. */
  readonly url: string;
  /** HTTP status; `undefined` when no response arrived. */
  readonly status?: number;
  /** The server's error code, e.g. `permission_denied`; `undefined` for non-JSON answers. */
  readonly code?: string;
  /** The server's error message, or a one-line summary of an HTML error page. */
  readonly serverMessage?: string;

  /** Creates the error from what is known about the request. */
  constructor(init: QfcRequestExceptionInit) {
    super(describe(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.method = init.method;
    this.url = init.url;
    this.status = init.status;
    this.code = init.code;
    this.serverMessage = init.serverMessage;
  }
}

function describe(init: QfcRequestExceptionInit): string {
  const target = `${init.method} ${init.url}`;
  if (init.status === undefined) {
    const reason = init.cause instanceof Error ? init.cause.message : String(init.cause ?? "");
    return `${target} failed: ${reason || "no response"}`;
  }
  const parts = [String(init.status), init.code, init.serverMessage].filter(Boolean);
  return `${target} failed: ${parts.join(" ")}`;
}

/**
 * A job ended `failed` or `stopped` while {@linkcode Client.waitForJob} waited on it.
 *
 * @example
 * ```ts
 * import { Client, QfcJobFailedException } from "@qfieldcloud/sdk";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * try {
 *   await client.waitForJob("3f0c…");
 * } catch (error) {
 *   if (error instanceof QfcJobFailedException) console.error(error.job.feedback);
 * }
 * ```
 */
export class QfcJobFailedException extends QfcException {
  /** The job as last seen, with its `status` and `feedback`. */
  readonly job: { id: string; status: string; type: string; feedback: unknown; output: unknown };

  /** Creates the error for a job that ended without finishing. */
  constructor(job: QfcJobFailedException["job"]) {
    super(`Job "${job.id}" (${job.type}) ended with status "${job.status}"${feedbackLine(job)}`);
    this.job = job;
  }
}

/**
 * A wait ran out of time, such as {@linkcode Client.waitForJob} with `timeoutMs`.
 *
 * @example
 * ```ts
 * import { QfcTimeoutException } from "@qfieldcloud/sdk";
 * const error = new QfcTimeoutException("Job did not finish within 60 s");
 * console.log(error.name); // "QfcTimeoutException"
 * ```
 */
export class QfcTimeoutException extends QfcException {}

function feedbackLine(job: { feedback: unknown; output: unknown }): string {
  const text = summarizeFeedback(job.feedback) ??
    (typeof job.output === "string" ? job.output : "");
  const line = text.trim().split("\n").filter(Boolean).at(-1);
  return line ? `: ${line.slice(0, 300)}` : "";
}

/** Finds the most telling error text in a job's feedback object. */
function summarizeFeedback(feedback: unknown): string | undefined {
  if (feedback === null || feedback === undefined) return undefined;
  if (typeof feedback === "string") return feedback;
  if (typeof feedback !== "object") return String(feedback);
  const record = feedback as Record<string, unknown>;
  for (const key of ["error", "error_stack", "message", "detail"]) {
    const value = record[key];
    if (typeof value === "string" && value) return value;
    if (Array.isArray(value) && value.length) return value.map(String).join("\n");
  }
  return undefined;
}

/**
 * A single sign-on step failed: the identity provider refused a code or a refresh
 * token, the redirect did not match the authorization, or the server offers no
 * such provider. Logging in again (in the browser) is the way out.
 *
 * @example
 * ```ts
 * import { QfcSsoException } from "@qfieldcloud/sdk";
 * const error = new QfcSsoException('The identity provider answered "invalid_grant"');
 * console.log(error.name); // "QfcSsoException"
 * ```
 */
export class QfcSsoException extends QfcException {}
