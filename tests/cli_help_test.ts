/**
 * `--help` of the root and of every command, checked against golden files in
 * tests/golden/help/. Regenerate them after a deliberate change with:
 *
 *     UPDATE_GOLDEN=1 deno test -A tests/cli_help_test.ts
 */

import { expect } from "expect";
import { CliContext } from "../src/cli/context.ts";
import { denoIo } from "../src/cli/io.ts";
import { createProgram } from "../src/cli/program.ts";
import { runCli } from "./cli_harness.ts";

const GOLDEN_DIR = new URL("./golden/help/", import.meta.url);
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

function commandNames(): string[] {
  const program = createProgram(new CliContext(denoIo()));
  return program.commands.map((command) => command.name()).filter((name) => name !== "help");
}

async function checkGolden(name: string, actual: string): Promise<void> {
  const file = new URL(`${name}.txt`, GOLDEN_DIR);
  if (UPDATE) {
    await Deno.mkdir(GOLDEN_DIR, { recursive: true });
    await Deno.writeTextFile(file, actual);
    return;
  }
  let expected: string;
  try {
    expected = await Deno.readTextFile(file);
  } catch {
    throw new Error(
      `Missing golden file tests/golden/help/${name}.txt: run UPDATE_GOLDEN=1 deno test -A tests/cli_help_test.ts`,
    );
  }
  expect(actual).toBe(expected);
}

Deno.test("help output matches the golden files", async (t) => {
  await t.step("root --help", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    await checkGolden("qfieldcloud-cli", run.stdout);
  });

  for (const name of commandNames()) {
    await t.step(`${name} --help`, async () => {
      const run = await runCli([name, "--help"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: qfieldcloud-cli ${name}`);
      await checkGolden(name, run.stdout);
    });
  }

  await t.step("help COMMAND prints the same as COMMAND --help", async () => {
    const viaHelp = await runCli(["help", "upload-files"]);
    const viaFlag = await runCli(["upload-files", "--help"]);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
  });

  await t.step("there is no golden file for a command that no longer exists", async () => {
    if (UPDATE) return;
    const expected = new Set(["qfieldcloud-cli", ...commandNames()].map((n) => `${n}.txt`));
    for await (const entry of Deno.readDir(GOLDEN_DIR)) {
      expect(expected.has(entry.name) ? entry.name : `stale: ${entry.name}`).toBe(entry.name);
    }
  });
});

Deno.test("every command of the official Python CLI exists with its options", async (t) => {
  // Commands and options of qfieldcloud-sdk-python's cli.py that scripts may use.
  const official: Record<string, string[]> = {
    "login": [],
    "logout": [],
    "status": [],
    "list-projects": ["-l", "--limit", "-o", "--offset", "--include-public", "--no-public"],
    "get-project": [],
    "create-project": ["--owner", "--description", "--is-public", "--is-private", "--project-type"],
    "patch-project": ["--name", "--description", "--owner", "--is-public", "--is-no-public"],
    "delete-project": [],
    "upload-project-thumbnail": [],
    "get-project-seed": [],
    "list-files": [],
    "upload-files": [
      "--filter",
      "--throw-on-error",
      "--no-throw-on-error",
      "--force",
      "--no-force",
    ],
    "download-files": [
      "--filter",
      "--throw-on-error",
      "--no-throw-on-error",
      "--force-download",
      "--no-force-download",
    ],
    "delete-files": ["--throw-on-error", "--no-throw-on-error"],
    "delete-file": ["--version-id"],
    "list-jobs": ["--type", "-l", "--limit", "-o", "--offset"],
    "job-trigger": ["--force", "--no-force"],
    "job-status": [],
    "delta-push": [],
    "package-latest": [],
    "package-download": [
      "--filter",
      "--throw-on-error",
      "--no-throw-on-error",
      "--force-download",
      "--no-force-download",
    ],
    "collaborators-get": [],
    "collaborators-add": [],
    "collaborators-remove": [],
    "collaborators-patch": [],
    "members-get": [],
    "members-add": ["--public", "--no-public"],
    "members-remove": [],
    "members-patch": [],
    "teams-list": [],
    "teams-create": [],
    "teams-get": [],
    "teams-patch": ["--name"],
    "teams-delete": [],
    "team-members-list": [],
    "team-members-add": [],
    "team-members-remove": [],
  };
  const program = createProgram(new CliContext(denoIo()));
  for (const [name, flags] of Object.entries(official)) {
    await t.step(name, () => {
      const command = program.commands.find((c) => c.name() === name);
      expect(command?.name()).toBe(name);
      const known = command!.options.flatMap((o) => [o.short, o.long]);
      for (const flag of flags) expect(known).toContain(flag);
    });
  }
  await t.step("global options", () => {
    const known = program.options.flatMap((o) => [o.short, o.long]);
    for (
      const flag of [
        "-U",
        "--url",
        "-u",
        "--username",
        "-p",
        "--password",
        "-t",
        "--token",
        "--json",
        "--human",
        "--verify-ssl",
        "--no-verify-ssl",
        "--version",
        "--connect-timeout",
        "--read-timeout",
      ]
    ) {
      expect(known).toContain(flag);
    }
  });
});
