/**
 * `create-user`, `current-subscription`, `get-project-seed-xlsform` and
 * `patch-project --project-type` of qfieldcloud-cli against the in-memory
 * test server, run in-process: arguments, --json documents, exit codes and
 * that no password or token shows up in the output.
 */

import { expect } from "expect";
import { join } from "node:path";
import { CliContext } from "../src/cli/context.ts";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { denoIo } from "../src/cli/io.ts";
import { createProgram } from "../src/cli/program.ts";
import { startTestServer, type TestServer } from "../testing/mod.ts";
import { type CliRun, runCli, type RunOptions, USERS } from "./cli_harness.ts";

const [ALICE, BOB] = USERS;
const STAFF = { username: "root", password: "root-secret-pw", isStaff: true };
const NEW_PASSWORD = "new-user-secret-pw";

interface Fixture extends AsyncDisposable {
  server: TestServer;
  dir: string;
  /** Runs the CLI with a token of `as` (default alice) and checks that no secret leaks. */
  run(args: string[], options?: RunOptions & { as?: string }): Promise<CliRun>;
  /** Runs with --json and parses stdout. */
  json<T = Record<string, unknown>>(
    args: string[],
    options?: RunOptions & { as?: string },
  ): Promise<{ run: CliRun; data: T }>;
}

