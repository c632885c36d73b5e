/**
 * The CLI's window on the world: standard streams, environment, platform and
 * terminal facts. `main()` takes a partial {@linkcode CliIo} so that tests run
 * the CLI in-process with captured output and a made-up environment.
 *
 * @module
 */

import type { FetchLike } from "../../mod.ts";
import { readSecretFromTerminal } from "./terminal_input.ts";

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
  /** Reads the next line of standard input, without its line break; `null` at its end. */
  readLine(): Promise<string | null>;
  /** Prompts on stderr and reads one line from the terminal without echoing it. */
  readSecret(prompt: string): Promise<string>;
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
 * A line reader over a text source that arrives in chunks (standard input, or
 * in tests a string read all at once).
 *
 * @example
 * ```ts
 * import { lineReader } from "./io.ts";
 * const next = lineReader(ReadableStream.from(["a\nb", "c\n"]));
 * console.log(await next(), await next(), await next()); // "a" "bc" null
 * ```
 */
export function lineReader(source: ReadableStream<string>): () => Promise<string | null> {
  let reader: ReadableStreamDefaultReader<string> | undefined;
  let buffer = "";
  let done = false;
  return async () => {
    reader ??= source.getReader();
    while (true) {
      const newline = buffer.indexOf("\n");
      if (newline !== -1) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        return line;
      }
      if (done) {
        if (buffer === "") return null;
        const line = buffer;
        buffer = "";
        return line;
      }
      const chunk = await reader.read();
      if (chunk.done) done = true;
      else buffer += chunk.value;
    }
  };
}

/**
 * Fills in what a partial {@linkcode CliIo} leaves out from the real process; lines
 * are read from the given `readStdin` when there is one, so that a made-up standard
 * input stays the only one.
 *
 * @example
 * ```ts
 * import { completeIo } from "./io.ts";
 * const io = completeIo({ readStdin: () => Promise.resolve("one\n") });
 * console.log(await io.readLine()); // "one"
 * ```
 */
export function completeIo(io: Partial<CliIo>): CliIo {
  const full: CliIo = { ...denoIo(), ...io };
  if (io.readStdin && !io.readLine) {
    const readStdin = io.readStdin;
    full.readLine = lineReader(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(await readStdin());
          controller.close();
        },
      }),
    );
  }
  return full;
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
    readLine: lazyStdinLines(),
    readSecret: (prompt) => readSecretFromTerminal(prompt),
    env,
    os,
    home: os === "windows" ? env("USERPROFILE") : env("HOME"),
  };
}

function lazyStdinLines(): () => Promise<string | null> {
  let next: (() => Promise<string | null>) | undefined;
  return () => {
    next ??= lineReader(Deno.stdin.readable.pipeThrough(new TextDecoderStream()));
    return next();
  };
}
