/**
 * Which failed requests of an action are worth another try, and which may
 * have been carried out by the server although the client saw a failure (a
 * proxy that answered 502 after the app handled the request, a reset).
 *
 * @module
 */
import { QfcRequestException } from "../../errors.ts";
import { RETRY_STATUSES } from "../../http.ts";

/** Whether a request failed in a way worth another try: no answer, 429 or a 5xx of a proxy. */
export function isRetryableRequestFailure(error: unknown): boolean {
  return error instanceof QfcRequestException &&
    (error.status === undefined || RETRY_STATUSES.has(error.status));
}

/**
 * Whether a failed request may have been carried out: no answer (a reset), or a 5xx. A 429 or
 * another 4xx was refused before anything was done.
 */
export function mayHaveBeenCarriedOut(error: unknown): boolean {
  if (!(error instanceof QfcRequestException)) return false;
  return error.status === undefined || (error.status >= 500 && error.status <= 504);
}
