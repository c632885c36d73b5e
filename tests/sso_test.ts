/**
 * Single sign-on in the library, against the test server's fake OpenID Connect
 * provider: the exported steps one by one, the session seam (cookies, CSRF,
 * silent renewal), and the server behaviors a client must respect (the
 * provider fallbacks, a replayed ID token getting a 500, CSRF refusals).
 */

import { expect } from "expect";
import {
  Client,
  completeSsoAuthorization,
  isOAuth2Provider,
  listAuthProviders,
  type OAuth2Provider,
  parseSetCookies,
  pkceChallenge,
  QfcRequestException,
  QfcSsoException,
  renewSsoSession,
  SessionAuth,
  ssoRedirectUri,
  startSsoAuthorization,
  useSsoSession,
} from "../mod.ts";
import { startTestServer, type TestServer } from "../testing/mod.ts";

/** Each test file gets its own loopback port, so that files run side by side. */
const REDIRECT_PORT = 17_171;

async function ssoServer(): Promise<TestServer> {
  return await startTestServer({
    users: [{ username: "alice", password: "alice-pw" }],
    sso: { username: "sso-ann", redirectPort: REDIRECT_PORT },
    quiet: true,
  });
}

async function providerOf(client: Client): Promise<OAuth2Provider> {
  const provider = (await listAuthProviders(client)).find(isOAuth2Provider);
  if (!provider) throw new Error("no oauth2 provider");
  return provider;
}

/** Plays the browser: opens the authorization URL, returns where the provider redirects to. */
async function approve(url: string): Promise<string> {
  const response = await fetch(url, { redirect: "manual" });
  await response.body?.cancel();
  expect(response.status).toBe(302);
  return response.headers.get("location")!;
}

async function signIn(
  server: TestServer,
): Promise<{ client: Client; login: Awaited<ReturnType<typeof completeSsoAuthorization>> }> {
  const client = new Client({ url: server.url, token: "" });
  const authorization = await startSsoAuthorization(await providerOf(client));
  const login = await completeSsoAuthorization(
    client,
    authorization,
    await approve(authorization.url),
  );
  return { client, login };
}

Deno.test("the server lists its provider as the real one does", async () => {
  await using server = await ssoServer();
  const client = new Client({ url: server.url, token: "" });
  const provider = await providerOf(client);
  expect(provider).toMatchObject({
    type: "oauth2",
    id: "test-idp",
    pkce_enabled: true,
    redirect_host: "localhost",
    redirect_port: REDIRECT_PORT,
    redirect_url: "",
    extra_tokens: { id_token: "X-QFC-ID-Token" },
    idp_id_header: "X-QFC-IDP-ID",
  });
  expect("client_secret" in provider).toBe(false);
  expect(ssoRedirectUri(provider)).toBe(`http://localhost:${REDIRECT_PORT}/`);
  const discovery =
    await (await fetch(new URL("/oidc/.well-known/openid-configuration", server.url)))
      .json();
  expect(discovery.authorization_endpoint).toBe(provider.request_url);
  const jwks = await (await fetch(discovery.jwks_uri)).json();
  expect(jwks.keys[0]).toMatchObject({ kty: "RSA", alg: "RS256" });
});

Deno.test("providers: fall back to auth/providers/ on a 404 and on an info without them", async () => {
  await using server = await ssoServer();
  const client = new Client({ url: server.url, token: "" });
  server.injectFault({ path: /server\/info/, status: 404, body: "<h1>Not Found</h1>" });
  expect((await listAuthProviders(client)).map((p) => p.id)).toEqual(["credentials", "test-idp"]);
  server.injectFault({
    path: /server\/info/,
    status: 200,
    body: JSON.stringify({ whitelabel: {}, signup_url: null }),
    contentType: "application/json",
  });
  server.clearRequests();
  expect((await listAuthProviders(client)).map((p) => p.id)).toEqual(["credentials", "test-idp"]);
  expect(server.requests.map((r) => r.path)).toEqual([
    "/api/v1/server/info/",
    "/api/v1/auth/providers/",
  ]);
  server.clearRequests();
  await listAuthProviders(client);
  expect(server.requests.map((r) => r.path)).toEqual(["/api/v1/server/info/"]);
});

