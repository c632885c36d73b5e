/**
 * The steps of a single sign-on login, as QFieldSync and QField do it
 * (opengisch/qfieldsync `qfieldsync/core/cloud_api.py`, opengisch/QField
 * `src/core/qfieldcloudconnection.cpp`), for scripts with their own UI:
 *
 * 1. {@linkcode listAuthProviders}: the server names its identity providers
 *    (`docker-app/qfieldcloud/authentication/sso/auth_providers.py`).
 * 2. {@linkcode startSsoAuthorization}: an authorization-code URL with PKCE
 *    (S256) and a `state`, to open in a browser. The provider redirects the
 *    browser to the loopback address the server named.
 * 3. {@linkcode completeSsoAuthorization}: from that redirect URL, the code is
 *    exchanged for tokens at the provider (no client secret), and the tokens are
 *    handed to the server with `GET auth/user/`
 *    (`core/middleware/qgis_auth.py`), which answers with a Django session: its
 *    cookies authenticate the client from then on; no API token is issued.
 * 4. {@linkcode renewSsoSession}: when the session has expired, a refresh at the
 *    provider and a new hand-over. An ID token is accepted only once (the server
 *    answers a replayed one with HTTP 500), so an old one is never sent again.
 *
 * Opening a browser and listening on the loopback are left to the caller.
 *
 * @module
 */
import { parseSetCookies, SessionAuth, type SessionCookies } from "./auth.ts";
import type { Client } from "./client.ts";
import { QfcRequestException, QfcSsoException } from "./errors.ts";
import type { AuthProvider } from "./types.ts";

/**
 * An identity provider of type `oauth2`, as `server/info/` lists it
 * (`get_oauth2_provider` in the server's `auth_providers.py`). It never holds a
 * client secret: the client is a public one.
 */
export interface OAuth2Provider extends AuthProvider {
  /** Always `"oauth2"`. */
  type: "oauth2";
  /** The provider's authorization endpoint. */
  request_url: string;
  /** The provider's token endpoint. */
  token_url: string;
  /** Where to refresh tokens (the token endpoint on every real server). */
  refresh_token_url: string;
  /** The public client's id at the provider. */
  client_id: string;
  /** Scopes, `openid` first. */
  scope: string;
  /** Whether to use PKCE; decides it, not `grant_flow`. */
  pkce_enabled: boolean;
  /** A QGIS grant-flow number, kept for QGIS; its numbering has changed over versions. */
  grant_flow?: number;
  /** Loopback host of the redirect (`localhost` on real servers). */
  redirect_host: string;
  /** Loopback port of the redirect (7070 on real servers). */
  redirect_port: number;
  /** Path of the redirect below `/` (`""` on real servers). */
  redirect_url: string;
  /** Extra tokens to hand over, by token name: `{"id_token": "X-QFC-ID-Token"}`. */
  extra_tokens?: Record<string, string>;
  /** Header naming the provider at the hand-over: `X-QFC-IDP-ID`. */
  idp_id_header?: string;
}

/** An authorization in progress: open `url` in a browser, keep the rest for the completion. */
export interface SsoAuthorization {
  /** The provider. */
  provider: OAuth2Provider;
  /** The URL to open in the browser. */
  url: string;
  /** The loopback URL the provider redirects the browser to. */
  redirectUri: string;
  /** The `state` the redirect must carry back. */
  state: string;
  /** The PKCE verifier (a secret), when the provider uses PKCE. */
  codeVerifier?: string;
}

/** Tokens from the provider's token endpoint. */
export interface SsoTokens {
  /** The access token, handed over as `Authorization: Bearer`. */
  access_token: string;
  /** The OpenID Connect ID token, handed over once. */
  id_token?: string;
  /** The refresh token, kept to renew the session. */
  refresh_token?: string;
  /** Lifetime of the access token in seconds. */
  expires_in?: number;
  /** `Bearer`. */
  token_type?: string;
}

