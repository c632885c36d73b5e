/**
 * The state of one CLI run: the resolved global options, the printer, and the
 * client, built on first use with the TLS choice, the token and `--debug`.
 *
 * Where the token comes from, first match wins:
 * 1. `-u/--username` with a password (`-p/--password`, `QFIELDCLOUD_PASSWORD`, or a
 *    prompt when the username was given on the command line): logs in first, as
 *    the Python CLI does, even when a token is set;
 * 2. `-t/--token` or `QFIELDCLOUD_TOKEN`;
 * 3. the login saved in the credentials file for this URL: a token, or a
 *    single sign-on session, renewed silently when it has expired.
 *
 * @module
 */

import {
  Client,
  type FetchLike,
  QfcRequestException,
  renewSsoSession,
  type SsoSession,
  useSsoSession,
  VERSION,
} from "../../mod.ts";
import { ExitCode } from "./exit_codes.ts";
import { CredentialStore, type StoredCredential } from "./credentials.ts";
import { CliError, CliUsageError, ssoExpiredMessage } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { Output } from "./output.ts";
import { resolvePassword } from "./prompt.ts";

/** The API of app.qfield.cloud, the default `--url`. */
export const DEFAULT_URL = "https://app.qfield.cloud/api/v1/";

/** The global options after command line, environment and defaults are merged. */
export interface GlobalOptions {
  /** API URL. */
  url: string;
  /** Where the URL came from: -U/--url, QFIELDCLOUD_URL, the last login, or the built-in default. */
  urlSource: "option" | "environment" | "saved" | "default";
  /** Username or email for an implicit login. */
  username?: string;
  /** True when the username came from the command line (not the environment). */
  usernameFromArgs: boolean;
  /** Password for an implicit login. */
  password?: string;
  /** Session token. */
  token?: string;
  /** `--json` mode. */
  json: boolean;
  /** Verify TLS certificates. */
  verifySsl: boolean;
  /** PEM file with extra CA certificates. */
  caCert?: string;
  /** Print requests and stack traces. */
  debug: boolean;
  /** `--quiet`: print nothing but errors. */
  quiet: boolean;
  /** Seconds allowed to connect (added to the read timeout; 0 or less: no timeout). */
  connectTimeout: number;
  /** Seconds allowed to wait for the server's answer (0 or less: no timeout). */
  readTimeout: number;
}

/** Where the credentials of a run came from (see {@linkcode CliContext.authSource}). */
export type AuthSource = "login" | "token" | "saved-token" | "sso";

/** How {@linkcode CliContext.client} should authenticate. */
export interface ClientRequirements {
  /**
   * `true` (default): log in with `-u/-p`, else use the token, else the saved token.
   * `"token"`: use a token if there is one, never log in. `false`: anonymous.
   */
  auth?: boolean | "token";
}

/** Adds `--debug` request lines (method, URL, status, time; never a token) to a fetch. */
function debugFetch(inner: FetchLike, out: Output): FetchLike {
  return async (input, init) => {
    const request = new Request(input, init);
    const started = performance.now();
    out.debug(`> ${request.method} ${request.url}`);
    try {
      const response = await inner(request);
      const ms = Math.round(performance.now() - started);
      out.debug(
        `< ${response.status} ${response.statusText} ${request.method} ${request.url} (${ms} ms)`,
      );
      return response;
    } catch (error) {
      out.debug(`< failed ${request.method} ${request.url}: ${(error as Error).message}`);
      throw error;
    }
  };
}

/**
 * The line a failed renewal of a single sign-on session ends with: the provider
 * refused the refresh, or the server the hand-over (a deactivated user gets a 500).
 * Only a network failure or an interruption is left as it is: trying again may work.
 */
function renewalFailure(url: string, error: unknown): unknown {
  const unanswered = error instanceof QfcRequestException && error.status === undefined;
  const aborted = error instanceof Error && error.name === "AbortError";
  if (unanswered || aborted) return error;
  return new CliError(ssoExpiredMessage(url), ExitCode.AUTH, { cause: error });
}

/**
 * One CLI run's state, shared by the commands.
 *
 * @example
 * ```ts ignore
 * const client = await ctx.client();
 * ctx.out.result(await client.listProjects(), () => {});
 * ```
 */
export class CliContext {
  /** Streams, environment and platform. */
  readonly io: CliIo;
  /** The exit code a command chose for a run that printed its result (0 if none). */
  exitCode: ExitCode = 0;
  #globals?: GlobalOptions;
  #out?: Output;
  #client?: Client;
  #closers: (() => void)[] = [];
  #store?: CredentialStore;
  /** Where the client's credentials came from, once {@linkcode CliContext.client} chose. */
  authSource?: AuthSource;
  /** The saved login the client uses, if it uses one. */
  stored?: StoredCredential;
  /** The saved login for the server is a single sign-on one (used, or no longer usable). */
  ssoLogin = false;
  /** The name of the command being run, once commander chose it. */
  commandName?: string;

  /** Creates the context for the streams and environment. */
  constructor(io: CliIo) {
    this.io = io;
  }

