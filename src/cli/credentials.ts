/**
 * The per-user credentials file: the login saved by `login` (a token, or a
 * single sign-on session), one per server URL, read by later commands when no
 * token is given, and the URL of the last login, which is the default server
 * (as `gh` remembers its host). The file is written with mode 0600 (owner
 * only) under the platform's configuration directory:
 *
 * | platform | directory |
 * | --- | --- |
 * | Linux and others | `$XDG_CONFIG_HOME/qfieldcloud`, else `~/.config/qfieldcloud` |
 * | macOS | `~/Library/Application Support/qfieldcloud` |
 * | Windows | `%APPDATA%\qfieldcloud` |
 *
 * `QFIELDCLOUD_CONFIG_DIR` overrides the directory (tests use it so that they
 * never touch the real home).
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { SsoSession } from "../../mod.ts";
import { withFileLock } from "./file_lock.ts";

/** What {@linkcode configDir} needs to know about the environment. */
export interface ConfigEnv {
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /** `Deno.build.os`. */
  os: string;
  /** The home directory. */
  home?: string;
}

/**
 * The directory of the CLI's configuration files.
 *
 * @example
 * ```ts
 * import { configDir } from "./credentials.ts";
 * const dir = configDir({ env: () => undefined, os: "linux", home: "/home/ada" });
 * console.log(dir); // "/home/ada/.config/qfieldcloud"
 * ```
 */
export function configDir(config: ConfigEnv): string {
  const override = config.env("QFIELDCLOUD_CONFIG_DIR");
  if (override) return override;
  const home = config.home ?? "";
  if (config.os === "windows") {
    return join(config.env("APPDATA") ?? join(home, "AppData", "Roaming"), "qfieldcloud");
  }
  if (config.os === "darwin") return join(home, "Library", "Application Support", "qfieldcloud");
  return join(config.env("XDG_CONFIG_HOME") ?? join(home, ".config"), "qfieldcloud");
}

/** A login saved by `login`: a token, or a single sign-on session. */
export interface StoredCredential {
  /** The API URL the login belongs to. */
  url: string;
  /** The token, for a login with a password. */
  token?: string;
  /** The session cookies, refresh token and provider, for a single sign-on. */
  sso?: SsoSession;
  /** Who logged in. */
  username: string;
  /** When the server expires the token or the session (ISO 8601), if it said. */
  expires_at: string | null;
  /** When the token was saved (ISO 8601). */
  saved_at: string;
}

interface CredentialsFile {
  version: 1;
  /** The URL of the last login: the server of commands without -U or QFIELDCLOUD_URL. */
  default_url?: string;
  servers: Record<string, StoredCredential>;
}

/**
 * Normalizes an API URL for use as a key: no credentials, no query, a trailing slash.
 *
 * @example
 * ```ts
 * import { credentialKey } from "./credentials.ts";
 * console.log(credentialKey("https://app.qfield.cloud/api/v1")); // "https://app.qfield.cloud/api/v1/"
 * ```
 */
export function credentialKey(url: string): string {
  const parsed = new URL(url);
  parsed.username = "";
  parsed.password = "";
  parsed.search = "";
  parsed.hash = "";
  if (!parsed.pathname.endsWith("/")) parsed.pathname += "/";
  return parsed.href;
}

/**
 * Reads and writes the credentials file.
 *
 * @example
 * ```ts
 * import { CredentialStore } from "./credentials.ts";
 * const store = new CredentialStore(await Deno.makeTempFile());
 * await store.save({ url: "https://example.com/api/v1/", token: "t", username: "ada", expires_at: null });
 * console.log((await store.get("https://example.com/api/v1/"))?.username); // "ada"
 * ```
 */
export class CredentialStore {
  #path: string;

  /** Opens the store at the path of the file. */
  constructor(path: string) {
    this.#path = path;
  }

  /**
   * The store in the configuration directory.
   */
  static forEnvironment(config: ConfigEnv): CredentialStore {
    return new CredentialStore(join(configDir(config), "credentials.json"));
  }

  /** Path of the file. */
  get path(): string {
    return this.#path;
  }

  async #read(): Promise<CredentialsFile> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return { version: 1, servers: {} };
      throw error;
    }
    try {
      const data = JSON.parse(text) as Partial<CredentialsFile>;
      if (data && typeof data.servers === "object" && data.servers !== null) {
        const defaultUrl = typeof data.default_url === "string" ? data.default_url : undefined;
        return { version: 1, default_url: defaultUrl, servers: data.servers };
      }
    } catch {
      // A damaged file is replaced on the next login rather than blocking every command.
    }
    return { version: 1, servers: {} };
  }

  async #write(data: CredentialsFile): Promise<void> {
    const dir = dirname(this.#path);
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = `${this.#path}.${crypto.randomUUID()}.tmp`;
    // Created 0600 from the start, then renamed over the old file, so that the
    // token is never readable by others, not even briefly.
    await Deno.writeTextFile(temp, JSON.stringify(data, null, 2) + "\n", { mode: 0o600 });
    try {
      if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
      await Deno.rename(temp, this.#path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw error;
    }
  }

  /**
   * The saved login for the URL: a single sign-on session (renewed when it expires),
   * or a token unless it has expired.
   */
  async get(url: string, now: Date = new Date()): Promise<StoredCredential | undefined> {
    const entry = await this.peek(url);
    if (entry?.sso && typeof entry.sso === "object" && entry.sso.cookies) return entry;
    if (!entry || typeof entry.token !== "string" || !entry.token) return undefined;
    if (entry.expires_at && Date.parse(entry.expires_at) <= now.getTime()) return undefined;
    return entry;
  }

  /** The saved entry for the URL as it is, expired or not. */
  async peek(url: string): Promise<StoredCredential | undefined> {
    return (await this.#read()).servers[credentialKey(url)];
  }

  /** The URL of the last login, if it was saved and not logged out of since. */
  async defaultUrl(): Promise<string | undefined> {
    return (await this.#read()).default_url;
  }

  /** Saves (or replaces) the login for its URL, which becomes the default server. */
  async save(credential: Omit<StoredCredential, "saved_at">): Promise<StoredCredential> {
    const data = await this.#read();
    const entry: StoredCredential = {
      ...credential,
      url: credentialKey(credential.url),
      saved_at: new Date().toISOString(),
    };
    data.servers[entry.url] = entry;
    data.default_url = entry.url;
    await this.#write(data);
    return entry;
  }

  /**
   * Runs `action` while no other run (another process sharing this file) holds the
   * file's lock: for a renewal, which must happen once.
   */
  locked<T>(action: () => Promise<T>): Promise<T> {
    return withFileLock(`${this.#path}.lock`, action);
  }

  /**
   * Replaces the single sign-on session of a saved login after a renewal; the default
   * server stays as it is.
   */
  async updateSession(url: string, session: SsoSession): Promise<void> {
    const data = await this.#read();
    const entry = data.servers[credentialKey(url)];
    if (!entry) return;
    entry.sso = session;
    entry.expires_at = session.expiresAt ?? null;
    await this.#write(data);
  }

  /**
   * Removes the login for the URL, and the default server if it was this one;
   * true if there was a login.
   */
  async remove(url: string): Promise<boolean> {
    const data = await this.#read();
    const key = credentialKey(url);
    const wasDefault = data.default_url === key;
    if (!(key in data.servers) && !wasDefault) return false;
    const existed = key in data.servers;
    delete data.servers[key];
    if (wasDefault) delete data.default_url;
    await this.#write(data);
    return existed;
  }
}