/** A session on the server obtained by single sign-on; every field but `username` is a secret. */
export interface SsoSession {
  /** The provider it came through, kept for renewals. */
  provider: OAuth2Provider;
  /** The session cookies (`sessionid`, `csrftoken`). */
  cookies: SessionCookies;
  /** The provider's refresh token, to renew the session. */
  refreshToken?: string;
  /** Who is logged in. */
  username: string;
  /** When the session cookie expires (ISO 8601), if the server said. */
  expiresAt?: string;
}

/** The user `GET auth/user/` describes. */
export interface SsoUser {
  /** Username. */
  username: string;
  /** E-mail address. */
  email?: string;
  /** Other fields of the answer. */
  [key: string]: unknown;
}

/** What a completed sign-on gives. */
export interface SsoLogin {
  /** The user, as the server describes it. */
  user: SsoUser;
  /** The session, to store (it is a secret) and to use again with {@linkcode useSsoSession}. */
  session: SsoSession;
}

/** Options of {@linkcode useSsoSession}. */
export interface UseSsoSessionOptions {
  /**
   * Gets a new session for the one the server no longer accepts. Default
   * {@linkcode renewSsoSession}; a caller that shares a stored session between processes
   * can take one another process has already renewed instead.
   */
  renew?: (session: SsoSession) => Promise<SsoSession>;
  /** Called with the new session after each silent renewal, e.g. to store it. */
  onRenewed?: (session: SsoSession) => void | Promise<void>;
}

const DEFAULT_ID_TOKEN_HEADER = "X-QFC-ID-Token";
const DEFAULT_IDP_ID_HEADER = "X-QFC-IDP-ID";
const PROVIDER_TIMEOUT_MS = 60_000;

/**
 * Lists the ways to sign in the server offers: `server/info/`'s `auth_providers`,
 * or the deprecated `auth/providers/` on servers without them (a 404 before v26.4,
 * an answer without `auth_providers` from v26.4 to v26.7). Needs no login.
 *
 * @example
 * ```ts
 * import { Client, isOAuth2Provider, listAuthProviders } from "@qfieldcloud/sdk";
 * const client = new Client({ url: "https://app.qfield.cloud/api/v1/" });
 * const sso = (await listAuthProviders(client)).filter(isOAuth2Provider);
 * console.log(sso.map((provider) => provider.id));
 * ```
 */
export async function listAuthProviders(client: Client): Promise<AuthProvider[]> {
  const response = await client.core.request({
    path: ["server", "info"],
    auth: false,
    acceptStatuses: [404],
  });
  if (response.status !== 404) {
    const info = await response.json().catch(() => undefined);
    if (Array.isArray(info?.auth_providers)) return info.auth_providers;
  } else {
    await response.body?.cancel();
  }
  const providers = await client.core.json<unknown>({ path: ["auth", "providers"], auth: false });
  if (!Array.isArray(providers)) {
    throw new QfcSsoException(
      'The answer to "auth/providers/" is not a list: check the server URL',
    );
  }
  return providers as AuthProvider[];
}

/**
 * Whether a provider is a single sign-on one (`oauth2`) that this client can use.
 *
 * @example
 * ```ts
 * import { isOAuth2Provider } from "@qfieldcloud/sdk";
 * console.log(isOAuth2Provider({ type: "credentials", id: "credentials", name: "Password" })); // false
 * ```
 */
export function isOAuth2Provider(provider: AuthProvider): provider is OAuth2Provider {
  const p = provider as Partial<OAuth2Provider>;
  return p.type === "oauth2" && typeof p.id === "string" && typeof p.request_url === "string" &&
    typeof p.token_url === "string" && typeof p.client_id === "string";
}

/**
 * The loopback URL a provider redirects to: `http://<redirect_host>:<redirect_port>/<redirect_url>`.
 *
 * @example
 * ```ts ignore
 * ssoRedirectUri(provider); // "http://localhost:7070/"
 * ```
 */