Deno.test("startSsoAuthorization builds a PKCE S256 URL with a state", async () => {
  // RFC 7636 appendix B.
  expect(await pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
    .toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  const provider = {
    type: "oauth2",
    id: "kc",
    name: "Keycloak",
    request_url: "https://idp.example.com/auth?kc_idp_hint=x",
    token_url: "https://idp.example.com/token",
    refresh_token_url: "https://idp.example.com/token",
    client_id: "qfc",
    scope: "openid email",
    pkce_enabled: true,
    grant_flow: 0, // a number from an older QGIS enum: pkce_enabled decides
    redirect_host: "localhost",
    redirect_port: 7070,
    redirect_url: "",
  } as const satisfies OAuth2Provider;
  const a = await startSsoAuthorization(provider);
  const url = new URL(a.url);
  expect(url.origin + url.pathname).toBe("https://idp.example.com/auth");
  expect(Object.fromEntries(url.searchParams)).toEqual({
    kc_idp_hint: "x",
    response_type: "code",
    client_id: "qfc",
    redirect_uri: "http://localhost:7070/",
    scope: "openid email",
    state: a.state,
    code_challenge: await pkceChallenge(a.codeVerifier!),
    code_challenge_method: "S256",
  });
  expect(a.codeVerifier!.length).toBeGreaterThanOrEqual(43);
  const b = await startSsoAuthorization(provider);
  expect(b.state).not.toBe(a.state);
  const plain = await startSsoAuthorization({ ...provider, pkce_enabled: false, grant_flow: 3 });
  expect(new URL(plain.url).searchParams.has("code_challenge")).toBe(false);
  expect(plain.codeVerifier).toBe(undefined);
});

Deno.test("a full sign-on: read, write with CSRF, silent renewal, failed renewal", async (t) => {
  await using server = await ssoServer();
  server.clearRequests();
  const { client, login } = await signIn(server);
  expect(login.user.username).toBe("sso-ann");
  expect(Object.keys(login.session.cookies).sort()).toEqual(["csrftoken", "sessionid"]);
  expect(login.session.refreshToken).toBeTruthy();
  expect(Date.parse(login.session.expiresAt!)).toBeGreaterThan(Date.now());
  expect(client.core.auth).toBeInstanceOf(SessionAuth);
  expect(client.token).toBe(undefined);

  let firstIdToken: string | null = null;
  await t.step("the hand-over sends the three headers and our User-Agent", () => {
    const handOver = server.requests.find((r) => r.path === "/api/v1/auth/user/")!;
    expect(handOver.headers.get("authorization")).toMatch(/^Bearer /);
    firstIdToken = handOver.headers.get("x-qfc-id-token");
    expect(firstIdToken?.split(".").length).toBe(3);
    expect(handOver.headers.get("x-qfc-idp-id")).toBe("test-idp");
    expect(handOver.headers.get("user-agent")).toMatch(/^sdk\|ts\|/);
    expect(handOver.headers.get("cookie")).toBe(null);
  });

  await t.step("reads and writes go with the session; writes with X-CSRFToken", async () => {
    server.clearRequests();
    const project = await client.createProject("sso-project");
    expect(project.owner).toBe("sso-ann");
    expect((await client.listProjects()).map((p) => p.name)).toEqual(["sso-project"]);
    const post = server.requests.find((r) => r.method === "POST")!;
    expect(post.headers.get("cookie")).toContain("sessionid=");
    expect(post.headers.get("x-csrftoken")).toBe(login.session.cookies.csrftoken);
    expect(post.headers.get("referer")).toBe(`${server.url}projects/`);
    expect(post.headers.get("authorization")).toBe(null);
    const get = server.requests.find((r) => r.method === "GET")!;
    expect(get.headers.get("x-csrftoken")).toBe(null);
  });

  const renewed: { sessionid: string; csrftoken: string }[] = [];
  await t.step(
    "a stale session gets 401 with a new anonymous sessionid, as Django answers",
    async () => {
      server.sso!.middleware.expireSessions();
      const stale = await fetch(`${server.url}projects/`, {
        headers: { cookie: `sessionid=${login.session.cookies.sessionid}` },
      });
      expect(stale.status).toBe(401);
      await stale.body?.cancel();
      const [cookie] = parseSetCookies(stale);
      expect(cookie.name).toBe("sessionid");
      expect(cookie.value).not.toBe("");
      expect(cookie.value).not.toBe(login.session.cookies.sessionid);
    },
  );

  await t.step("an expired session is renewed silently, with a new ID token", async () => {
    useSsoSession(client, login.session, {
      onRenewed: (s) => void renewed.push({ ...s.cookies } as typeof renewed[0]),
    });
    server.clearRequests();
    const [a, b] = await Promise.all([client.listProjects(), client.listProjects()]);
    expect(a.length).toBe(1);
    expect(b.length).toBe(1);
    expect(renewed.length).toBe(1); // two failed requests, one renewal
    expect(renewed[0].sessionid).not.toBe(login.session.cookies.sessionid);
    const handOvers = server.requests.filter((r) => r.path === "/api/v1/auth/user/");
    expect(handOvers.length).toBe(1);
    expect(firstIdToken).toBeTruthy();
    expect(handOvers[0].headers.get("x-qfc-id-token")?.split(".").length).toBe(3);
    expect(handOvers[0].headers.get("x-qfc-id-token")).not.toBe(firstIdToken);
    // The hand-over rotated the CSRF token, as Django's login() does; writes use the new one.
    expect(renewed[0].csrftoken).not.toBe(login.session.cookies.csrftoken);
    server.clearRequests();
    await client.createProject("after-renewal");
    const post = server.requests.find((r) => r.method === "POST")!;
    expect(post.headers.get("x-csrftoken")).toBe(renewed[0].csrftoken);
  });

  await t.step("renewal also works when the server deletes the stale sessionid", async () => {
    server.sso!.middleware.staleSession = "delete";
    server.sso!.middleware.expireSessions();
    const stale = await fetch(`${server.url}projects/`, {
      headers: { cookie: `sessionid=${renewed[0].sessionid}` },
    });
    expect(stale.status).toBe(401);
    await stale.body?.cancel();
    expect(parseSetCookies(stale).map((c) => [c.name, c.value])).toEqual([["sessionid", ""]]);
    expect((await client.listProjects()).length).toBe(2);
    expect(renewed.length).toBe(2);
    server.sso!.middleware.staleSession = "replace";
  });

  await t.step("a refused renewal is a QfcSsoException", async () => {
    server.sso!.provider.revokeRefreshTokens();
    server.sso!.middleware.expireSessions();
    const error = await client.listProjects().catch((e) => e);
    expect(error).toBeInstanceOf(QfcSsoException);
    expect(error.message).toContain('refused the refresh token: "invalid_grant"');
  });
});

Deno.test("renewSsoSession rotates the refresh token and never resends the ID token", async () => {
  await using server = await ssoServer();
  const { client, login } = await signIn(server);
  const first = await renewSsoSession(client, login.session);
  expect(first.refreshToken).not.toBe(login.session.refreshToken);
  expect(first.cookies.sessionid).not.toBe(login.session.cookies.sessionid);
  // The old refresh token was rotated away.
  const error = await renewSsoSession(client, login.session).catch((e) => e);
  expect(error).toBeInstanceOf(QfcSsoException);
  const noRefresh = await renewSsoSession(client, { ...login.session, refreshToken: undefined })
    .catch((e) => e);
  expect(noRefresh).toBeInstanceOf(QfcSsoException);
});

Deno.test("completeSsoAuthorization refuses a foreign state, a provider error and a bad verifier", async () => {
  await using server = await ssoServer();
  const client = new Client({ url: server.url, token: "" });
  const provider = await providerOf(client);
  const authorization = await startSsoAuthorization(provider);
  const location = await approve(authorization.url);
  const other = await startSsoAuthorization(provider);
  await expect(completeSsoAuthorization(client, other, location)).rejects.toThrow(/state differs/);
  await expect(
    completeSsoAuthorization(
      client,
      authorization,
      `http://localhost:${REDIRECT_PORT}/?error=access_denied&state=${authorization.state}`,
    ),
  ).rejects.toThrow(/refused the sign-in: "access_denied"/);
  const wrongVerifier = { ...authorization, codeVerifier: "x".repeat(43) };
  await expect(completeSsoAuthorization(client, wrongVerifier, location)).rejects.toThrow(
    /refused the authorization code: "invalid_grant"/,
  );
  // The code was spent by that try: the provider allows one use.
  await expect(completeSsoAuthorization(client, authorization, location)).rejects.toThrow(
    QfcSsoException,
  );
  await expect(completeSsoAuthorization(client, authorization, "not a url")).rejects.toThrow(
    QfcSsoException,
  );
});

Deno.test("the test server's middleware: replayed ID token 500, bad tokens 500, CSRF 403", async () => {
  await using server = await ssoServer();
  const client = new Client({ url: server.url, token: "" });
  const provider = await providerOf(client);
  const authorization = await startSsoAuthorization(provider);
  const code = new URL(await approve(authorization.url)).searchParams.get("code")!;
  const tokens = await (await fetch(provider.token_url, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: authorization.redirectUri,
      client_id: provider.client_id,
      code_verifier: authorization.codeVerifier!,
    }),
  })).json();
  const handOver = (idToken: string) =>
    fetch(`${server.url}auth/user/`, {
      headers: {
        "Authorization": `Bearer ${tokens.access_token}`,
        "X-QFC-ID-Token": idToken,
        "X-QFC-IDP-ID": "test-idp",
      },
    });
  const first = await handOver(tokens.id_token);
  expect(first.status).toBe(200);
  expect((await first.json()).username).toBe("sso-ann");
  const cookies = Object.fromEntries(parseSetCookies(first).map((c) => [c.name, c.value]));

  const replay = await handOver(tokens.id_token);
  expect(replay.status).toBe(500);
  expect(await replay.text()).toContain("Server Error (500)");

  const [head, body] = tokens.id_token.split(".");
  const forged = await handOver(`${head}.${body}.${"A".repeat(342)}`);
  expect(forged.status).toBe(500);
  await forged.body?.cancel();

  // Without an ID token the access token alone signs in, through the provider's userinfo.
  const accessOnly = await fetch(`${server.url}auth/user/`, {
    headers: { "Authorization": `Bearer ${tokens.access_token}`, "X-QFC-IDP-ID": "test-idp" },
  });
  expect(accessOnly.status).toBe(200);
  expect((await accessOnly.json()).username).toBe("sso-ann");
  const badAccess = await fetch(`${server.url}auth/user/`, {
    headers: { "Authorization": "Bearer nope", "X-QFC-IDP-ID": "test-idp" },
  });
  expect(badAccess.status).toBe(500);
  await badAccess.body?.cancel();

  const unknownIdp = await fetch(`${server.url}auth/user/`, {
    headers: { "Authorization": `Bearer ${tokens.access_token}`, "X-QFC-IDP-ID": "other" },
  });
  expect(unknownIdp.status).toBe(401); // the middleware steps aside
  await unknownIdp.body?.cancel();

  const cookie = `sessionid=${cookies.sessionid}; csrftoken=${cookies.csrftoken}`;
  const withoutCsrf = await fetch(`${server.url}projects/`, {
    method: "POST",
    headers: { cookie },
    body: new URLSearchParams({ name: "p" }),
  });
  expect(withoutCsrf.status).toBe(403);
  expect((await withoutCsrf.json()).code).toBe("permission_denied");
  const wrongCsrf = await fetch(`${server.url}projects/`, {
    method: "POST",
    headers: { cookie, "X-CSRFToken": "nope" },
    body: new URLSearchParams({ name: "p" }),
  });
  expect(wrongCsrf.status).toBe(403);
  await wrongCsrf.body?.cancel();
  const read = await fetch(`${server.url}projects/`, { headers: { cookie } });
  expect(read.status).toBe(200);
  await read.body?.cancel();

  // A session cookie is no password: logging in with an empty one is refused.
  const passwordLogin = await fetch(`${server.url}auth/login/`, {
    method: "POST",
    body: new URLSearchParams({ username: "sso-ann", password: "" }),
  });
  expect(passwordLogin.status).toBe(400);
  await passwordLogin.body?.cancel();
});