async function fixture(): Promise<Fixture> {
  const server = await startTestServer({
    users: [...USERS, STAFF],
    organizations: [{ name: "org1", owner: ALICE.username }],
    storageQuotaBytes: 2048,
    quiet: true,
  });
  const dir = await Deno.makeTempDir({ prefix: "qfc_cli_users_" });
  const tokens = new Map<string, string>();
  const tokenOf = (username: string) => {
    if (!tokens.has(username)) tokens.set(username, server.createToken(username, "cli|test"));
    return tokens.get(username)!;
  };
  const f: Fixture = {
    server,
    dir,
    async run(args, options = {}) {
      const token = tokenOf(options.as ?? ALICE.username);
      const run = await runCli(args, {
        ...options,
        env: {
          QFIELDCLOUD_URL: server.url,
          QFIELDCLOUD_TOKEN: token,
          QFIELDCLOUD_CONFIG_DIR: `${dir}/config`,
          ...options.env,
        },
      });
      const secrets = [
        ...tokens.values(),
        NEW_PASSWORD,
        STAFF.password,
        ...USERS.map((u) => u.password),
      ];
      for (const secret of secrets) {
        expect(run.stdout.includes(secret) ? `secret in stdout: ${run.stdout}` : "").toBe("");
        expect(run.stderr.includes(secret) ? `secret in stderr: ${run.stderr}` : "").toBe("");
      }
      return run;
    },
    async json(args, options) {
      const run = await f.run(["--json", ...args], options);
      return { run, data: run.stdout ? JSON.parse(run.stdout) : undefined };
    },
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return f;
}

Deno.test("the new commands have the official Python CLI's arguments and options", () => {
  const program = createProgram(new CliContext(denoIo()));
  const find = (name: string) => program.commands.find((c) => c.name() === name);
  const createUser = find("create-user");
  expect(createUser?.registeredArguments.map((a) => a.name())).toEqual([
    "username",
    "password",
    "email",
  ]);
  expect(createUser?.options.map((o) => o.long)).toContain("--exist-ok");
  expect(find("patch-project")?.options.map((o) => o.long)).toContain("--project-type");
  expect(find("get-project-seed-xlsform")?.registeredArguments.map((a) => a.name())).toEqual([
    "project_id",
    "local_dir",
  ]);
  expect(find("current-subscription")?.name()).toBe("current-subscription");
});

Deno.test("create-user", async (t) => {
  await using f = await fixture();

  await t.step("as in the Python CLI: username, password and email as arguments", async () => {
    const { run, data } = await f.json(
      ["create-user", "field_mapper_42", NEW_PASSWORD, "field_mapper_42@example.com"],
      { as: STAFF.username },
    );
    expect(run.code).toBe(ExitCode.OK);
    expect(data).toMatchObject({
      username: "field_mapper_42",
      email: "field_mapper_42@example.com",
      created: true,
    });
    expect(f.server.state.findUser("field_mapper_42")?.password).toBe(NEW_PASSWORD);
  });

  await t.step("--password-stdin and --email keep the password out of argv", async () => {
    const run = await f.run(
      ["create-user", "mapper_stdin", "--email", "stdin@example.com", "--password-stdin"],
      { as: STAFF.username, stdin: `${NEW_PASSWORD}\n` },
    );
    expect(run.code).toBe(ExitCode.OK);
    expect(run.stdout).toContain('Created user "mapper_stdin".');
    const user = f.server.state.findUser("mapper_stdin");
    expect([user?.password, user?.email]).toEqual([NEW_PASSWORD, "stdin@example.com"]);
  });

  await t.step("prompts for the password on a terminal", async () => {
    const run = await f.run(["create-user", "mapper_prompt"], {
      as: STAFF.username,
      stdinIsTerminal: true,
      secret: NEW_PASSWORD,
    });
    expect(run.code).toBe(ExitCode.OK);
    expect(run.stderr).toContain('Password for "mapper_prompt"');
    expect(f.server.state.findUser("mapper_prompt")?.password).toBe(NEW_PASSWORD);
  });

  await t.step("without a password and no terminal it is a usage error", async () => {
    const run = await f.run(["create-user", "mapper_nopw"], { as: STAFF.username });
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain("--password-stdin");
    expect(f.server.state.findUser("mapper_nopw")).toBeUndefined();
  });

  await t.step("two different e-mail addresses are a usage error", async () => {
    const run = await f.run(
      ["create-user", "mapper_two", NEW_PASSWORD, "a@example.com", "--email", "b@example.com"],
      { as: STAFF.username },
    );
    expect(run.code).toBe(ExitCode.USAGE);
  });

  await t.step("an existing user fails with exit 6, or succeeds with --exist-ok", async () => {
    const fail = await f.run(["create-user", "bob", NEW_PASSWORD], { as: STAFF.username });
    expect(fail.code).toBe(ExitCode.REJECTED);
    expect(fail.stderr).toContain("409");
    const { run, data } = await f.json(["create-user", "bob", NEW_PASSWORD, "--exist-ok"], {
      as: STAFF.username,
    });
    expect(run.code).toBe(ExitCode.OK);
    expect(data).toEqual({ username: "bob", email: null, created: false });
    const human = await f.run(["create-user", "bob", NEW_PASSWORD, "--exist-ok"], {
      as: STAFF.username,
    });
    expect(human.stdout).toContain('User "bob" already exists.');
    expect(f.server.state.findUser("bob")?.password).toBe(BOB.password);
  });

  await t.step("a non-staff user gets exit 4", async () => {
    const run = await f.run(["create-user", "mapper_denied", NEW_PASSWORD]);
    expect(run.code).toBe(ExitCode.PERMISSION);
    expect(f.server.state.findUser("mapper_denied")).toBeUndefined();
  });
});

Deno.test("current-subscription", async (t) => {
  await using f = await fixture();

  await t.step("--json prints the server's document", async () => {
    const { run, data } = await f.json(["current-subscription", "alice"]);
    expect(run.code).toBe(ExitCode.OK);
    expect(data).toMatchObject({
      plan_code: "default_user",
      status: "active_paid",
      storage_used_bytes: 0,
      active_storage_total_bytes: 2048,
    });
  });

  await t.step("human output shows plan and storage", async () => {
    const { id } = f.server.addProject({ name: "p", owner: "org1" });
    await f.server.putFile(id, "a.txt", "x".repeat(1024));
    const run = await f.run(["current-subscription", "org1"]);
    expect(run.code).toBe(ExitCode.OK);
    expect(run.stdout).toMatch(/plan\s+Default organization plan \(default_org\)/);
    expect(run.stdout).toMatch(/storage_used\s+1\.0 KiB/);
    expect(run.stdout).toMatch(/storage_free\s+1\.0 KiB/);
  });

  await t.step("defaults to the user of -u/--username", async () => {
    const { run, data } = await f.json(["-u", "bob", "-p", BOB.password, "current-subscription"], {
      env: { QFIELDCLOUD_TOKEN: undefined },
    });
    expect(run.code).toBe(ExitCode.OK);
    expect(data.plan_code).toBe("default_user");
    expect(f.server.requests.at(-1)?.path).toBe("/api/v1/subscriptions/bob/current/");
  });

  await t.step("defaults to the user of the saved login", async () => {
    const env = { QFIELDCLOUD_TOKEN: undefined };
    const login = await f.run(["login", "carol", "--password-stdin"], {
      env,
      stdin: `${USERS[2].password}\n`,
    });
    expect(login.code).toBe(ExitCode.OK);
    const { run } = await f.json(["current-subscription"], { env });
    expect(run.code).toBe(ExitCode.OK);
    expect(f.server.requests.at(-1)?.path).toBe("/api/v1/subscriptions/carol/current/");
  });

  await t.step("with only a token it is a usage error", async () => {
    const run = await f.run(["current-subscription"]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain("Missing account");
  });

  await t.step("someone else's subscription exits 4", async () => {
    const run = await f.run(["current-subscription", "org1"], { as: BOB.username });
    expect(run.code).toBe(ExitCode.PERMISSION);
  });
});

Deno.test("get-project-seed-xlsform and patch-project --project-type", async (t) => {
  await using f = await fixture();
  const body = new FormData();
  body.append("name", "seeded");
  body.append("xlsform_file", new Blob(["xlsx-bytes"]), "form.xlsx");
  const response = await fetch(`${f.server.url}projects/`, {
    method: "POST",
    headers: { authorization: `Token ${f.server.createToken(ALICE.username)}` },
    body,
  });
  const { id } = await response.json();

  await t.step("writes the XLSForm into the directory", async () => {
    const out = join(f.dir, "forms");
    const { run, data } = await f.json(["get-project-seed-xlsform", id, out]);
    expect(run.code).toBe(ExitCode.OK);
    expect(data).toEqual({ project_id: id, path: join(out, "xlsform.xlsx") });
    expect(await Deno.readTextFile(join(out, "xlsform.xlsx"))).toBe("xlsx-bytes");
    const human = await f.run(["get-project-seed-xlsform", id, out]);
    expect(human.stdout).toContain(`to ${join(out, "xlsform.xlsx")}.`);
  });

  await t.step("a project without a seed exits 5", async () => {
    const plain = f.server.addProject({ name: "plain", owner: "alice" });
    const run = await f.run(["get-project-seed-xlsform", plain.id, join(f.dir, "none")]);
    expect(run.code).toBe(ExitCode.NOT_FOUND);
  });

  await t.step("patch-project --project-type changes the type", async () => {
    f.server.clearRequests();
    const { run, data } = await f.json(["patch-project", id, "--project-type", "template"]);
    expect(run.code).toBe(ExitCode.OK);
    expect(data.project_type).toBe("template");
    expect(f.server.state.findProject(id)?.projectType).toBe("template");
  });

  await t.step("patch-project --project-type rejects unknown types", async () => {
    const run = await f.run(["patch-project", id, "--project-type", "fancy"]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(f.server.state.findProject(id)?.projectType).toBe("template");
  });
});