export function ssoRedirectUri(provider: OAuth2Provider): string {
  const host = provider.redirect_host || "localhost";
  const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const path = (provider.redirect_url ?? "").replace(/^\/+/, "");
  return `http://${hostPart}:${provider.redirect_port}/${path}`;
}

/**
 * Starts an authorization: a fresh `state` and (when `pkce_enabled`) a PKCE
 * verifier with its S256 challenge, and the provider URL to open in a browser.
 *
 * @example
 * ```ts ignore
 * const authorization = await startSsoAuthorization(provider);
 * console.error(`Open ${authorization.url}`);
 * ```
 */
export async function startSsoAuthorization(
  provider: OAuth2Provider,
  options: { state?: string; codeVerifier?: string } = {},
): Promise<SsoAuthorization> {
  const redirectUri = ssoRedirectUri(provider);
  const state = options.state ?? randomUrlSafe(16);
  const url = new URL(provider.request_url);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", provider.client_id);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("scope", provider.scope || "openid");
  url.searchParams.set("state", state);
  let codeVerifier: string | undefined;
  if (provider.pkce_enabled) {
    codeVerifier = options.codeVerifier ?? randomUrlSafe(32);
    url.searchParams.set("code_challenge", await pkceChallenge(codeVerifier));
    url.searchParams.set("code_challenge_method", "S256");
  }
  return { provider, url: url.href, redirectUri, state, codeVerifier };
}

/**
 * Completes an authorization from the URL the provider redirected the browser to:
 * checks its `state`, exchanges the code for tokens, hands them over to the server
 * and makes the client use the new session (renewed silently, see
 * {@linkcode useSsoSession}). Throws {@linkcode QfcSsoException} when the provider
 * refused, or the redirect belongs to another authorization.
 *
 * @example
 * ```ts ignore
 * const { user, session } = await completeSsoAuthorization(client, authorization, redirectUrl);
 * console.log(`Logged in as ${user.username}`);
 * ```
 */
export async function completeSsoAuthorization(
  client: Client,
  authorization: SsoAuthorization,
  redirectUrl: string | URL,
): Promise<SsoLogin> {
  let url: URL;
  try {
    url = new URL(redirectUrl, authorization.redirectUri);
  } catch {
    throw new QfcSsoException("Cannot read the redirect URL: it is not a URL");
  }
  const params = url.searchParams;
  const error = params.get("error");
  if (error) {
    const description = params.get("error_description");
    throw new QfcSsoException(
      `The identity provider refused the sign-in: "${error}"${
        description ? ` (${description})` : ""
      }`,
    );
  }
  if (params.get("state") !== authorization.state) {
    throw new QfcSsoException(
      "The redirect does not belong to this sign-in (its state differs): start again",
    );
  }
  const code = params.get("code");
  if (!code) {
    throw new QfcSsoException("The redirect URL carries no authorization code: sign in again");
  }
  const provider = authorization.provider;
  const tokens = await requestTokens(client, provider.token_url, {
    grant_type: "authorization_code",
    code,
    redirect_uri: authorization.redirectUri,
    client_id: provider.client_id,
    code_verifier: authorization.codeVerifier,
  });
  const login = await handOver(client, provider, tokens);
  useSsoSession(client, login.session);
  return login;
}

/**
 * Gets a new session for an expired one: new tokens from the provider's refresh
 * endpoint (`grant_type=refresh_token`), then a new hand-over with the new ID token
 * (never the old one, which the server would refuse with a 500).
 *
 * @example
 * ```ts ignore
 * const fresh = await renewSsoSession(client, stored);
 * ```
 */
export async function renewSsoSession(client: Client, session: SsoSession): Promise<SsoSession> {
  if (!session.refreshToken) {
    throw new QfcSsoException(
      "The session has expired and the provider gave no refresh token: sign in again",
    );
  }
  const provider = session.provider;
  const tokens = await requestTokens(client, provider.refresh_token_url || provider.token_url, {
    grant_type: "refresh_token",
    refresh_token: session.refreshToken,
    client_id: provider.client_id,
  });
  // Providers that do not rotate refresh tokens answer without one: keep the old.
  tokens.refresh_token ??= session.refreshToken;
  return (await handOver(client, provider, tokens)).session;
}