  /** Sets the global options once they are parsed. */
  setGlobals(globals: GlobalOptions): void {
    this.#globals = globals;
    this.#out = new Output(this.io.stdout, this.io.stderr, {
      json: globals.json,
      color: this.io.stderr.isTerminal && !this.io.env("NO_COLOR"),
      quiet: globals.quiet,
    });
    this.#out.addSecret(globals.token);
    this.#out.addSecret(globals.password);
  }

  /** The global options. */
  get globals(): GlobalOptions {
    if (!this.#globals) throw new Error("Global options are not parsed yet");
    return this.#globals;
  }

  /**
   * Whether this run logs in by itself: a username with a password (or a username given as
   * an argument, prompted for its password), even when a token is set, as the Python CLI does.
   */
  get implicitLogin(): boolean {
    const globals = this.globals;
    return Boolean(globals.username) && (Boolean(globals.password) || globals.usernameFromArgs);
  }

  /** True once the global options are parsed. */
  get ready(): boolean {
    return this.#globals !== undefined;
  }

  /** The printer. */
  get out(): Output {
    if (!this.#out) throw new Error("Global options are not parsed yet");
    return this.#out;
  }

  /** The credentials file. */
  get credentials(): CredentialStore {
    this.#store ??= CredentialStore.forEnvironment(this.io);
    return this.#store;
  }

  /** The fetch with the TLS choice and `--debug` applied. */
  async #fetch(): Promise<FetchLike | undefined> {
    const globals = this.globals;
    let fetch: FetchLike | undefined = this.io.fetch;
    if (globals.caCert) {
      let pem: string;
      try {
        pem = await Deno.readTextFile(globals.caCert);
      } catch (error) {
        throw new CliUsageError(
          `Cannot read the CA certificate "${globals.caCert}": ${(error as Error).message}`,
        );
      }
      if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
        throw new CliUsageError(`No PEM certificate in "${globals.caCert}"`);
      }
      const { caCertFetch } = await import("./tls.ts"); // node:https costs ~40 ms to load
      const closable = caCertFetch(pem);
      this.#closers.push(closable.close);
      fetch = closable.fetch;
    }
    if (!globals.verifySsl) {
      if (globals.caCert) {
        this.out.warn("--no-verify-ssl overrides --ca-cert: certificates are not verified");
      }
      const { insecureFetch } = await import("./tls.ts");
      const closable = insecureFetch();
      this.#closers.push(closable.close);
      fetch = closable.fetch;
    }
    if (globals.debug) {
      fetch = debugFetch(fetch ?? ((input, init) => globalThis.fetch(input, init)), this.out);
    }
    return fetch;
  }

  /** The request timeout in milliseconds, 0 for none. */
  get timeoutMs(): number {
    const { connectTimeout, readTimeout } = this.globals;
    if (connectTimeout <= 0 || readTimeout <= 0) return 0;
    return Math.round((connectTimeout + readTimeout) * 1000);
  }

  /**
   * The client, authenticated as the requirements say. Built once per run.
   */
  async client(requirements: ClientRequirements = {}): Promise<Client> {
    const auth = requirements.auth ?? true;
    if (!this.#client) {
      this.#client = new Client({
        url: this.globals.url,
        token: "", // never fall back to the process environment: the CLI resolved it already
        fetch: await this.#fetch(),
        userAgent: `qfieldcloud-cli/${VERSION}`,
        timeoutMs: this.timeoutMs,
        signal: this.io.signal,
      });
    }
    const client = this.#client;
    if (auth === false || client.core.auth) return client;
    const globals = this.globals;
    // `globals.username` once more, for the type: implicitLogin implies it.
    if (auth === true && globals.username && this.implicitLogin) {
      const password = await resolvePassword(this.io, {
        username: globals.username,
        given: globals.password,
      });
      this.out.addSecret(password);
      const answer = await client.login(globals.username, password);
      this.out.addSecret(answer.token);
      this.authSource = "login";
      return client;
    }
    if (globals.token) {
      client.token = globals.token;
      this.authSource = "token";
      return client;
    }
    const stored = await this.credentials.get(globals.url);
    if (stored?.sso) {
      this.#useSession(client, stored.sso);
      this.authSource = "sso";
      this.stored = stored;
      this.ssoLogin = true;
    } else if (stored?.token) {
      this.out.addSecret(stored.token);
      client.token = stored.token;
      this.authSource = "saved-token";
      this.stored = stored;
    } else {
      const unusable = await this.credentials.peek(globals.url).catch(() => undefined);
      this.ssoLogin = unusable?.sso !== undefined;
    }
    return client;
  }

  /** Masks a session's secrets in everything printed. */
  addSessionSecrets(session: SsoSession): void {
    for (const value of Object.values(session.cookies)) this.out.addSecret(value);
    this.out.addSecret(session.refreshToken);
  }

  /**
   * Authenticates with a saved single sign-on session, renewed through the refresh
   * token when the server no longer accepts it, and saved again after each renewal.
   * Runs sharing the credentials file renew once: under the file's lock, a session
   * another run has saved meanwhile is taken instead of renewing again (a rotated
   * refresh token is good once).
   */
  #useSession(client: Client, session: SsoSession): void {
    this.addSessionSecrets(session);
    useSsoSession(client, session, {
      renew: async (current) => {
        try {
          return await this.credentials.locked(async () => {
            const saved = (await this.credentials.peek(client.url))?.sso;
            const savedSession = saved?.cookies?.sessionid;
            if (savedSession && savedSession !== current.cookies.sessionid) return saved!;
            const renewed = await renewSsoSession(client, current);
            await this.credentials.updateSession(client.url, renewed);
            return renewed;
          });
        } catch (error) {
          throw renewalFailure(client.url, error);
        }
      },
      onRenewed: (current) => {
        this.addSessionSecrets(current);
        if (this.stored) {
          this.stored = { ...this.stored, sso: current, expires_at: current.expiresAt ?? null };
        }
      },
    });
  }

  /** Releases TLS clients and connections. */
  close(): void {
    for (const close of this.#closers.splice(0)) {
      try {
        close();
      } catch {
        // Already closed.
      }
    }
  }
}
