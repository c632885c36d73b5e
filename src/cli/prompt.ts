/**
 * Getting a password without it ever touching argv, shell history or the
 * screen: a no-echo prompt on a terminal, or `--password-stdin`.
 *
 * @module
 */

import type { CliIo } from "./io.ts";
import { CliUsageError } from "./errors.ts";

/** Where {@linkcode resolvePassword} may find a password, in order of preference. */
export interface PasswordSources {
  /** The password given as an argument or option (least safe, but what the Python CLI takes). */
  given?: string;
  /** `--password-stdin`: read the first line of standard input. */
  fromStdin?: boolean;
  /** Name of the account, shown in the prompt. */
  username: string;
}

/**
 * Finds the password: the given value, else the first line of stdin with
 * `--password-stdin`, else a no-echo prompt when stdin is a terminal.
 * Throws a usage error when none of these is possible.
 *
 * @example
 * ```ts
 * import { resolvePassword } from "./prompt.ts";
 * import { denoIo } from "./io.ts";
 * const password = await resolvePassword(denoIo(), { username: "ada", given: "secret" });
 * ```
 */
export async function resolvePassword(io: CliIo, sources: PasswordSources): Promise<string> {
  if (sources.fromStdin) {
    const text = await io.readStdin();
    const password = text.split(/\r?\n/, 1)[0] ?? "";
    if (!password) throw new CliUsageError("No password on standard input (--password-stdin)");
    return password;
  }
  if (sources.given !== undefined && sources.given !== "") return sources.given;
  if (io.stdinIsTerminal) {
    const password = await io.readSecret(`Password for "${sources.username}": `);
    if (!password) throw new CliUsageError("No password entered");
    return password;
  }
  throw new CliUsageError(
    `No password for "${sources.username}": pass --password-stdin, set QFIELDCLOUD_PASSWORD or run in a terminal to be prompted`,
  );
}

/**
 * Asks a question on stderr and returns the next line of standard input, or `null`
 * at its end. Ctrl-C (the run's abort signal) ends the wait at once, although the
 * line is still being read.
 *
 * @example
 * ```ts ignore
 * const answer = await askLine(ctx.io, "Type alice/survey to confirm: ");
 * ```
 */
export function askLine(io: CliIo, prompt: string): Promise<string | null> {
  io.stderr.write(prompt);
  const signal = io.signal;
  if (!signal) return io.readLine();
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    io.readLine().then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
