/**
 * The test server's side of single sign-on, as the real server has it:
 *
 * - the hand-over, after opengisch/QFieldCloud
 *   `docker-app/qfieldcloud/core/middleware/qgis_auth.py`: a request without a
 *   session that carries `Authorization: Bearer` and/or `X-QFC-ID-Token`, and
 *   `X-QFC-IDP-ID`, is authenticated by the provider's tokens and logged in
 *   with a Django session (`sessionid` and `csrftoken` cookies). The ID token's
 *   signature, `iss`, `aud` and `exp` are checked, and its `jti` is accepted
 *   once: allauth blacklists it, and a failure there is an unhandled exception,
 *   which Django answers with its HTML 500 page;
 * - DRF's `SessionAuthentication`: a session cookie authenticates requests
 *   (after a token, which wins), and POST, PUT, PATCH and DELETE need an
 *   `X-CSRFToken` equal to the `csrftoken` cookie (and, on HTTPS, a `Referer` of
 *   the same origin), else `403 permission_denied`.
 *
 * A request whose `sessionid` names no live session (expired, unknown, or of a
 * deactivated user) and that is no hand-over is anonymous, so it gets 401 where
 * the API needs a login; and, as Django's `SessionMiddleware` does, the answer
 * carries a `Set-Cookie` for `sessionid`: a new, empty session's key when
 * middlewares have written to the session (the server's `client_type.py` and
 * `qgis_auth.py` do), or a deletion. {@linkcode SsoMiddleware.staleSession}
 * chooses which. A hand-over rotates `csrftoken`, as Django's `login()` does.
 *
 * `POST auth/logout/` does not end such a session on the real server; nor here.
 *
 * @module
 */
import { ApiError } from "./router.ts";
import type { User } from "./entities.ts";
import type { ServerState } from "./server_state.ts";
import type { FakeOidcProvider } from "./sso_provider.ts";

/** Django's `SESSION_COOKIE_AGE` default: two weeks. */
const SESSION_SECONDS = 14 * 24 * 3600;
/** Django's `CSRF_COOKIE_AGE` default: a year. */
const CSRF_SECONDS = 31_449_600;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** Django's page for an unhandled exception with DEBUG off. */
const DJANGO_500_HTML = `<!doctype html>
<html lang="en">
<head>
  <title>Server Error (500)</title>
</head>
<body>
  <h1>Server Error (500)</h1><p></p>
</body>
</html>
`;

interface WebSession {
  user: User;
  csrfToken: string;
  expiresAt: number;
}

/** What the middleware found out about a request. */
export interface SessionResult {
  /** The user of the session (new or existing), if any. */
  user?: User;
  /** `Set-Cookie` values to add to the response. */
  setCookies: string[];
  /** An answer that replaces the whole request (the 500 of a failed hand-over). */
  response?: Response;
}

function cookiesOf(request: Request): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const equals = part.indexOf("=");
    if (equals > 0) cookies.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  return cookies;
}

function randomKey(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => alphabet[b % 36]).join("");
}

function setCookie(name: string, value: string, seconds: number, httpOnly: boolean): string {
  const expires = new Date(Date.now() + seconds * 1000).toUTCString();
  return `${name}=${value}; expires=${expires}; ${
    httpOnly ? "HttpOnly; " : ""
  }Max-Age=${seconds}; ` +
    "Path=/; SameSite=Lax";
}

/**
 * Sessions and the single sign-on hand-over of the test server.
 *
 * @example
 * ```ts ignore
 * const middleware = new SsoMiddleware(state, provider);
 * const result = await middleware.process(request);
 * ```
 */
export class SsoMiddleware {
  readonly #state: ServerState;
  readonly #provider: FakeOidcProvider;
  readonly #sessions = new Map<string, WebSession>();
  readonly #usedJtis = new Set<string>();
  readonly #quiet: boolean;
  /**
   * How a stale `sessionid` is answered: `"replace"` (default) sets a new anonymous
   * session's key, `"delete"` deletes the cookie.
   */
  staleSession: "replace" | "delete" = "replace";

