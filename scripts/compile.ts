/**
 * `deno task compile`: builds standalone `qfieldcloud-cli` binaries with
 * `deno compile` for every supported platform into `dist/`.
 *
 * `deno compile` downloads the `denort` runtime of each target from the Deno
 * release server, so run this where that server is reachable (the release
 * workflow does). Pass target triples to build only those:
 *
 *     deno task compile x86_64-unknown-linux-gnu
 *
 * @module
 */

import { VERSION } from "../mod.ts";

/** The targets of a release, with the file name of each binary. */
export const TARGETS: Readonly<Record<string, string>> = {
  "x86_64-unknown-linux-gnu": "qfieldcloud-cli-x86_64-linux",
  "aarch64-unknown-linux-gnu": "qfieldcloud-cli-aarch64-linux",
  "x86_64-apple-darwin": "qfieldcloud-cli-x86_64-macos",
  "aarch64-apple-darwin": "qfieldcloud-cli-aarch64-macos",
  "x86_64-pc-windows-msvc": "qfieldcloud-cli-x86_64-windows.exe",
};

/**
 * The V8 flag the CLI runs with, in the binaries and in the README's install line: V8's young
 * generation stops at 4 MiB per semi-space instead of growing to 16. A first sync of 20,000
 * files then peaked at 119 to 143 MiB instead of 179 to 227 MiB, in the same time; nothing
 * measured got slower.
 */
export const CLI_V8_FLAGS = "--v8-flags=--max-semi-space-size=4";

/**
 * The `deno compile` arguments for one target. The binary gets the
 * permissions the CLI needs (network, files, environment), its V8 flag, and
 * nothing is prompted at run time.
 */
export function compileArgs(target: string, output: string, entry: string): string[] {
  return [
    "compile",
    CLI_V8_FLAGS,
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    "--no-prompt",
    "--target",
    target,
    "--output",
    output,
    entry,
  ];
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url);
  const entry = new URL("cli.ts", root).pathname;
  const dist = new URL("dist/", root).pathname;
  const wanted = Deno.args.length > 0 ? Deno.args : Object.keys(TARGETS);
  for (const target of wanted) {
    if (!(target in TARGETS)) {
      console.error(
        `error: Unknown target "${target}": use one of ${Object.keys(TARGETS).join(", ")}`,
      );
      Deno.exit(2);
    }
  }
  await Deno.mkdir(dist, { recursive: true });
  let failed = 0;
  for (const target of wanted) {
    const output = `${dist}${TARGETS[target]}`;
    console.error(`Compiling qfieldcloud-cli ${VERSION} for ${target} → dist/${TARGETS[target]}`);
    const status = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(target, output, entry),
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (!status.success) {
      console.error(`error: deno compile failed for ${target} (exit ${status.code})`);
      failed++;
    }
  }
  Deno.exit(failed === 0 ? 0 : 1);
}
