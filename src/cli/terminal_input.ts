/**
 * Reading a secret from the terminal without echo: how the CLI's `denoIo` asks for a
 * password.
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
