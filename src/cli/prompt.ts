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
 * Prompts on stderr and reads one line from the terminal in raw mode, so that
 * the typed characters are not echoed. Backspace edits; Ctrl-C aborts.
 *
 * @example
 * ```ts ignore
 * import { readSecretFromTerminal } from "./prompt.ts";
 * const secret = await readSecretFromTerminal("Password: ");
 * ```
 */
export async function readSecretFromTerminal(prompt: string): Promise<string> {
  const encoder = new TextEncoder();
  Deno.stderr.writeSync(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const chars: string[] = [];
  const buffer = new Uint8Array(64);
  const decoder = new TextDecoder();
  try {
    reading: while (true) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      for (const char of decoder.decode(buffer.subarray(0, n), { stream: true })) {
        if (char === "\r" || char === "\n") break reading;
        if (char === "\u0003") throw new Deno.errors.Interrupted("Interrupted");
        if (char === "\u0004" && chars.length === 0) break reading;
        if (char === "\u007f" || char === "\b") chars.pop();
        else if (char >= " ") chars.push(char);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
  return chars.join("");
}

/**
 * Prompts on stderr and reads one line from standard input, echoed as typed;
 * for confirmations. The end of input counts as an empty answer.
 *
 * @example
 * ```ts ignore
 * import { readLineFromStdin } from "./prompt.ts";
 * const answer = await readLineFromStdin("Type the name to confirm: ");
 * ```
 */
export async function readLineFromStdin(prompt: string): Promise<string> {
  Deno.stderr.writeSync(new TextEncoder().encode(prompt));
  const bytes: number[] = [];
  const buffer = new Uint8Array(1);
  // One byte at a time, so nothing after the line is consumed.
  while (true) {
    const n = await Deno.stdin.read(buffer);
    if (n === null || buffer[0] === 0x0a) break;
    bytes.push(buffer[0]);
  }
  return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\r$/, "");
}

/**
 * Asks a question on the terminal and returns the answer line. Ctrl-C (the run's
 * abort signal) ends the wait at once, although the line is still being read.
 *
 * @example
 * ```ts ignore
 * const answer = await askLine(ctx.io, "Type alice/survey to confirm: ");
 * ```
 */
export function askLine(io: CliIo, prompt: string): Promise<string> {
  const signal = io.signal;
  if (!signal) return io.askLine(prompt);
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    io.askLine(prompt).then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
  });
}
