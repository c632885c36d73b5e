/**
 * Option values: parsers that turn bad input into usage errors, and the
 * merge of command line, environment and defaults for the global options
 * (done here rather than with commander's `.env()`, which reads the real
 * process environment and ignores the value of boolean variables).
 *
 * @module
 */

import { type CommandUnknownOpts, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { CliUsageError } from "./errors.ts";
import { DEFAULT_URL, type GlobalOptions } from "./context.ts";
import type { CliIo } from "./io.ts";

/**
 * Parses a whole number ≥ `min` for commander, or fails with a usage error.
 *
 * @example
 * ```ts
 * import { integerParser } from "./options.ts";
 * console.log(integerParser(1)("20")); // 20
 * ```
 */
export function integerParser(min: number): (value: string) => number {
  return (value: string) => {
    const number = Number(value.trim());
    if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < min) {
      throw new InvalidArgumentError(`Expected a whole number of at least ${min}, got "${value}"`);
    }
    return number;
  };
}

/**
 * Parses a number of seconds (decimals allowed) for commander.
 *
 * @example
 * ```ts
 * import { parseSeconds } from "./options.ts";
 * console.log(parseSeconds("1.5")); // 1.5
 * ```
 */
export function parseSeconds(value: string): number {
  const number = Number(value.trim());
  if (value.trim() === "" || !Number.isFinite(number)) {
    throw new InvalidArgumentError(`Expected a number of seconds, got "${value}"`);
  }
  return number;
}

const TRUE_WORDS = new Set(["1", "true", "t", "yes", "y", "on"]);
const FALSE_WORDS = new Set(["0", "false", "f", "no", "n", "off"]);

/**
 * Reads a boolean the way click does for environment variables: `1/true/yes/on`
 * and `0/false/no/off` (any case); anything else is a usage error.
 *
 * @example
 * ```ts
 * import { parseBoolean } from "./options.ts";
 * console.log(parseBoolean("QFIELDCLOUD_VERIFY_SSL", "0")); // false
 * ```
 */
export function parseBoolean(name: string, value: string): boolean {
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new CliUsageError(`Invalid value "${value}" for ${name}: use 1 or 0 (true or false)`);
}

/** The root command's parsed option values, before the environment is applied. */
export interface RawGlobalOptions {
  url?: string;
  username?: string;
  password?: string;
  token?: string;
  json?: boolean;
  human?: boolean;
  verifySsl?: boolean;
  caCert?: string;
  debug?: boolean;
  quiet?: boolean;
  connectTimeout?: number;
  readTimeout?: number;
}

function seconds(io: CliIo, name: string, fallback: number): number {
  const value = io.env(name);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) {
    throw new CliUsageError(`Invalid value "${value}" for ${name}: expected a number of seconds`);
  }
  return number;
}

/**
 * Merges the root command's options with the environment and the defaults:
 * the command line wins, then the environment, then the saved default server
 * (the URL of the last `login`), then the built-in default.
 *
 * @example
 * ```ts ignore
 * const globals = resolveGlobals({ json: true }, "json", io);
 * ```
 */
export function resolveGlobals(
  raw: RawGlobalOptions,
  format: "json" | "human" | undefined,
  io: CliIo,
  savedUrl?: string,
): GlobalOptions {
  const envUrl = io.env("QFIELDCLOUD_URL") ?? io.env("QFIELDCLOUD_API");
  const urlSource: GlobalOptions["urlSource"] = raw.url !== undefined
    ? "option"
    : envUrl !== undefined
    ? "environment"
    : savedUrl !== undefined
    ? "saved"
    : "default";
  const url = raw.url ?? envUrl ?? savedUrl ?? DEFAULT_URL;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new TypeError();
  } catch {
    throw new CliUsageError(
      `Invalid URL "${url}": expected something like ${DEFAULT_URL} (-U/--url, QFIELDCLOUD_URL)`,
    );
  }
  const envVerify = io.env("QFIELDCLOUD_VERIFY_SSL");
  return {
    url,
    urlSource,
    username: raw.username ?? io.env("QFIELDCLOUD_USERNAME"),
    usernameFromArgs: raw.username !== undefined,
    password: raw.password ?? io.env("QFIELDCLOUD_PASSWORD"),
    token: raw.token ?? io.env("QFIELDCLOUD_TOKEN"),
    json: format === "json",
    verifySsl: raw.verifySsl ??
      (envVerify === undefined ? true : parseBoolean("QFIELDCLOUD_VERIFY_SSL", envVerify)),
    caCert: raw.caCert ?? io.env("QFIELDCLOUD_CA_CERT"),
    debug: raw.debug ?? false,
    quiet: raw.quiet ?? false,
    connectTimeout: raw.connectTimeout ?? seconds(io, "QFC_SDK_CONNECT_TIMEOUT_S", 10),
    readTimeout: raw.readTimeout ?? seconds(io, "QFC_SDK_READ_TIMEOUT_S", 300),
  };
}

/**
 * Adds a click-style pair of flags with different names (`--include-public` /
 * `--no-public`, `--json` / `--human`): the last one given wins. Returns a
 * getter for the value: `true`, `false`, or `undefined` when neither was given.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { flagPair } from "./options.ts";
 * const command = new Command("list");
 * const includePublic = flagPair(command, "--include-public", "--no-public", "Include.", "Exclude.");
 * command.parse(["--no-public", "--include-public"], { from: "user" });
 * console.log(includePublic()); // true
 * ```
 */
export function flagPair(
  command: CommandUnknownOpts,
  on: string,
  off: string,
  onDescription: string,
  offDescription: string,
): () => boolean | undefined {
  let value: boolean | undefined;
  const onOption = new Option(on, onDescription);
  const offOption = new Option(off, offDescription);
  command.addOption(onOption).addOption(offOption);
  command.on(`option:${onOption.name()}`, () => value = true);
  command.on(`option:${offOption.name()}`, () => value = false);
  return () => value;
}