/**
 * Makes the client authenticate with a stored session, renewing it silently (with
 * {@linkcode renewSsoSession}) when the server no longer accepts it.
 *
 * @example
 * ```ts ignore
 * useSsoSession(client, stored, { onRenewed: (session) => save(session) });
 * console.log(await client.listProjects());
 * ```
 */
export function useSsoSession(
  client: Client,
  session: SsoSession,
  options: UseSsoSessionOptions = {},
): SessionAuth {
  let current = session;
  const auth = new SessionAuth(session.cookies, {
    renew: async () => {
      current = await (options.renew ?? ((old) => renewSsoSession(client, old)))(current);
      await options.onRenewed?.(current);
      return current.cookies;
    },
  });
  client.core.auth = auth;
  return auth;
}

async function handOver(
  client: Client,
  provider: OAuth2Provider,
  tokens: SsoTokens,
): Promise<SsoLogin> {
  const headers: Record<string, string> = {
    "Authorization": `Bearer ${tokens.access_token}`,
    [provider.idp_id_header || DEFAULT_IDP_ID_HEADER]: provider.id,
  };
  if (tokens.id_token) {
    headers[provider.extra_tokens?.id_token || DEFAULT_ID_TOKEN_HEADER] = tokens.id_token;
  }
  // Not retried: a resent ID token is a replay, which the server answers with a 500.
  const response = await client.core.request({
    path: ["auth", "user"],
    auth: false,
    retry: false,
    headers,
  });
  const cookies = parseSetCookies(response);
  const user = await response.json() as SsoUser;
  const sessionCookie = cookies.find((cookie) => cookie.name === "sessionid" && cookie.value);
  if (!sessionCookie) {
    throw new QfcSsoException(
      `The server accepted the sign-in through "${provider.id}" but started no session`,
    );
  }
  const session: SsoSession = {
    provider,
    cookies: Object.fromEntries(
      cookies.filter((cookie) => cookie.value).map((cookie) => [cookie.name, cookie.value]),
    ),
    refreshToken: tokens.refresh_token,
    username: user.username,
    expiresAt: sessionCookie.expires?.toISOString(),
  };
  return { user, session };
}

async function requestTokens(
  client: Client,
  tokenUrl: string,
  form: Record<string, string | undefined>,
): Promise<SsoTokens> {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) if (value !== undefined) body.set(key, value);
  let response: Response;
  try {
    response = await client.core.fetch(tokenUrl, {
      method: "POST",
      headers: { "Accept": "application/json" },
      body,
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
  } catch (cause) {
    throw new QfcRequestException({ method: "POST", url: tokenUrl, cause });
  }
  const text = await response.text();
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(text);
  } catch {
    // Reported below by status.
  }
  const what = form.grant_type === "refresh_token" ? "refresh token" : "authorization code";
  if (response.status >= 400 && response.status < 500) {
    const error = typeof data.error === "string" ? data.error : `HTTP ${response.status}`;
    const description = typeof data.error_description === "string"
      ? ` (${data.error_description})`
      : "";
    throw new QfcSsoException(
      `The identity provider refused the ${what}: "${error}"${description}`,
    );
  }
  if (!response.ok) {
    throw new QfcRequestException({ method: "POST", url: tokenUrl, status: response.status });
  }
  if (typeof data.access_token !== "string") {
    throw new QfcSsoException(`The identity provider answered the ${what} without an access token`);
  }
  return data as unknown as SsoTokens;
}

function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomUrlSafe(bytes: number): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * The PKCE S256 challenge of a verifier (RFC 7636): base64url(SHA-256(verifier)).
 *
 * @example
 * ```ts
 * import { pkceChallenge } from "@qfieldcloud/sdk";
 * // The example of RFC 7636, appendix B.
 * console.log(await pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
 * // "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
 * ```
 */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}
