/**
 * Test helpers for the CLI tests: run `main()` in-process with captured
 * streams and a made-up environment, or `cli.ts` as a subprocess.
 *
 * @module
 */

import { main } from "../cli.ts";
import { startTestServer, type TestServer, type TestServerOptions } from "../testing/mod.ts";
import type { CliIo } from "../src/cli/io.ts";

/** What a CLI run printed and returned. */
export interface CliRun {
  /** Exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/** How to run the CLI in-process. */
export interface RunOptions {
  /** Environment variables (nothing else is visible). */
  env?: Record<string, string | undefined>;
  /** Text on standard input. */
  stdin?: string;
  /** Pretend stdin is a terminal; `secret` answers the no-echo prompt. */
  stdinIsTerminal?: boolean;
  /** The answer to the no-echo password prompt. */
  secret?: string;
  /** The answer to a confirmation prompt (a line read from stdin). */
  answer?: string;
  /** Pretend stderr is a terminal (live progress). */
  stderrIsTerminal?: boolean;
  /** Operating system to pretend. */
  os?: string;
  /** A fetch to inject. */
  fetch?: CliIo["fetch"];
  /** Aborts the run. */
  signal?: AbortSignal;
}

/** Runs the CLI in-process with captured output. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const prompts: string[] = [];
  const env = options.env ?? {};
  const code = await main(args, {
    stdout: { write: (text) => stdout += text, isTerminal: false },
    stderr: {
      write: (text) => stderr += text,
      isTerminal: options.stderrIsTerminal ?? false,
      columns: 80,
    },
    stdinIsTerminal: options.stdinIsTerminal ?? false,
    readStdin: () => Promise.resolve(options.stdin ?? ""),
    readSecret: (prompt) => {
      prompts.push(prompt);
      stderr += prompt + "\n";
      return Promise.resolve(options.secret ?? "");
    },
    // The answer to a question, then the end of input; without one, lines come from `stdin`.
    ...(options.answer === undefined ? {} : {
      readLine: (() => {
        const lines: (string | null)[] = [options.answer];
        return () => {
          stderr += "\n"; // the terminal's echo of Enter
          return Promise.resolve(lines.shift() ?? null);
        };
      })(),
    }),
    env: (name) => env[name] || undefined,
    os: options.os ?? "linux",
    home: "/nonexistent-home",
    fetch: options.fetch,
    signal: options.signal,
  });
  return { code, stdout, stderr };
}

function inherited(names: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  return env;
}

/** Runs `cli.ts` in a subprocess with exactly this environment (plus PATH and HOME). */
export async function runCliProcess(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<CliRun> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", new URL("../cli.ts", import.meta.url).pathname, ...args],
    env: {
      NO_COLOR: "1",
      ...inherited(["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]),
      ...options.env,
    },
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** The test users every CLI test server has. */
export const USERS = [
  { username: "alice", password: "alice-secret-pw" },
  { username: "bob", password: "bob-secret-pw" },
  { username: "carol", password: "carol-secret-pw" },
];

/** A test server with alice logged in, and a way to run the CLI against it. */
export interface CliServer extends AsyncDisposable {
  /** The server. */
  server: TestServer;
  /** The environment every run gets: the server's URL, alice's token, `NO_COLOR`. */
  env: Record<string, string>;
  /** Runs the CLI in-process as alice; `options.env` adds to {@linkcode CliServer.env}. */
  run(args: string[], options?: RunOptions): Promise<CliRun>;
}

/** Starts a test server with {@linkcode USERS} and runs the CLI against it as alice. */
export async function startCliServer(options: TestServerOptions = {}): Promise<CliServer> {
  const server = await startTestServer({ users: USERS, quiet: true, ...options });
  const env = {
    QFIELDCLOUD_URL: server.url,
    QFIELDCLOUD_TOKEN: server.createToken("alice", "sdk|ts|test"),
    NO_COLOR: "1",
  };
  return {
    server,
    env,
    run: (args, runOptions = {}) =>
      runCli(args, { ...runOptions, env: { ...env, ...runOptions.env } }),
    [Symbol.asyncDispose]: () => server.close(),
  };
}
