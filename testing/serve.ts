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
import { parseArgs } from "node:util";
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
  --sso-user NAME       single sign-on mode: a fake OpenID Connect provider at /oidc/
                        that signs NAME in (created without a password if missing)
  --sso-port N          loopback port of the provider's redirect (default 7070)
  --latency-ms MS       delay added before answering each request (default 0)
  -h, --help            show this help
`;

/** A command-line error: printed as one `error: ...` line, exit code 2. */
export class ServeArgsError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
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

/** The flags that take a number. */
const NUMBER_FLAGS = new Set([
  "--port",
  "--job-seconds",
  "--keep-versions",
  "--quota",
  "--latency-ms",
  "--sso-port",
]);

/**
 * `parseArgs` takes the `-5` of `--latency-ms -5` for an option; joined as `--latency-ms=-5` it
 * is the flag's value, refused with the flag's own message.
 */
function withNegativeNumbers(args: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (NUMBER_FLAGS.has(args[i]) && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${args[i]}=${next}`);
      i++;
    } else {
      joined.push(args[i]);
    }
  }
  return joined;
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
  const rest = withNegativeNumbers(args[0] === "--" ? args.slice(1) : [...args]);
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        "help": { type: "boolean", short: "h" },
        "port": { type: "string" },
        "user": { type: "string", multiple: true },
        "org": { type: "string", multiple: true },
        "job-seconds": { type: "string" },
        "storage": { type: "string" },
        "keep-versions": { type: "string" },
        "quota": { type: "string" },
        "latency-ms": { type: "string" },
        "sso-user": { type: "string" },
        "sso-port": { type: "string" },
      },
    }).values;
  } catch (error) {
    throw new ServeArgsError(describeParseError(error as Error & { code?: string }));
  }
  if (values.help) return { kind: "help" };
  const options: TestServerOptions = {
    port: 0,
    users: [],
    organizations: [],
    logRequests: false,
  };
  const text = (name: string) => values[name] as string | undefined;
  if (text("port") !== undefined) options.port = portValue("--port", text("port")!);
  for (const value of (values.user as string[] | undefined) ?? []) {
    const [username, password] = pairValue("--user", value, "NAME:PASSWORD");
    options.users!.push({ username, password });
  }
  for (const value of (values.org as string[] | undefined) ?? []) {
    const [name, owner] = pairValue("--org", value, "NAME:OWNER");
    options.organizations!.push({ name, owner });
  }
  if (text("job-seconds") !== undefined) {
    options.jobSeconds = nonNegativeNumber("--job-seconds", text("job-seconds")!, false);
  }
  if (text("storage") !== undefined) {
    if (text("storage") === "") throw new ServeArgsError("Option --storage needs a directory");
    options.storageDir = text("storage");
  }
  if (text("keep-versions") !== undefined) {
    const n = nonNegativeNumber("--keep-versions", text("keep-versions")!, true);
    if (n < 1) throw new ServeArgsError(`Invalid value "${n}" for --keep-versions`);
    options.keepVersions = n;
  }
  if (text("quota") !== undefined) {
    options.storageQuotaBytes = nonNegativeNumber("--quota", text("quota")!, true);
  }
  if (text("latency-ms") !== undefined) {
    options.latencyMs = nonNegativeNumber("--latency-ms", text("latency-ms")!, false);
  }
  if (text("sso-port") !== undefined && text("sso-user") === undefined) {
    throw new ServeArgsError("Option --sso-port goes with --sso-user");
  }
  if (text("sso-user") !== undefined) {
    if (text("sso-user") === "") throw new ServeArgsError("Option --sso-user needs a name");
    options.sso = { username: text("sso-user")! };
    if (text("sso-port") !== undefined) {
      options.sso.redirectPort = portValue("--sso-port", text("sso-port")!);
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

function portValue(flag: string, value: string): number {
  const port = nonNegativeNumber(flag, value, true);
  if (port > 65535) throw new ServeArgsError(`Invalid value "${port}" for ${flag}`);
  return port;
}

/** One line for an error of `parseArgs`, without any value (a value may hold a password). */
function describeParseError(error: Error & { code?: string }): string {
  const name = /'(-[^' ]+)/.exec(error.message)?.[1];
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown option "${name}"`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `Unexpected argument "${/'([^']*)'/.exec(error.message)?.[1] ?? ""}"`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return `Option ${name} needs a value`;
    default:
      return error.message;
  }
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
  if (server.sso) {
    console.log(
      `single sign-on: provider "${server.sso.provider.id}" signs in ${server.sso.provider.username}` +
        ` (qfieldcloud-cli login --sso)`,
    );
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
