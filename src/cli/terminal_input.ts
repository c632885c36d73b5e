/**
 * Reading a line from the terminal, with or without echo: what the CLI's `denoIo` asks
 * the user with.
 *
 * @module
 */

/**
 * Prompts on stderr and reads one line from the terminal in raw mode, so that
 * the typed characters are not echoed. Backspace edits; Ctrl-C aborts.
 *
 * @example
 * ```ts ignore
 * import { readSecretFromTerminal } from "./terminal_input.ts";
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
 * import { readLineFromStdin } from "./terminal_input.ts";
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