  /** Serves the sessions of the provider's users. */
  constructor(state: ServerState, provider: FakeOidcProvider, options: { quiet?: boolean } = {}) {
    this.#state = state;
    this.#provider = provider;
    this.#quiet = options.quiet ?? false;
  }

  /** Ends every session now, as their expiry would. */
  expireSessions(): void {
    for (const session of this.#sessions.values()) session.expiresAt = 0;
  }

  /** Number of live sessions. */
  get sessionCount(): number {
    return [...this.#sessions.values()].filter((s) => s.expiresAt > Date.now()).length;
  }

  /** Runs before authentication: finds the session, or performs the hand-over. */
  async process(request: Request): Promise<SessionResult> {
    const cookies = cookiesOf(request);
    const sessionKey = cookies.get("sessionid");
    const session = this.#sessions.get(sessionKey ?? "");
    if (session && session.expiresAt > Date.now() && session.user.isActive) {
      return { user: session.user, setCookies: [] };
    }
    const anonymous: SessionResult = {
      setCookies: sessionKey === undefined ? [] : [this.#staleSessionCookie()],
    };
    const idToken = request.headers.get("x-qfc-id-token") ?? undefined;
    const authorization = request.headers.get("authorization") ?? "";
    const accessToken = authorization.startsWith("Bearer ")
      ? authorization.split(" ")[1]
      : undefined;
    if (!idToken && !accessToken) return anonymous;
    const idpId = request.headers.get("x-qfc-idp-id");
    if (!idpId || idpId !== this.#provider.id) return anonymous;
    let username: string | undefined;
    try {
      username = await this.#verify(idToken, accessToken);
    } catch (error) {
      if (!this.#quiet) console.error(`SSO hand-over refused: ${(error as Error).message}`);
      return { setCookies: [], response: this.#serverError() };
    }
    const user = username ? this.#state.findUser(username) : undefined;
    if (!user || user.type !== "person" || !user.isActive) {
      return { setCookies: [], response: this.#serverError() };
    }
    const key = randomKey();
    const csrfToken = randomKey(); // login() rotates the CSRF token
    this.#sessions.set(key, {
      user,
      csrfToken,
      expiresAt: Date.now() + SESSION_SECONDS * 1000,
    });
    return {
      user,
      setCookies: [
        setCookie("csrftoken", csrfToken, CSRF_SECONDS, false),
        setCookie("sessionid", key, SESSION_SECONDS, true),
      ],
    };
  }

  /**
   * DRF's CSRF check for a request authenticated by its session: throws
   * `403 permission_denied` for an unsafe method without a matching token.
   */
  enforceCsrf(request: Request, url: URL): void {
    if (SAFE_METHODS.has(request.method)) return;
    const cookie = cookiesOf(request).get("csrftoken");
    const header = request.headers.get("x-csrftoken");
    if (!cookie || header !== cookie) throw new ApiError("permission_denied");
    if (url.protocol === "https:") {
      const referer = request.headers.get("referer");
      if (!referer || new URL(referer).origin !== url.origin) {
        throw new ApiError("permission_denied");
      }
    }
  }

  #staleSessionCookie(): string {
    if (this.staleSession === "delete") {
      return 'sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax';
    }
    // A new session that holds no user: it authenticates nothing.
    return setCookie("sessionid", randomKey(), SESSION_SECONDS, true);
  }

  async #verify(idToken?: string, accessToken?: string): Promise<string | undefined> {
    if (idToken) {
      const claims = await this.#provider.verifyIdToken(idToken);
      const jti = claims.jti;
      if (typeof jti !== "string") throw new Error("ID token without jti");
      if (this.#usedJtis.has(jti)) throw new Error(`ID token replayed (jti ${jti})`);
      this.#usedJtis.add(jti);
      const name = claims.preferred_username ?? claims.sub;
      return typeof name === "string" ? name : undefined;
    }
    const username = this.#provider.userOfAccessToken(accessToken!);
    if (!username) throw new Error("Unknown or expired access token");
    return username;
  }

  #serverError(): Response {
    return new Response(DJANGO_500_HTML, {
      status: 500,
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  }
}
