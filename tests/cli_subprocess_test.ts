/**
 * qfieldcloud-cli as a real process (`deno run -A cli.ts ...`), and as the
 * single-file bundle: environment variables, stdin, exit codes, JSON output.
 */

import { expect } from "expect";
import { VERSION } from "../mod.ts";
import { startTestServer } from "../testing/mod.ts";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { runCli, runCliProcess, USERS } from "./cli_harness.ts";

Deno.test("qfieldcloud-cli as a subprocess", async (t) => {
  await using server = await startTestServer({ users: USERS, quiet: true });
  const dir = await Deno.makeTempDir({ prefix: "qfc_cli_proc_" });
  const base = { QFIELDCLOUD_URL: server.url, QFIELDCLOUD_CONFIG_DIR: `${dir}/config` };
  try {
    await t.step("--version prints the version", async () => {
      const run = await runCliProcess(["--version"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${VERSION}\n`);
    });

    await t.step("an unknown option exits 2 with one error line", async () => {
      const run = await runCliProcess(["list-projects", "--bogus"], { env: base });
      expect(run.code).toBe(ExitCode.USAGE);
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe("error: unknown option '--bogus'\n");
    });

    await t.step("login reads the password from stdin and saves the token", async () => {
      const run = await runCliProcess(["login", "alice", "--password-stdin"], {
        env: base,
        stdin: `${USERS[0].password}\n`,
      });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^export QFIELDCLOUD_TOKEN="[A-Za-z0-9]+"\n$/);
      expect(run.stderr).not.toContain(USERS[0].password);
    });

    await t.step(
      "the saved token serves the next process; QFIELDCLOUD_API names the URL",
      async () => {
        const run = await runCliProcess(["--json", "create-project", "proc"], {
          env: { QFIELDCLOUD_API: server.url, QFIELDCLOUD_CONFIG_DIR: `${dir}/config` },
        });
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({ name: "proc", owner: "alice" });
      },
    );

    await t.step("QFIELDCLOUD_TOKEN and -U are honored", async () => {
      const token = server.createToken("bob", "sdk|ts|test");
      const run = await runCliProcess(["-U", server.url, "--json", "list-projects"], {
        env: { QFIELDCLOUD_TOKEN: token, QFIELDCLOUD_CONFIG_DIR: `${dir}/config` },
      });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([]);
      expect(run.stdout + run.stderr).not.toContain(token);
    });

    await t.step("a rejected token exits 3", async () => {
      const run = await runCliProcess(["list-projects"], {
        env: { ...base, QFIELDCLOUD_TOKEN: "nonsense-token" },
      });
      expect(run.code).toBe(ExitCode.AUTH);
      expect(run.stderr).toMatch(/^error: Token authentication failed .*\n$/);
      expect(run.stderr).not.toContain("nonsense-token");
    });

    await t.step("a missing project exits 5", async () => {
      const run = await runCliProcess(
        ["--json", "get-project", "00000000-0000-0000-0000-000000000000"],
        { env: base },
      );
      expect(run.code).toBe(ExitCode.NOT_FOUND);
      expect(JSON.parse(run.stdout).error.code).toBe("object_not_found");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the deno bundle of cli.ts runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qfc_cli_bundle_" });
  try {
    const bundle = `${dir}/qfieldcloud-cli.js`;
    const root = new URL("..", import.meta.url).pathname;
    const built = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--output", bundle, "cli.ts"],
      cwd: root,
      stdout: "null",
      stderr: "piped",
    }).output();
    expect(built.success ? "" : new TextDecoder().decode(built.stderr)).toBe("");
    const ran = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", bundle, "--help"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    expect(ran.code).toBe(0);
    const inProcess = await runCli(["--help"]);
    expect(new TextDecoder().decode(ran.stdout)).toBe(inProcess.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task demo runs a whole session", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "examples/demo.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  expect(output.code === 0 ? "" : new TextDecoder().decode(output.stderr)).toBe("");
  for (
    const step of [
      "$ printf '%s\\n' field-work-2026 | deno run -A cli.ts login surveyor --password-stdin",
      "$ deno run -A cli.ts upload-files",
      "(package) finished.",
      "Downloaded 2 file(s), 0 skipped, 0 failed.",
      '"name": "DCIM/tree-0001.jpg"',
      "survey_qfield.qgs",
    ]
  ) {
    expect(text).toContain(step);
  }
  expect(text).toContain('export QFIELDCLOUD_TOKEN="…"');
});