Deno.test("the provider checks the redirect URI, PKCE and the client", async () => {
  await using server = await ssoServer();
  const client = new Client({ url: server.url, token: "" });
  const provider = await providerOf(client);
  const wrongPort = await startSsoAuthorization({ ...provider, redirect_port: 7070 });
  const refused = await fetch(wrongPort.url, { redirect: "manual" });
  expect(refused.status).toBe(400);
  await refused.body?.cancel();
  const noPkce = await startSsoAuthorization({ ...provider, pkce_enabled: false });
  expect(new URL(await approve(noPkce.url)).searchParams.get("error")).toBe("invalid_request");
});

Deno.test("SessionAuth keeps rotated cookies and a 401 without renewal stays a 401", async () => {
  await using server = await ssoServer();
  const auth = new SessionAuth({ sessionid: "unknown", csrftoken: "c" });
  const client = new Client({ url: server.url, auth });
  const error = await client.listProjects().catch((e) => e);
  expect(error).toBeInstanceOf(QfcRequestException);
  expect(error.status).toBe(401);
  auth.observe(
    new Response(null, {
      headers: [["set-cookie", "csrftoken=new; Path=/"], ["set-cookie", "sessionid=; Max-Age=0"]],
    }),
  );
  expect(auth.cookies).toEqual({ csrftoken: "new" });
});

