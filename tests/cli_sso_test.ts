/**
 * `login --sso` end to end against the test server's single sign-on mode, with
 * the test playing the browser: it reads the URL the CLI prints, fetches it
 * from the fake identity provider and follows the redirect to the CLI's
 * loopback listener (or pastes it on stdin). Then reads, writes, transfers, an
 * expired session renewed silently, a renewal that fails, whoami and logout,
 * and that no cookie or token is ever printed.
 */

import { expect } from "expect";
import { main } from "../cli.ts";
import { startTestServer, type TestServer } from "../testing/mod.ts";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { waitForRedirect } from "../src/cli/commands/sso_login.ts";
import { Output } from "../src/cli/output.ts";
import { CliError } from "../src/cli/errors.ts";
import type { CliIo } from "../src/cli/io.ts";
import type { StoredCredential } from "../src/cli/credentials.ts";
import type { FetchLike } from "../mod.ts";

/** The credentials file, as the tests read it. */
interface CredentialsFile {
  default_url?: string;
  servers: Record<string, StoredCredential>;
}

/** This file's own loopback ports, so that test files run side by side. */
const REDIRECT_PORT = 17_272;
const BUSY_PORT = 17_273;
const HALF_BUSY_PORT = 17_274;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Called with the authorization URL the CLI prints. */
  onAuthorizeUrl?: (url: string) => void;
  /** Lines of stdin, one per call; `null` ends it. */
  readLine?: () => Promise<string | null>;
  /** The fetch the CLI uses. */
  fetch?: FetchLike;
}

