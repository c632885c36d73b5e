/**
 * The errors a download try ends with when it can be tried again.
 *
 * @module
 */

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
