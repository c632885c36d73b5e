/**
 * Turning any error into one `error: ...` line, an exit code and a JSON
 * object, with a hint on what to do. Stack traces only with `--debug`.
 *
 * @module
 */

import {
  QfcException,
  QfcFolderBoundException,
  QfcFolderBusyException,
  QfcJobFailedException,
  QfcMassDeletionException,
  QfcRequestException,
  QfcTimeoutException,
} from "../../mod.ts";
import { ExitCode, exitCodeForStatus } from "./exit_codes.ts";

/**
 * An error in how the CLI was called (exit code 2), raised by the CLI's own
 * checks after commander has parsed the arguments.
 *
 * @example
 * ```ts
 * import { CliUsageError } from "./errors.ts";
 * throw new CliUsageError('Invalid limit "abc": expected a positive integer');
 * ```
 */
export class CliUsageError extends Error {
  /** What to do instead; the default points to `--help`. */
  readonly hint?: string;
  /** Creates the error. */
  constructor(message: string, options?: CliErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** Options of {@linkcode CliError} and {@linkcode CliUsageError}. */
export interface CliErrorOptions extends ErrorOptions {
  /** What to do about it, printed after the message. */
  hint?: string;
}

/**
 * A failure the CLI detected itself, with the exit code to end with.
 *
 * @example
 * ```ts
 * import { CliError } from "./errors.ts";
 * import { ExitCode } from "./exit_codes.ts";
 * throw new CliError("2 of 5 files failed to upload", ExitCode.PARTIAL);
 * ```
 */
export class CliError extends Error {
  /** The exit code to end with. */
  readonly exitCode: ExitCode;
  /** What to do about it, if there is advice. */
  readonly hint?: string;
  /** Creates the error. */
  constructor(message: string, exitCode: ExitCode = ExitCode.FAILURE, options?: CliErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options?.hint;
  }
}

/** What the CLI reports about an error. */
export interface ErrorReport {
  /** The exit code. */
  exitCode: ExitCode;
  /** One line, without the `error: ` prefix. */
  message: string;
  /** What to do about it, if there is advice. */
  hint?: string;
  /** The object printed under `"error"` in `--json` mode. */
  json: {
    message: string;
    exit_code: number;
    hint: string | null;
    status: number | null;
    code: string | null;
    server_message: string | null;
    method: string | null;
    url: string | null;
  };
}

const LOGIN_HINT =
  'log in with "qfieldcloud-cli login USERNAME", or pass -t/--token or set QFIELDCLOUD_TOKEN';
const SSO_LOGIN_HINT =
  'The single sign-on session was not accepted: run "qfieldcloud-cli login --sso" again';

/**
 * The line for a single sign-on session that has expired and could not be renewed.
 *
 * @example
 * ```ts
 * import { ssoExpiredMessage } from "./errors.ts";
 * console.log(ssoExpiredMessage("https://app.qfield.cloud/api/v1/"));
 * ```
 */
export function ssoExpiredMessage(url: string): string {
  return `The single sign-on session for "${url}" has expired and could not be renewed: ` +
    'run "qfieldcloud-cli login --sso" again';
}

/** What {@linkcode describeError} knows of the run. */
export interface ErrorContext {
  /** The saved login for the server is a single sign-on session: a 401 asks for `login --sso`. */
  ssoLogin?: boolean;
}

/** The messages of the error's cause chain, outermost first. */
function causeMessages(error: Error): string[] {
  const messages: string[] = [];
  let cause = error.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 8; depth++) {
    messages.push(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return messages;
}

/** A hint for the failure of one kind of request, where the server's code alone says too little. */
interface RequestHint {
  /** The request's method. */
  method: string;
  /** Matches the end of the request's path. */
  path: RegExp;
  /** The answer's status. */
  status: number;
  /** The answer's code, when only that code means this. */
  code?: string;
  /** What to do. */
  hint: string;
}

/**
 * The real server answers several mistakes with a generic code (`api_error`,
 * `validation_error`, `permission_denied`); what they mean depends on the request.
 */
const REQUEST_HINTS: readonly RequestHint[] = [
  {
    method: "POST",
    path: /\/collaborators\/[^/]+\/$/,
    status: 400,
    code: "validation_error",
    hint: "The user is already a collaborator (change the role with collaborators-patch), " +
      "owns the project, or is not a member of the organization that owns it",
  },
  {
    method: "GET",
    path: /\/jobs\/[^/]+\/$/,
    status: 403,
    hint:
      'No such job, or no access to it: see a project\'s jobs with "qfieldcloud-cli list-jobs P"',
  },
  {
    method: "GET",
    path: /\/projects\/[^/]+\/seed\/$/,
    status: 404,
    hint: "This project was not created from a seed",
  },
  {
    method: "GET",
    path: /\/projects\/[^/]+\/seed\/xlsform\/$/,
    status: 404,
    hint: "This project was not created from an XLSForm",
  },
  {
    method: "POST",
    path: /\/users\/$/,
    status: 403,
    hint: "Only the server's staff users (is_staff) can create users",
  },
];

function requestHint(error: QfcRequestException): string | undefined {
  let path: string;
  try {
    path = new URL(error.url).pathname;
  } catch {
    return undefined;
  }
  return REQUEST_HINTS.find((rule) =>
    rule.method === error.method && rule.status === error.status && rule.path.test(path) &&
    (rule.code === undefined || rule.code === error.code)
  )?.hint;
}

function hintFor(error: QfcRequestException): string | undefined {
  const cause = causeMessages(error).join(" | ");
  const specific = requestHint(error);
  if (specific) return specific;
  switch (error.code) {
    case "not_authenticated":
      return `Not logged in: ${LOGIN_HINT}`;
    case "token_authentication_failed":
      return `The token is unknown or has expired: ${LOGIN_HINT}`;
    case "authentication_failed":
      return "Check the username and password; 5 failed logins lock the account for 30 minutes";
    case "too_many_failed_login_attempts":
      return "The account is locked after too many failed logins; wait 30 minutes";
    case "over_quota":
      return "The owner's storage is full: delete files or versions, or upgrade the plan";
    case "project_already_exists":
      return "Choose another name, or another --owner";
    case "no_qgis_project":
      return "Upload a .qgs or .qgz file first";
    case "multiple_projects":
      return "A project holds one QGIS file: delete or rename the other .qgs/.qgz first";
    case "invalid_job":
      return 'The project has not been packaged yet: run "qfieldcloud-cli job-trigger PROJECT_ID package --wait"';
  }
  if (error.status === undefined) {
    if (/certificate|tls|ssl|handshake/i.test(cause)) {
      return "The server's TLS certificate was not accepted: trust its CA with --ca-cert FILE, or pass --no-verify-ssl";
    }
    return "Check the URL (-U/--url or QFIELDCLOUD_URL) and the network";
  }
  if (error.status === 401) return LOGIN_HINT;
  if (error.status === 403) {
    return "Your role does not allow this; ask a project or organization admin";
  }
  if (error.status === 404 && error.code === undefined) {
    return "The server answered with a page, not the API: check that the URL ends in /api/v1/";
  }
  if (error.status === 404) return "Check the id or name";
  if (error.status >= 500) {
    return 'The server failed; try again later, or check "qfieldcloud-cli status"';
  }
  return undefined;
}

/** The request's path for people: `%20` and other escapes of file names shown as the characters. */
function pathOf(url: string): string {
  try {
    const parsed = new URL(url);
    const path = parsed.pathname + parsed.search;
    try {
      return decodeURI(path); // keeps %2F, %3F and %23 encoded, so the path stays unambiguous
    } catch {
      return path;
    }
  } catch {
    return url;
  }
}

/** What the server said (or why there was no answer), and on which request unless `brief`. */
function describeRequestError(error: QfcRequestException, brief = false): string {
  const target = `${error.method} ${pathOf(error.url)}`;
  if (error.status === undefined) {
    // The innermost cause is the telling one ("fetch failed" wraps "invalid peer certificate").
    const cause = (causeMessages(error).at(-1) ?? "").replace(/^(TypeError|Error): /, "");
    return `${brief ? "No response" : `${target} got no response`}${
      cause ? `: ${firstLine(cause)}` : ""
    }`;
  }
  const what = error.serverMessage ? firstLine(error.serverMessage) : `HTTP ${error.status}`;
  const code = error.code ? `${error.code}, HTTP ${error.status}` : `HTTP ${error.status}`;
  return brief ? `${what} (${code})` : `${what} (${code}) on ${target}`;
}

function firstLine(text: string): string {
  return text.split(/\r?\n/, 1)[0].trim();
}

function isAbort(error: unknown): boolean {
  return error instanceof Error &&
    (error.name === "AbortError" || error instanceof Deno.errors.Interrupted);
}

/**
 * Describes an error for the user: the exit code, one line and a hint.
 *
 * @example
 * ```ts
 * import { describeError } from "./errors.ts";
 * const report = describeError(new Error("boom"));
 * console.log(report.exitCode, report.message); // 1 "boom"
 * ```
 */
export function describeError(error: unknown, context: ErrorContext = {}): ErrorReport {
  let exitCode: ExitCode = ExitCode.FAILURE;
  let message: string;
  let hint: string | undefined;
  let request: QfcRequestException | undefined;
  if (error instanceof QfcRequestException) {
    request = error;
    const timedOut = error.status === undefined &&
      causeMessages(error).some((text) => /^TimeoutError|timed? ?out/i.test(text));
    exitCode = timedOut ? ExitCode.TIMEOUT : exitCodeForStatus(error.status);
    message = describeRequestError(error);
    hint = error.status === 401 && context.ssoLogin ? SSO_LOGIN_HINT : hintFor(error);
    if (timedOut) hint = "The server did not answer in time; raise --read-timeout";
  } else if (error instanceof QfcJobFailedException) {
    exitCode = ExitCode.JOB_FAILED;
    message = error.message;
  } else if (error instanceof QfcFolderBusyException) {
    exitCode = ExitCode.BUSY;
    message = error.message;
  } else if (
    error instanceof QfcFolderBoundException || error instanceof QfcMassDeletionException
  ) {
    exitCode = ExitCode.SYNC_REFUSED;
    message = error.message;
  } else if (error instanceof QfcTimeoutException) {
    exitCode = ExitCode.TIMEOUT;
    message = error.message;
  } else if (error instanceof CliUsageError) {
    exitCode = ExitCode.USAGE;
    message = error.message;
    hint = error.hint ?? 'See "qfieldcloud-cli --help"';
  } else if (error instanceof CliError) {
    exitCode = error.exitCode;
    message = error.message;
    hint = error.hint;
  } else if (isAbort(error)) {
    exitCode = ExitCode.INTERRUPTED;
    message = "Interrupted";
  } else if (error instanceof Deno.errors.NotFound) {
    message = firstLine(error.message);
  } else if (error instanceof QfcException || error instanceof Error) {
    message = firstLine(error.message) || error.name;
  } else {
    message = String(error);
  }
  return {
    exitCode,
    message,
    hint,
    json: {
      message,
      exit_code: exitCode,
      hint: hint ?? null,
      status: request?.status ?? null,
      code: request?.code ?? null,
      server_message: request?.serverMessage ?? null,
      method: request?.method ?? null,
      url: request?.url ?? null,
    },
  };
}

/**
 * Formats the report as the one line printed on stderr.
 *
 * @example
 * ```ts
 * import { describeError, formatErrorLine } from "./errors.ts";
 * console.log(formatErrorLine(describeError(new Error("boom")))); // "error: boom"
 * ```
 */
export function formatErrorLine(report: ErrorReport): string {
  const hint = report.hint ? `. ${report.hint}` : "";
  return `error: ${report.message.replace(/\.$/, "")}${hint}`;
}

/**
 * One short line for an error that belongs to something already named, such as a
 * file in a transfer's table: what went wrong and what to do, without the request
 * (its percent-encoded URL says nothing the file name does not).
 *
 * @example
 * ```ts
 * import { briefErrorLine } from "./errors.ts";
 * console.log(briefErrorLine(new Error("Disk full"))); // "Disk full"
 * ```
 */
export function briefErrorLine(error: unknown): string {
  const report = describeError(error);
  const message = error instanceof QfcRequestException
    ? describeRequestError(error, true)
    : report.message;
  return report.hint ? `${message.replace(/\.$/, "")}. ${report.hint}` : message;
}
