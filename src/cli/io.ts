/**
 * The CLI's window on the world: standard streams, environment, platform and
 * terminal facts. `main()` takes a partial {@linkcode CliIo} so that tests run
 * the CLI in-process with captured output and a made-up environment.
 *
 * @module
 */

import type { FetchLike } from "../../mod.ts";
import { readLineFromStdin, readSecretFromTerminal } from "./prompt.ts";

/** A sink for text, such as standard output. */
export interface TextSink {
  /** Writes the text as is (no newline is added). */
  write(text: string): void;
  /** True when the sink is an interactive terminal. */
  readonly isTerminal: boolean;
  /** Terminal width in columns, when known. */
  readonly columns?: number;
}

/** Where the CLI reads, writes and looks things up. */
export interface CliIo {
  /** Standard output: results (tables, sentences, the JSON document). */
  stdout: TextSink;
  /** Standard error: notices, warnings, progress and errors. */
  stderr: TextSink;
  /** True when standard input is an interactive terminal. */
  stdinIsTerminal: boolean;
  /** Reads the whole of standard input as text. */
  readStdin(): Promise<string>;
  /** Prompts on stderr and reads one line from the terminal without echoing it. */
  readSecret(prompt: string): Promise<string>;
  /** Prompts on stderr and reads one line from standard input (a confirmation). */
  readLine(prompt: string): Promise<string>;
  /** Reads an environment variable; empty values count as unset. */
  env(name: string): string | undefined;
  /** Operating system, as `Deno.build.os` names it. */
  os: string;
  /** The user's home directory, when known. */
  home?: string;
  /** `fetch` to use when TLS options do not replace it (tests inject one). */
  fetch?: FetchLike;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
}

const encoder = new TextEncoder();

/**
 * Writes all of the text to a synchronous writer such as `Deno.stderr`,
 * looping over partial writes.
 *
 * @example
 * ```ts
 * import { writeAllSync } from "./io.ts";
 * writeAllSync(Deno.stderr, "hello\n");
 * ```
 */
export function writeAllSync(target: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) {
    const written = target.writeSync(bytes);
    bytes = bytes.subarray(written);
  }
}

/**
 * A sink over a standard stream. Once the reader has gone (`… | head` closed the
 * pipe), further output is dropped: the command ends quietly with the exit code of
 * its outcome, instead of failing with "Broken pipe".
 */
function streamSink(
  target: { writeSync(p: Uint8Array): number },
  isTerminal: boolean,
): TextSink {
  let readerGone = false;
  return {
    write: (text) => {
      if (readerGone) return;
      try {
        writeAllSync(target, text);
      } catch (error) {
        if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
        readerGone = true;
      }
    },
    isTerminal,
    // Read at each use: the progress display follows a terminal that is resized mid-transfer.
    get columns() {
      return isTerminal ? terminalColumns() : undefined;
    },
  };
}

function terminalColumns(): number | undefined {
  try {
    return Deno.consoleSize().columns || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The real process: Deno's standard streams, environment and terminal.
 *
 * @example
 * ```ts
 * import { denoIo } from "./io.ts";
 * const io = denoIo();
 * io.stderr.write("hello\n");
 * ```
 */
export function denoIo(): CliIo {
  const stdoutIsTerminal = Deno.stdout.isTerminal();
  const stderrIsTerminal = Deno.stderr.isTerminal();
  const os = Deno.build.os;
  const env = (name: string): string | undefined => {
    try {
      return Deno.env.get(name) || undefined;
    } catch {
      return undefined; // no --allow-env: behave as if unset
    }
  };
  return {
    stdout: streamSink(Deno.stdout, stdoutIsTerminal),
    stderr: streamSink(Deno.stderr, stderrIsTerminal),
    stdinIsTerminal: Deno.stdin.isTerminal(),
    readStdin: () => new Response(Deno.stdin.readable).text(),
    readSecret: (prompt) => readSecretFromTerminal(prompt),
    readLine: (prompt) => readLineFromStdin(prompt),
    env,
    os,
    home: os === "windows" ? env("USERPROFILE") : env("HOME"),
  };
}
