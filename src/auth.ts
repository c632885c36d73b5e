/**
 * How requests prove who sends them: an API token, or a Django session (the
 * cookies of a single sign-on login). The request core asks the
 * {@linkcode Authenticator} in use for headers, shows it the responses, and
 * lets it renew once after a 401; it does not care which kind it is.
 *
 * @module
 */

/**
 * The seam between the request core and a way of authenticating.
 *
 * @example A custom header instead of a token
 * ```ts
 * import { type Authenticator, Client } from "@qfieldcloud/sdk";
 * const viaProxy: Authenticator = {
 *   apply(headers) {
 *     headers.set("X-Proxy-User", "surveyor");
 *   },
 * };
 * const client = new Client({ url: "https://qfc.example.com/api/v1/", auth: viaProxy });
 * ```
 */
export interface Authenticator {
  /** Adds the credentials to the headers of a request about to be sent to `url`. */
  apply(headers: Headers, method: string, url: URL): void;
  /** Sees each response to an authenticated request, e.g. to keep the cookies the server set. */
  observe?(response: Response): void;
  /**
   * Called after a 401 with the headers that were sent: gets fresh credentials and resolves
   * `true` when the request should be sent again (once). Concurrent calls share one renewal.
   */
  renew?(sent: Headers): Promise<boolean>;
}

/**
 * Authenticates with an API token, sent as `Authorization: Token <key>` as the
 * Python SDK does. `Client` builds one from its `token` option.
 *
 * @example
 * ```ts
 * import { Client, TokenAuth } from "@qfieldcloud/sdk";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", auth: new TokenAuth("…") });
 * ```
 */
export class TokenAuth implements Authenticator {
  /** The token. */
  readonly token: string;

  /** Wraps a token; an empty one is a `TypeError`. */
  constructor(token: string) {
    if (!token) throw new TypeError("Cannot authenticate with an empty token: pass a token");
    this.token = token;
  }

  /** Sets the `Authorization` header. */
  apply(headers: Headers): void {
    headers.set("Authorization", `Token ${this.token}`);
  }
}

/** The cookies of a session, by name (`sessionid`, `csrftoken`, …). */
export type SessionCookies = Record<string, string>;

/** One cookie from a `Set-Cookie` header. */
export interface SetCookie {
  /** Cookie name. */
  name: string;
  /** Cookie value; `""` when the server deletes it. */
  value: string;
  /** When it expires, from `Max-Age` or `Expires`; `undefined` for a browser-session cookie. */
  expires?: Date;
}

/**
 * Reads the `Set-Cookie` headers of a response (only name, value and expiry:
 * the client talks to one server, so `Domain` and `Path` do not matter).
 *
 * @example
 * ```ts
 * import { parseSetCookies } from "@qfieldcloud/sdk";
 * const response = new Response(null, { headers: { "set-cookie": "sessionid=abc; Max-Age=60; Path=/" } });
 * console.log(parseSetCookies(response)[0].name); // "sessionid"
 * ```
 */
export function parseSetCookies(response: Response, now: Date = new Date()): SetCookie[] {
  const cookies: SetCookie[] = [];
  for (const header of response.headers.getSetCookie()) {
    const [pair, ...attributes] = header.split(";");
    const equals = pair.indexOf("=");
    if (equals <= 0) continue;
    const cookie: SetCookie = {
      name: pair.slice(0, equals).trim(),
      value: pair.slice(equals + 1).trim().replace(/^"(.*)"$/, "$1"),
    };
    for (const attribute of attributes) {
      const [key, ...rest] = attribute.split("=");
      const value = rest.join("=").trim();
      const name = key.trim().toLowerCase();
      if (name === "max-age" && /^-?\d+$/.test(value)) {
        // Max-Age wins over Expires (RFC 6265 §5.3).
        cookie.expires = new Date(now.getTime() + Number(value) * 1000);
        break;
      }
      if (name === "expires" && Number.isFinite(Date.parse(value))) {
        cookie.expires = new Date(Date.parse(value));
      }
    }
    cookies.push(cookie);
  }
  return cookies;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** Options of {@linkcode SessionAuth}. */
export interface SessionAuthOptions {
  /**
   * Gets the cookies of a new session when the server no longer accepts this one
   * (see `renewSsoSession`); throw to give up. Without it a 401 is final.
   */
  renew?: () => Promise<SessionCookies>;
}

/**
 * Authenticates with a Django session, as QFieldSync and QField do after a single
 * sign-on: the `sessionid` and `csrftoken` cookies on every request, plus
 * `X-CSRFToken` (equal to the `csrftoken` cookie) and a `Referer` on POST, PUT,
 * PATCH and DELETE, which Django's CSRF check wants (the Referer on HTTPS).
 *
 * @example
 * ```ts
 * import { Client, SessionAuth } from "@qfieldcloud/sdk";
 * const auth = new SessionAuth({ sessionid: "…", csrftoken: "…" });
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/", auth });
 * ```
 */
export class SessionAuth implements Authenticator {
  #cookies: Map<string, string>;
  #renew?: () => Promise<SessionCookies>;
  #renewing?: Promise<boolean>;
  /** How many renewals have completed; only {@linkcode SessionAuth.renew} increases it. */
  #generation = 0;
  /** The generation each sent `sessionid` was sent under (`""`: none). */
  #sentUnder = new Map<string, number>();

  /** Starts from these cookies. */
  constructor(cookies: SessionCookies, options: SessionAuthOptions = {}) {
    this.#cookies = new Map(Object.entries(cookies));
    this.#renew = options.renew;
  }

  /** The current cookies (secrets: never print them). */
  get cookies(): SessionCookies {
    return Object.fromEntries(this.#cookies);
  }

  /** Sends the cookies, and the CSRF header and Referer on unsafe methods. */
  apply(headers: Headers, method: string, url: URL): void {
    this.#sentUnder.set(this.#cookies.get("sessionid") ?? "", this.#generation);
    if (this.#cookies.size > 0) {
      headers.set(
        "Cookie",
        [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; "),
      );
    }
    const csrf = this.#cookies.get("csrftoken");
    if (!SAFE_METHODS.has(method.toUpperCase()) && csrf) {
      headers.set("X-CSRFToken", csrf);
      headers.set("Referer", url.href);
    }
  }

  /**
   * Keeps cookies the server sets or deletes (Django rotates `csrftoken`, for one), except
   * on a 401: Django then deletes or replaces the dead `sessionid`, and a late 401 must not
   * wipe the session a renewal has just brought.
   */
  observe(response: Response): void {
    if (response.status === 401) return;
    for (const cookie of parseSetCookies(response)) {
      const expired = cookie.expires !== undefined && cookie.expires.getTime() <= Date.now();
      if (cookie.value === "" || expired) this.#cookies.delete(cookie.name);
      else this.#cookies.set(cookie.name, cookie.value);
    }
  }

  /** Renews the session once for all the requests that failed with the same one. */
  renew(sent: Headers): Promise<boolean> {
    if (!this.#renew) return Promise.resolve(false);
    // A renewal completed since this request was sent: just send it again.
    const sentSession = /(?:^|;\s*)sessionid=([^;]*)/.exec(sent.get("Cookie") ?? "")?.[1] ?? "";
    const sentGeneration = this.#sentUnder.get(sentSession) ?? this.#generation;
    if (sentGeneration < this.#generation) return Promise.resolve(true);
    this.#renewing ??= this.#renew().then((cookies) => {
      this.#cookies = new Map(Object.entries(cookies));
      this.#generation++;
      return true;
    }).finally(() => this.#renewing = undefined);
    return this.#renewing;
  }
}
