/**
 * A fake OpenID Connect identity provider for the test server's single sign-on
 * mode, served under `/oidc/` beside the API. It approves one configured user
 * without a form (the test plays the browser: it fetches the authorization URL
 * and follows the redirect to the loopback), and is as strict as a real one
 * where clients go wrong: it allows one redirect URI, checks PKCE (S256), lets a
 * code be used once, and rotates refresh tokens. ID tokens are RS256 JWTs
 * signed with a key made at start, published in the JWKS.
 *
 * @module
 */
import { exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from "jose";
import type { CryptoKey } from "jose";

/** Options of {@linkcode FakeOidcProvider.create}. */
export interface FakeOidcProviderOptions {
  /** The user the provider signs in (its `preferred_username`). */
  username: string;
  /** Id of the provider entry on the server (`X-QFC-IDP-ID`). Default `test-idp`. */
  providerId?: string;
  /** Display name. Default `Test identity provider`. */
  name?: string;
  /** The public client's id. Default `qfieldcloud`. */
  clientId?: string;
  /** The loopback port of the redirect URI the provider allows. Default 7070, as real servers say. */
  redirectPort?: number;
  /** Require PKCE (and list `pkce_enabled: true`). Default true. */
  pkce?: boolean;
  /** Lifetime of ID and access tokens in seconds. Default 300. */
  tokenSeconds?: number;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge?: string;
  username: string;
}

/** Path prefix of the provider on the test server. */
export const OIDC_PREFIX = "/oidc/";

function randomToken(bytes = 24): string {
  let binary = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(bytes))) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  let binary = "";
  for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function json(data: unknown, status = 200): Response {
  return new Response(JSON.stringify(data), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function oauthError(error: string, description: string, status = 400): Response {
  return json({ error, error_description: description }, status);
}

/**
 * The fake identity provider.
 *
 * @example
 * ```ts
 * import { FakeOidcProvider } from "./sso_provider.ts";
 * const idp = await FakeOidcProvider.create({ username: "alice", redirectPort: 7071 });
 * idp.setOrigin("http://127.0.0.1:8000");
 * console.log(idp.providerEntry().request_url); // "http://127.0.0.1:8000/oidc/authorize"
 * ```
 */
export class FakeOidcProvider {
  /** The user it signs in; change it to sign in someone else. */
  username: string;
  /** Provider id on the server. */
  readonly id: string;
  /** Display name. */
  readonly name: string;
  /** The public client's id. */
  readonly clientId: string;
  /** Loopback port of the allowed redirect URI. */
  readonly redirectPort: number;
  /** Whether PKCE is required. */
  readonly pkce: boolean;
  #tokenSeconds: number;
  #privateKey: CryptoKey;
  #publicKey: CryptoKey;
  #jwk: JWK;
  #issuer = "";
  #codes = new Map<string, PendingCode>();
  #accessTokens = new Map<string, { username: string; expiresAt: number }>();
  #refreshTokens = new Map<string, string>();
  #secrets: string[] = [];

  private constructor(
    options: FakeOidcProviderOptions,
    keys: { privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK },
  ) {
    this.username = options.username;
    this.id = options.providerId ?? "test-idp";
    this.name = options.name ?? "Test identity provider";
    this.clientId = options.clientId ?? "qfieldcloud";
    this.redirectPort = options.redirectPort ?? 7070;
    this.pkce = options.pkce ?? true;
    this.#tokenSeconds = options.tokenSeconds ?? 300;
    this.#privateKey = keys.privateKey;
    this.#publicKey = keys.publicKey;
    this.#jwk = keys.jwk;
  }

  /** Makes a provider with a fresh RS256 key. */
  static async create(options: FakeOidcProviderOptions): Promise<FakeOidcProvider> {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = { ...await exportJWK(publicKey), kid: randomToken(8), alg: "RS256", use: "sig" };
    return new FakeOidcProvider(options, { privateKey, publicKey, jwk });
  }

  /** Sets the origin it is served at, once the server listens. */
  setOrigin(origin: string): void {
    this.#issuer = `${origin.replace(/\/$/, "")}${OIDC_PREFIX.slice(0, -1)}`;
  }

  /** The `iss` of its ID tokens. */
  get issuer(): string {
    return this.#issuer;
  }

  /** The only redirect URI it allows, as an administrator registers it. */
  get redirectUri(): string {
    return `http://localhost:${this.redirectPort}/`;
  }

  /**
   * Its entry in the server's `auth_providers`, as `get_oauth2_provider` builds it in
   * opengisch/QFieldCloud `docker-app/qfieldcloud/authentication/sso/auth_providers.py`.
   */
  providerEntry(): Record<string, unknown> {
    return {
      type: "oauth2",
      id: this.id,
      name: this.name,
      grant_flow: this.pkce ? 3 : 0,
      scope: "openid profile email",
      pkce_enabled: this.pkce,
      token_url: `${this.#issuer}/token`,
      refresh_token_url: `${this.#issuer}/token`,
      request_url: `${this.#issuer}/authorize`,
      redirect_host: "localhost",
      redirect_port: this.redirectPort,
      redirect_url: "",
      client_id: this.clientId,
      extra_tokens: { id_token: "X-QFC-ID-Token" },
      idp_id_header: "X-QFC-IDP-ID",
      styles: null,
    };
  }

  /**
   * Every secret it has issued or been shown: codes, access, ID and refresh tokens, PKCE
   * verifiers; for tests that check a client never prints one.
   */
  get secrets(): readonly string[] {
    return [...this.#secrets];
  }

  /** Makes every refresh token unusable, as a provider does when a user signs out everywhere. */
  revokeRefreshTokens(): void {
    this.#refreshTokens.clear();
  }

  /** Verifies an ID token's signature, `iss`, `aud` and `exp`; returns its claims or throws. */
  async verifyIdToken(token: string): Promise<Record<string, unknown>> {
    const { payload } = await jwtVerify(token, this.#publicKey, {
      issuer: this.#issuer,
      audience: this.clientId,
      algorithms: ["RS256"],
    });
    return payload;
  }

  /** The user an unexpired access token belongs to. */
  userOfAccessToken(token: string): string | undefined {
    const entry = this.#accessTokens.get(token);
    return entry && entry.expiresAt > Date.now() ? entry.username : undefined;
  }

  /** Answers a request under `/oidc/`. */
  async handle(request: Request, url: URL): Promise<Response> {
    const path = url.pathname.slice(OIDC_PREFIX.length - 1);
    if (request.method === "GET" && path === "/.well-known/openid-configuration") {
      return json({
        issuer: this.#issuer,
        authorization_endpoint: `${this.#issuer}/authorize`,
        token_endpoint: `${this.#issuer}/token`,
        userinfo_endpoint: `${this.#issuer}/userinfo`,
        jwks_uri: `${this.#issuer}/jwks`,
        response_types_supported: ["code"],
        grant_types_supported: ["authorization_code", "refresh_token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: ["none"],
        scopes_supported: ["openid", "profile", "email"],
      });
    }
    if (request.method === "GET" && path === "/jwks") return json({ keys: [this.#jwk] });
    if (request.method === "GET" && path === "/authorize") return this.#authorize(url);
    if (request.method === "POST" && path === "/token") return await this.#token(request);
    if (request.method === "GET" && path === "/userinfo") return this.#userinfo(request);
    return json({ error: "not_found" }, 404);
  }

  #authorize(url: URL): Response {
    const params = url.searchParams;
    // Errors about the client or the redirect URI are shown, never redirected (RFC 6749 §4.1.2.1).
    if (params.get("client_id") !== this.clientId) {
      return new Response("Unknown client_id", { status: 400 });
    }
    const redirectUri = params.get("redirect_uri") ?? "";
    if (redirectUri !== this.redirectUri) {
      return new Response(`Redirect URI not allowed: ${redirectUri}`, { status: 400 });
    }
    const back = new URL(redirectUri);
    const state = params.get("state");
    if (state !== null) back.searchParams.set("state", state);
    const challenge = params.get("code_challenge") ?? undefined;
    const refusal = params.get("response_type") !== "code"
      ? "unsupported_response_type"
      : !(params.get("scope") ?? "").split(" ").includes("openid")
      ? "invalid_scope"
      : this.pkce && (!challenge || params.get("code_challenge_method") !== "S256")
      ? "invalid_request"
      : undefined;
    if (refusal) {
      back.searchParams.set("error", refusal);
    } else {
      const code = randomToken();
      this.#secrets.push(code);
      this.#codes.set(code, {
        clientId: this.clientId,
        redirectUri,
        challenge,
        username: this.username,
      });
      back.searchParams.set("code", code);
    }
    return new Response(null, { status: 302, headers: { location: back.href } });
  }

  async #token(request: Request): Promise<Response> {
    const form = new URLSearchParams(await request.text());
    if (form.get("client_id") !== this.clientId) {
      return oauthError("invalid_client", "Unknown client", 401);
    }
    const grant = form.get("grant_type");
    if (grant === "authorization_code") {
      const code = form.get("code") ?? "";
      const pending = this.#codes.get(code);
      this.#codes.delete(code); // a code is good for one try only
      if (!pending || pending.redirectUri !== form.get("redirect_uri")) {
        return oauthError("invalid_grant", "Unknown, used or mismatched code");
      }
      if (pending.challenge !== undefined) {
        const verifier = form.get("code_verifier");
        if (verifier) this.#secrets.push(verifier);
        if (!verifier || await s256(verifier) !== pending.challenge) {
          return oauthError("invalid_grant", "PKCE verification failed");
        }
      }
      return json(await this.#issue(pending.username));
    }
    if (grant === "refresh_token") {
      const token = form.get("refresh_token") ?? "";
      const username = this.#refreshTokens.get(token);
      this.#refreshTokens.delete(token); // rotated: each refresh token is good once
      if (!username) return oauthError("invalid_grant", "Unknown or revoked refresh token");
      return json(await this.#issue(username));
    }
    return oauthError("unsupported_grant_type", `Unsupported grant type "${grant}"`);
  }

  #userinfo(request: Request): Response {
    const header = request.headers.get("authorization") ?? "";
    const username = header.startsWith("Bearer ")
      ? this.userOfAccessToken(header.slice(7))
      : undefined;
    if (!username) return json({ error: "invalid_token" }, 401);
    return json({ sub: username, preferred_username: username, email: `${username}@example.com` });
  }

  async #issue(username: string): Promise<Record<string, unknown>> {
    const accessToken = randomToken();
    const refreshToken = randomToken();
    this.#accessTokens.set(accessToken, {
      username,
      expiresAt: Date.now() + this.#tokenSeconds * 1000,
    });
    this.#refreshTokens.set(refreshToken, username);
    const idToken = await new SignJWT({
      preferred_username: username,
      email: `${username}@example.com`,
    })
      .setProtectedHeader({ alg: "RS256", kid: this.#jwk.kid })
      .setIssuer(this.#issuer)
      .setAudience(this.clientId)
      .setSubject(username)
      .setIssuedAt()
      .setExpirationTime(`${this.#tokenSeconds}s`)
      .setJti(crypto.randomUUID())
      .sign(this.#privateKey);
    this.#secrets.push(accessToken, refreshToken, idToken);
    return {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: this.#tokenSeconds,
      refresh_token: refreshToken,
      id_token: idToken,
      scope: "openid profile email",
    };
  }
}
