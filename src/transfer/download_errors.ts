/**
 * The errors a download try ends with when it can be tried again.
 *
 * @module
 */

/** The body broke off (network error, truncation, stall): retry and resume. */
export class BodyInterrupted extends Error {}
/** The partial file cannot be continued: delete it and start over. */
export class RestartDownload extends Error {}