Deno.test("SessionAuth counts renewals: a late 401 neither wipes nor renews the new session", async () => {
  let renewals = 0;
  const auth = new SessionAuth({ sessionid: "s0", csrftoken: "c0" }, {
    renew: () => Promise.resolve({ sessionid: `s${++renewals}`, csrftoken: "c1" }),
  });
  const url = new URL("https://qfc.example.com/api/v1/projects/");
  const sent = () => {
    const headers = new Headers();
    auth.apply(headers, "GET", url);
    return headers;
  };
  const early = sent();
  const late = sent();
  // Django answers a dead session with 401 and a new, anonymous sessionid.
  const unauthorized = () =>
    new Response(null, { status: 401, headers: { "set-cookie": "sessionid=anon; Max-Age=60" } });
  auth.observe(unauthorized());
  expect(await auth.renew(early)).toBe(true);
  expect(renewals).toBe(1);
  auth.observe(unauthorized()); // the late request's 401 arrives after the renewal
  expect(auth.cookies).toEqual({ sessionid: "s1", csrftoken: "c1" });
  expect(await auth.renew(late)).toBe(true); // sent before the renewal: resent as it is
  expect(renewals).toBe(1);
  expect(await auth.renew(sent())).toBe(true); // the new session refused: renewed again
  expect(renewals).toBe(2);
});