async function runCli(args: string[], options: RunOptions = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const env = options.env ?? {};
  const io: Partial<CliIo> = {
    stdout: { write: (text) => stdout += text, isTerminal: false },
    stderr: {
      write: (text) => {
        stderr += text;
        const url = /^ {2}(https?:\/\/\S+\/oidc\/authorize\S+)$/m.exec(text)?.[1];
        if (url) options.onAuthorizeUrl?.(url);
      },
      isTerminal: false,
    },
    stdinIsTerminal: false,
    readStdin: () => Promise.resolve(""),
    readLine: options.readLine ?? (() => Promise.resolve(null)),
    fetch: options.fetch,
    readSecret: () => Promise.resolve(""),
    env: (name) => env[name] || undefined,
    os: "linux",
    home: "/nonexistent-home",
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** The identity provider approves and redirects; returns where the browser is sent. */
async function approve(url: string): Promise<string> {
  const response = await fetch(url, { redirect: "manual" });
  await response.body?.cancel();
  expect(response.status).toBe(302);
  return response.headers.get("location")!;
}

interface Fixture extends AsyncDisposable {
  server: TestServer;
  dir: string;
  env: Record<string, string | undefined>;
  credentials(): Promise<CredentialsFile>;
  /**
   * Secrets the CLI must never print: the saved cookies, and every code, PKCE verifier,
   * access, ID and refresh token the identity provider issued or was shown.
   */
  secrets(): Promise<string[]>;
  run(args: string[], options?: RunOptions): Promise<Run>;
  /** `login --sso --no-browser`, the test playing a browser that follows the redirect. */
  login(extra?: string[]): Promise<{ run: Run; page: string }>;
}

async function fixture(): Promise<Fixture> {
  const server = await startTestServer({
    users: [{ username: "alice", password: "alice-secret-pw" }],
    sso: { username: "ann", redirectPort: REDIRECT_PORT },
    jobSeconds: 0.05,
    quiet: true,
  });
  const dir = await Deno.makeTempDir({ prefix: "qfc_sso_" });
  const env = { QFIELDCLOUD_URL: server.url, QFIELDCLOUD_CONFIG_DIR: `${dir}/config` };
  const f: Fixture = {
    server,
    dir,
    env,
    async credentials() {
      return JSON.parse(await Deno.readTextFile(`${dir}/config/credentials.json`));
    },
    async secrets() {
      const secrets: string[] = [...server.sso!.provider.secrets];
      try {
        for (const entry of Object.values((await f.credentials()).servers)) {
          if (entry.sso) {
            secrets.push(...Object.values(entry.sso.cookies));
            if (entry.sso.refreshToken) secrets.push(entry.sso.refreshToken);
          }
        }
      } catch {
        // no file yet
      }
      return secrets;
    },
    async run(args, options = {}) {
      const run = await runCli(args, { ...options, env: { ...env, ...options.env } });
      for (const secret of await f.secrets()) {
        expect(run.stdout.includes(secret) ? `secret in stdout: ${run.stdout}` : "").toBe("");
        expect(run.stderr.includes(secret) ? `secret in stderr: ${run.stderr}` : "").toBe("");
      }
      return run;
    },
    async login(extra = []) {
      let browser: Promise<string> | undefined;
      const run = await f.run(["login", "--sso", "--no-browser", ...extra], {
        onAuthorizeUrl: (url) => {
          browser = (async () => {
            const location = await approve(url);
            const response = await fetch(location);
            return await response.text();
          })();
        },
      });
      return { run, page: browser ? await browser : "" };
    },
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return f;
}

Deno.test("login --sso, then reads, writes, transfers, renewal, whoami and logout", async (t) => {
  await using f = await fixture();

  await t.step("login --sso --no-browser prints the URL and catches the redirect", async () => {
    f.server.clearRequests();
    const { run, page } = await f.login();
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("To sign in with Test identity provider, open this URL");
    expect(run.stderr).toContain(`it starts with http://localhost:${REDIRECT_PORT}/`);
    expect(run.stderr).toContain(
      "Welcome to QFieldCloud, ann (signed in through Test identity provider).",
    );
    expect(page).toContain("You can close this tab");
    // Checked against every output from here on: code, verifier, access, refresh and ID tokens.
    expect(f.server.sso!.provider.secrets.length).toBe(5);
    const saved = await f.credentials();
    const entry = saved.servers[f.server.url];
    expect(entry.username).toBe("ann");
    expect(entry.token).toBe(undefined);
    expect(Object.keys(entry.sso!.cookies).sort()).toEqual(["csrftoken", "sessionid"]);
    expect(entry.sso!.provider.id).toBe("test-idp");
    expect(saved.default_url).toBe(f.server.url);
    if (Deno.build.os !== "windows") {
      expect((await Deno.stat(`${f.dir}/config/credentials.json`)).mode! & 0o777).toBe(0o600);
    }
    const handOver = f.server.requests.find((r) => r.path === "/api/v1/auth/user/")!;
    expect(handOver.headers.get("user-agent")).toMatch(/^sdk\|ts\|.* qfieldcloud-cli\//);
  });

  await t.step("login --sso --json prints the user and provider, never a cookie", async () => {
    let browser: Promise<unknown> | undefined;
    const run = await f.run(["--json", "login", "--sso", "--no-browser"], {
      onAuthorizeUrl: (url) => browser = approve(url).then((to) => fetch(to)).then((r) => r.text()),
    });
    await browser;
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      username: "ann",
      email: "",
      url: f.server.url,
      provider: { id: "test-idp", name: "Test identity provider" },
      expires_at: expect.any(String),
      saved_to: `${f.dir}/config/credentials.json`,
    });
  });

  await t.step("whoami says single sign-on and the provider, from the saved server", async () => {
    const run = await f.run(["--json", "whoami"], { env: { QFIELDCLOUD_URL: undefined } });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      url: f.server.url,
      url_source: "saved",
      username: "ann",
      email: "",
      auth: "sso",
      auth_source: "sso",
      provider: { id: "test-idp", name: "Test identity provider" },
      expires_at: expect.any(String),
    });
    const human = await f.run(["whoami"]);
    expect(human.stdout).toContain("login    single sign-on session saved by login --sso");
    expect(human.stdout).toContain("provider Test identity provider (test-idp)");
  });

  let projectId = "";
  await t.step("a read, a write (with CSRF) and an upload work with the session", async () => {
    f.server.clearRequests();
    const created = await f.run(["--json", "create-project", "sso-survey"]);
    expect(created.code).toBe(0);
    projectId = JSON.parse(created.stdout).id;
    const post = f.server.requests.find((r) => r.method === "POST")!;
    expect(post.headers.get("x-csrftoken")).toBeTruthy();
    const listed = await f.run(["--json", "list-projects"]);
    expect(JSON.parse(listed.stdout).map((p: { name: string }) => p.name)).toEqual(["sso-survey"]);
    await Deno.mkdir(`${f.dir}/project`);
    await Deno.writeTextFile(`${f.dir}/project/notes.txt`, "field notes");
    const upload = await f.run(["upload-files", projectId, `${f.dir}/project`]);
    expect(upload.code).toBe(0);
    const files = await f.run(["--json", "list-files", projectId]);
    expect(JSON.parse(files.stdout).map((x: { name: string }) => x.name)).toEqual(["notes.txt"]);
  });

  await t.step("an expired session is renewed silently and saved", async () => {
    const before = (await f.credentials()).servers[f.server.url].sso!.cookies.sessionid;
    f.server.sso!.middleware.expireSessions();
    const run = await f.run(["--json", "list-projects"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout).length).toBe(1);
    const after = (await f.credentials()).servers[f.server.url].sso!.cookies.sessionid;
    expect(after).not.toBe(before);
    // The renewed session works without a new renewal.
    f.server.clearRequests();
    expect((await f.run(["list-projects"])).code).toBe(0);
    expect(f.server.requests.map((r) => r.path)).toEqual(["/api/v1/projects/"]);
  });

  await t.step("whoami after a renewal shows the new expiry", async () => {
    const before = (await f.credentials()).servers[f.server.url].expires_at;
    f.server.sso!.middleware.expireSessions();
    const run = await f.run(["--json", "whoami"]);
    expect(run.code).toBe(0);
    const after = (await f.credentials()).servers[f.server.url].expires_at;
    expect(after).not.toBe(before);
    expect(JSON.parse(run.stdout).expires_at).toBe(after);
  });

  await t.step("a failed renewal: one line to log in again, auth exit code", async () => {
    f.server.sso!.provider.revokeRefreshTokens();
    f.server.sso!.middleware.expireSessions();
    const run = await f.run(["list-projects"]);
    expect(run.code).toBe(ExitCode.AUTH);
    expect(run.stderr.trim().split("\n")).toEqual([
      `error: The single sign-on session for "${f.server.url}" has expired and could not be renewed: ` +
      'run "qfieldcloud-cli login --sso" again',
    ]);
    const json = await f.run(["--json", "list-projects"]);
    expect(json.code).toBe(ExitCode.AUTH);
    expect(JSON.parse(json.stdout).error.exit_code).toBe(ExitCode.AUTH);
  });

  await t.step("logging in again, then logout forgets the session", async () => {
    expect((await f.login()).run.code).toBe(0);
    f.server.clearRequests();
    const run = await f.run(["logout"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain(`Forgot the single sign-on session for ${f.server.url}`);
    expect(run.stdout).toContain(
      "Your sign-in at Test identity provider in the browser is not affected",
    );
    expect(f.server.requests).toEqual([]); // the server cannot end an SSO session
    const saved = await f.credentials();
    expect(saved.servers).toEqual({});
    expect(saved.default_url).toBe(undefined);
  });

  await t.step("logout when logged out says so without a warning; whoami exits 3", async () => {
    const run = await f.run(["logout"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(`Not logged in to ${f.server.url}; nothing to do.\n`);
    const json = await f.run(["--json", "logout"]);
    expect(JSON.parse(json.stdout)).toEqual({
      detail: "Not logged in.",
      credentials_removed: false,
    });
    const whoami = await f.run(["whoami"]);
    expect(whoami.code).toBe(ExitCode.AUTH);
    expect(whoami.stderr).toContain(`Not logged in to "${f.server.url}": run`);
  });
});

Deno.test("login --sso takes the redirect URL pasted on stdin", async () => {
  await using f = await fixture();
  // Another program holds the loopback port: the paste still works.
  using _busy = Deno.listen({ hostname: "127.0.0.1", port: BUSY_PORT });
  using _busy6 = (() => {
    try {
      return Deno.listen({ hostname: "::1", port: BUSY_PORT });
    } catch {
      return undefined; // no IPv6 here
    }
  })();
  const provider = f.server.sso!.provider;
  (provider as { redirectPort: number }).redirectPort = BUSY_PORT;
  f.server.state.ssoProviders[0].redirect_port = BUSY_PORT;
  const { promise: pasted, resolve } = Promise.withResolvers<string>();
  const lines = ["", "not a url", `http://localhost:${BUSY_PORT}/?code=x&state=other`];
  const run = await f.run(["login", "--sso", "--no-browser"], {
    onAuthorizeUrl: (url) => void approve(url).then(resolve),
    readLine: async () => lines.shift() ?? await pasted,
  });
  expect(run.code).toBe(0);
  expect(run.stderr).toContain(`warning: Cannot listen on http://localhost:${BUSY_PORT}/`);
  expect(run.stderr).toContain("warning: That is not a URL");
  expect(run.stderr).toContain("warning: That URL belongs to another sign-in");
  expect(run.stderr).toContain("Welcome to QFieldCloud, ann");
  expect((await f.run(["--json", "list-projects"])).code).toBe(0);
});

Deno.test("login --sso says so when another program holds the port on 127.0.0.1", async () => {
  await using f = await fixture();
  using _busy = Deno.listen({ hostname: "127.0.0.1", port: HALF_BUSY_PORT });
  (f.server.sso!.provider as { redirectPort: number }).redirectPort = HALF_BUSY_PORT;
  f.server.state.ssoProviders[0].redirect_port = HALF_BUSY_PORT;
  const { promise: pasted, resolve } = Promise.withResolvers<string>();
  const run = await f.run(["login", "--sso", "--no-browser"], {
    onAuthorizeUrl: (url) => void approve(url).then(resolve),
    readLine: () => pasted,
  });
  expect(run.code).toBe(0);
  const warnings = run.stderr.split("\n").filter((line) => line.startsWith("warning:"));
  expect(warnings.length).toBe(1);
  expect(warnings[0]).toContain("Cannot listen on ");
  expect(warnings[0]).toContain(`holds port ${HALF_BUSY_PORT}`);
  expect(warnings[0]).toContain("paste here the address");
  expect(run.stderr).toContain("Welcome to QFieldCloud, ann");
});

Deno.test("login --sso: providers, choices and refusals", async (t) => {
  await using f = await fixture();

  await t.step("an unknown --provider is a usage error that lists them", async () => {
    const run = await f.run(["login", "--sso", "--provider", "nope", "--no-browser"]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain(
      'Unknown provider "nope": the server offers "test-idp" (Test identity provider)',
    );
  });

  await t.step("an older server lists providers at auth/providers/ only", async () => {
    f.server.injectFault({ path: /server\/info/, status: 404, body: "Not Found" });
    const { run } = await f.login(["--provider", "test-idp"]);
    expect(run.code).toBe(0);
  });

  await t.step("several providers: --provider chooses, or the error lists them", async () => {
    f.server.state.ssoProviders.push({
      ...f.server.state.ssoProviders[0],
      id: "other",
      name: "Other",
    });
    const run = await f.run(["login", "--sso", "--no-browser"]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain(
      'choose one with --provider: "test-idp" (Test identity provider), "other" (Other)',
    );
    f.server.state.ssoProviders.pop();
  });

  await t.step("a server without single sign-on gets one line", async () => {
    const saved = f.server.state.ssoProviders.splice(0);
    const run = await f.run(["login", "--sso"]);
    expect(run.code).toBe(ExitCode.AUTH);
    expect(run.stderr.trim()).toBe(
      `error: The server at "${f.server.url}" offers no single sign-on: log in with a username and password`,
    );
    f.server.state.ssoProviders.push(...saved);
  });

  await t.step("--sso refuses a username, --no-save; --provider needs --sso", async () => {
    expect((await f.run(["login", "--sso", "ann"])).code).toBe(ExitCode.USAGE);
    expect((await f.run(["login", "--sso", "--no-save"])).code).toBe(ExitCode.USAGE);
    expect((await f.run(["login", "alice", "--provider", "x"])).code).toBe(ExitCode.USAGE);
  });

  await t.step("the identity provider's refusal ends the login with the auth code", async () => {
    const run = await f.run(["login", "--sso", "--no-browser"], {
      onAuthorizeUrl: (url) => {
        const state = new URL(url).searchParams.get("state");
        void fetch(`http://localhost:${REDIRECT_PORT}/?error=access_denied&state=${state}`)
          .then((r) => r.body?.cancel());
      },
    });
    expect(run.code).toBe(ExitCode.AUTH);
    expect(run.stderr).toContain('refused the sign-in: "access_denied"');
  });
});

Deno.test("waitForRedirect gives up after its time with a clear message", async () => {
  const out = new Output({ write: () => {}, isTerminal: false }, {
    write: () => {},
    isTerminal: false,
  }, { json: false, color: false });
  const io = { readLine: () => Promise.resolve(null) } as unknown as CliIo;
  const error = await waitForRedirect(io, out, undefined, "s", 20).catch((e) => e);
  expect(error).toBeInstanceOf(CliError);
  expect(error.exitCode).toBe(ExitCode.TIMEOUT);
  expect(error.message).toBe(
    'No sign-in arrived within 20 ms: run "qfieldcloud-cli login --sso" again',
  );
});

Deno.test("login -U is remembered as the default server; -U and QFIELDCLOUD_URL win", async (t) => {
  await using f = await fixture();
  await using other = await startTestServer({
    users: [{ username: "bob", password: "bob-secret-pw" }],
    quiet: true,
  });
  const noUrl = { QFIELDCLOUD_URL: undefined };

  await t.step("login -U saves the server as the default", async () => {
    const ok = await f.run(["-U", f.server.url, "login", "alice", "alice-secret-pw"], {
      env: noUrl,
    });
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain(`and ${f.server.url} is their default server`);
    expect((await f.credentials()).default_url).toBe(f.server.url);
  });

  await t.step("commands without -U go to the saved server", async () => {
    f.server.clearRequests();
    const run = await f.run(["--json", "whoami"], { env: noUrl });
    expect(run.code).toBe(0);
    const data = JSON.parse(run.stdout);
    expect(data).toMatchObject({
      url: f.server.url,
      url_source: "saved",
      username: "alice",
      auth: "token",
      auth_source: "saved-token",
      provider: null,
    });
    expect(Date.parse(data.expires_at)).toBeGreaterThan(Date.now());
    expect(f.server.requests.length).toBe(1);
    const human = await f.run(["whoami"], { env: noUrl });
    expect(human.stdout).toContain(`server   ${f.server.url} (the server of the last login)`);
    expect(human.stdout).toContain("login    token saved by login");
  });

  await t.step("-U and QFIELDCLOUD_URL win over the saved server", async () => {
    const token = other.createToken("bob", "sdk|ts|test");
    const byOption = await f.run(["-U", other.url, "-t", token, "--json", "whoami"], {
      env: noUrl,
    });
    expect(JSON.parse(byOption.stdout)).toMatchObject({
      url: other.url,
      url_source: "option",
      username: "bob",
      auth_source: "token",
      expires_at: null,
    });
    const byEnv = await f.run(["--json", "whoami"], {
      env: { QFIELDCLOUD_URL: other.url, QFIELDCLOUD_TOKEN: token },
    });
    expect(JSON.parse(byEnv.stdout)).toMatchObject({ url: other.url, url_source: "environment" });
  });

  await t.step(
    "logout with an expired saved token forgets it quietly, with no request",
    async () => {
      const path = `${f.dir}/config/credentials.json`;
      const saved = await f.credentials();
      const entry = saved.servers[f.server.url];
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          ...saved,
          servers: { [f.server.url]: { ...entry, expires_at: "2020-01-01T00:00:00.000Z" } },
        }),
      );
      f.server.clearRequests();
      const run = await f.run(["logout"], { env: noUrl });
      expect(run.code).toBe(0);
      expect(run.stderr).toBe("");
      expect(run.stdout).toBe(
        `The saved login for ${f.server.url} had expired; forgot it (removed from ${path}).\n`,
      );
      expect(f.server.requests).toEqual([]);
      const after = await f.credentials();
      expect(after.servers).toEqual({});
      expect(after.default_url).toBe(undefined);
      // Logged in again for the next step.
      expect(
        (await f.run(["-U", f.server.url, "login", "alice", "alice-secret-pw"], { env: noUrl }))
          .code,
      )
        .toBe(0);
    },
  );

  await t.step(
    "logout of another server keeps the default; of the default, clears it",
    async () => {
      const elsewhere = await f.run(["-U", other.url, "logout"], { env: noUrl });
      expect(elsewhere.stdout).toContain("Not logged in");
      expect((await f.credentials()).default_url).toBe(f.server.url);
      const here = await f.run(["logout"], { env: noUrl });
      expect(here.code).toBe(0);
      expect((await f.credentials()).default_url).toBe(undefined);
      const after = await f.run(["--json", "whoami"], { env: noUrl });
      // Back to the built-in default, which is not reachable here: no request is sent.
      expect(after.code).toBe(ExitCode.AUTH);
      expect(JSON.parse(after.stdout).error.message).toContain("https://app.qfield.cloud/api/v1/");
    },
  );
});

/** One line on stderr that says to run `login --sso` again, and the authentication exit code. */
function expectLoginSsoAgain(run: Run): void {
  expect(run.code).toBe(ExitCode.AUTH);
  const lines = run.stderr.trim().split("\n");
  expect(lines.length).toBe(1);
  expect(lines[0]).toContain('run "qfieldcloud-cli login --sso" again');
  expect(lines[0]).not.toContain("login USERNAME");
}

Deno.test("every failed renewal ends with one line to log in again, exit 3", async (t) => {
  await using f = await fixture();
  const line =
    `error: The single sign-on session for "${f.server.url}" has expired and could not ` +
    'be renewed: run "qfieldcloud-cli login --sso" again';

  await t.step("the server refuses the hand-over (a deactivated user gets 500)", async () => {
    expect((await f.login()).run.code).toBe(0);
    const ann = f.server.state.findUser("ann")!;
    ann.isActive = false;
    f.server.sso!.middleware.expireSessions();
    const run = await f.run(["list-projects"]);
    ann.isActive = true;
    expect(run.code).toBe(ExitCode.AUTH);
    expect(run.stderr.trim().split("\n")).toEqual([line]);
  });

  await t.step("the server refuses the renewed session too (401 after renewal)", async () => {
    expect((await f.login()).run.code).toBe(0);
    f.server.injectFault({
      path: /\/projects\//,
      status: 401,
      times: 2,
      body: JSON.stringify({ code: "not_authenticated", message: "Not authenticated" }),
      contentType: "application/json",
    });
    const run = await f.run(["list-projects"]);
    expectLoginSsoAgain(run);
  });

  await t.step(
    "a saved single sign-on login no longer usable: the 401 hint says --sso",
    async () => {
      const path = `${f.dir}/config/credentials.json`;
      const saved = await f.credentials();
      delete (saved.servers[f.server.url].sso as { cookies?: unknown }).cookies;
      await Deno.writeTextFile(path, JSON.stringify(saved));
      const run = await f.run(["list-projects"]);
      expectLoginSsoAgain(run);
    },
  );
});

Deno.test("two runs sharing the saved session renew it once", async () => {
  await using f = await fixture();
  expect((await f.login()).run.code).toBe(0);
  f.server.sso!.middleware.expireSessions();
  // Both runs have read the saved session and sent their first request before either renews.
  const { promise: bothSent, resolve } = Promise.withResolvers<void>();
  let held = 0;
  const gated: FetchLike = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname === "/api/v1/projects/" && held < 2) {
      if (++held === 2) resolve();
      await bothSent;
    }
    return await fetch(input, init);
  };
  f.server.clearRequests();
  const runs = await Promise.all([
    f.run(["--json", "list-projects"], { fetch: gated }),
    f.run(["--json", "list-projects"], { fetch: gated }),
  ]);
  expect(runs.map((run) => [run.code, run.stderr])).toEqual([[0, ""], [0, ""]]);
  const handOvers = f.server.requests.filter((r) => r.path === "/api/v1/auth/user/");
  expect(handOvers.length).toBe(1);
  await expect(Deno.stat(`${f.dir}/config/credentials.json.lock`)).rejects.toThrow(
    Deno.errors.NotFound,
  );
  expect((await f.run(["list-projects"])).code).toBe(0);
});
