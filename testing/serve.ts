/**
 * Runs the in-memory QFieldCloud test server from the command line:
 *
 * ```sh
 * deno task serve --port 8000 --user alice:secret --org acme:alice
 * ```
 *
 * The first line on stdout is `QFIELDCLOUD_URL=<url>`, so scripts can read
 * it; a line per seeded account follows. Ctrl-C (or SIGTERM) stops it.
 *
 * @module
 */
import { startTestServer, type TestServerOptions } from "./server.ts";

/** What {@linkcode parseServeArgs} returns. */
export type ServeCommand =
  | { kind: "help" }
  | { kind: "run"; options: TestServerOptions };

/** Help text of the command. */
export const SERVE_HELP = `Usage: deno task serve [options]

Runs an in-memory QFieldCloud server on 127.0.0.1 for tests and offline work.
Prints QFIELDCLOUD_URL=<url> as its first line; stops on Ctrl-C or SIGTERM.

Options:
  --port N              port to listen on (default 0: a free port)
  --user NAME:PASSWORD  create a user (repeatable)
  --org NAME:OWNER      create an organization owned by a user (repeatable)
  --job-seconds S       time a job takes from pending to finished (default 0.2)
  --storage DIR         keep file contents in DIR instead of memory
  --keep-versions N     file versions kept per file (default 10)
  --quota BYTES         storage quota per owner (default unlimited)
  --latency-ms MS       delay added before answering each request (default 0)
  -h, --help            show this help
`;

/** A command-line error: printed as one `error: ...` line, exit code 2. */
export class ServeArgsError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ServeArgsError";
  }
}

function nonNegativeNumber(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new ServeArgsError(
      `Invalid value "${value}" for ${flag}: expected a non-negative ${
        integer ? "integer" : "number"
      }`,
    );
  }
  return n;
}

function pairValue(flag: string, value: string, what: string): [string, string] {
  const colon = value.indexOf(":");
  if (colon <= 0 || colon === value.length - 1) {
    // Never echo a value that may hold a password.
    throw new ServeArgsError(`Invalid value for ${flag}: expected ${what}`);
  }
  return [value.slice(0, colon), value.slice(colon + 1)];
}

/**
 * Parses the command line of `serve.ts`. Throws {@linkcode ServeArgsError}.
 *
 * @example
 * ```ts
 * import { parseServeArgs } from "./serve.ts";
 * parseServeArgs(["--", "--port", "8000", "--user", "alice:pw"]);
 * ```
 */
export function parseServeArgs(args: readonly string[]): ServeCommand {
  const options: TestServerOptions = { port: 0, users: [], organizations: [] };
  const rest = args[0] === "--" ? args.slice(1) : [...args];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "-h" || arg === "--help") return { kind: "help" };
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const takeValue = (): string => {
      if (eq !== -1) return arg.slice(eq + 1);
      const value = rest[++i];
      if (value === undefined) throw new ServeArgsError(`Option ${flag} needs a value`);
      return value;
    };
    switch (flag) {
      case "--port": {
        const port = nonNegativeNumber(flag, takeValue(), true);
        if (port > 65535) throw new ServeArgsError(`Invalid value "${port}" for --port`);
        options.port = port;
        break;
      }
      case "--user": {
        const [username, password] = pairValue(flag, takeValue(), "NAME:PASSWORD");
        options.users!.push({ username, password });
        break;
      }
      case "--org": {
        const [name, owner] = pairValue(flag, takeValue(), "NAME:OWNER");
        options.organizations!.push({ name, owner });
        break;
      }
      case "--job-seconds":
        options.jobSeconds = nonNegativeNumber(flag, takeValue(), false);
        break;
      case "--latency-ms":
        options.latencyMs = nonNegativeNumber(flag, takeValue(), false);
        break;
      case "--storage": {
        const dir = takeValue();
        if (dir === "") throw new ServeArgsError("Option --storage needs a directory");
        options.storageDir = dir;
        break;
      }
      case "--keep-versions": {
        const n = nonNegativeNumber(flag, takeValue(), true);
        if (n < 1) throw new ServeArgsError(`Invalid value "${n}" for --keep-versions`);
        options.keepVersions = n;
        break;
      }
      case "--quota":
        options.storageQuotaBytes = nonNegativeNumber(flag, takeValue(), true);
        break;
      default:
        throw new ServeArgsError(
          arg.startsWith("-") ? `Unknown option "${flag}"` : `Unexpected argument "${arg}"`,
        );
    }
  }
  const usernames = new Set(options.users!.map((u) => u.username));
  for (const org of options.organizations!) {
    if (!usernames.has(org.owner)) {
      throw new ServeArgsError(`Organization "${org.name}" has unknown owner "${org.owner}"`);
    }
  }
  return { kind: "run", options };
}

/** Runs the command; resolves with the exit code once the server stopped. */
async function main(args: string[]): Promise<number> {
  let command: ServeCommand;
  try {
    command = parseServeArgs(args);
  } catch (e) {
    if (e instanceof ServeArgsError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (command.kind === "help") {
    console.log(SERVE_HELP.trimEnd());
    return 0;
  }
  let server;
  try {
    server = await startTestServer(command.options);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  console.log(`QFIELDCLOUD_URL=${server.url}`);
  for (const u of command.options.users ?? []) console.log(`user ${u.username}`);
  for (const o of command.options.organizations ?? []) {
    console.log(`organization ${o.name} (owner ${o.owner})`);
  }
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const onSignal = () => resolve();
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  await stopped;
  for (const s of signals) Deno.removeSignalListener(s, onSignal);
  await server.close();
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
