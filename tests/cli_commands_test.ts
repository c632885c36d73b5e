/**
 * Every command of qfieldcloud-cli against the in-memory test server, run
 * in-process through main(): arguments, environment, --json documents, exit
 * codes, and that no token or password ever shows up in the output.
 */

import { expect } from "expect";
import { startTestServer, type TestServer } from "../testing/mod.ts";
import { failNextJob } from "../testing/jobs.ts";
import { makeQgs } from "./fixtures/qgis_project.ts";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { downloadOptions } from "../src/cli/commands/transfer_report.ts";
import { type CliRun, runCli, type RunOptions, USERS } from "./cli_harness.ts";

const [ALICE, BOB] = USERS;

/** A tiny valid PNG (1×1). */
const PNG = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

interface Fixture extends AsyncDisposable {
  server: TestServer;
  dir: string;
  token: string;
  env: Record<string, string>;
  secrets: string[];
  /** Runs the CLI as alice (token in the environment) and checks no secret leaks. */
  run(args: string[], options?: RunOptions & { allowSecrets?: boolean }): Promise<CliRun>;
  /** Runs with --json and parses stdout. */
  json<T = unknown>(
    args: string[],
    options?: RunOptions & { allowSecrets?: boolean },
  ): Promise<{ run: CliRun; data: T }>;
}

async function fixture(): Promise<Fixture> {
  const server = await startTestServer({
    users: USERS,
    organizations: [{ name: "org1", owner: ALICE.username }],
    jobSeconds: 0.05,
    quiet: true,
  });
  const dir = await Deno.makeTempDir({ prefix: "qfc_cli_" });
  const token = server.createToken(ALICE.username, "sdk|ts|test");
  const env = {
    QFIELDCLOUD_URL: server.url,
    QFIELDCLOUD_TOKEN: token,
    QFIELDCLOUD_CONFIG_DIR: `${dir}/config`,
  };
  const secrets = [token, ...USERS.map((u) => u.password)];
  const f: Fixture = {
    server,
    dir,
    token,
    env,
    secrets,
    async run(args, options = {}) {
      const run = await runCli(args, { ...options, env: { ...env, ...options.env } });
      if (!options.allowSecrets) {
        for (const secret of f.secrets) {
          expect(run.stdout.includes(secret) ? `secret in stdout: ${run.stdout}` : "").toBe("");
          expect(run.stderr.includes(secret) ? `secret in stderr: ${run.stderr}` : "").toBe("");
        }
      }
      return run;
    },
    async json(args, options) {
      const run = await f.run(["--json", ...args], options);
      return { run, data: JSON.parse(run.stdout) };
    },
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return f;
}

async function writeProject(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/DCIM`, { recursive: true });
  await Deno.writeTextFile(`${dir}/project.qgs`, makeQgs({ layers: [] }));
  await Deno.writeTextFile(`${dir}/notes.txt`, "Hello!");
  await Deno.writeFile(`${dir}/DCIM/photo 1.jpg`, new Uint8Array(3000).fill(7));
}

Deno.test("login, saved token and logout", async (t) => {
  await using f = await fixture();
  const noToken = { QFIELDCLOUD_TOKEN: undefined };

  await t.step("login --password-stdin prints the export line and saves the token", async () => {
    const run = await f.run(["login", ALICE.username, "--password-stdin"], {
      env: noToken,
      stdin: `${ALICE.password}\n`,
      allowSecrets: true,
    });
    expect(run.code).toBe(0);
    const match = run.stdout.match(/^export QFIELDCLOUD_TOKEN="([A-Za-z0-9]+)"\n$/);
    expect(match).not.toBe(null);
    expect(run.stderr).toContain("Welcome to QFieldCloud, alice.");
    expect(run.stderr).not.toContain(ALICE.password);
    const saved = JSON.parse(await Deno.readTextFile(`${f.dir}/config/credentials.json`));
    expect(saved.servers[f.server.url].token).toBe(match![1]);
    expect(saved.servers[f.server.url].username).toBe("alice");
    if (Deno.build.os !== "windows") {
      expect((await Deno.stat(`${f.dir}/config/credentials.json`)).mode! & 0o777).toBe(0o600);
    }
    f.secrets.push(match![1]);
  });

  await t.step("later commands use the saved token when none is given", async () => {
    const run = await f.run(["list-projects"], { env: noToken });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("No projects.\n");
  });

  await t.step(
    "login prompts without echo on a terminal; --json prints the login answer",
    async () => {
      const { run, data } = await f.json(["login", "bob"], {
        env: noToken,
        stdinIsTerminal: true,
        secret: BOB.password,
        allowSecrets: true,
      });
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('Password for "bob": ');
      const answer = data as { username: string; token: string; expires_at: string };
      expect(answer.username).toBe("bob");
      expect(answer.token.length).toBeGreaterThan(20);
      expect(run.stdout).not.toContain(BOB.password);
      f.secrets.push(answer.token);
    },
  );

  await t.step("login takes the password as an argument, as the Python CLI does", async () => {
    const run = await f.run(["login", ALICE.username, ALICE.password, "--no-save"], {
      env: noToken,
      allowSecrets: true,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain(ALICE.password);
    expect(run.stderr).not.toContain(ALICE.password);
    f.secrets.push(run.stdout.match(/"(.+)"/)![1]);
  });

  await t.step("login on Windows prints a set line", async () => {
    const run = await f.run(["login", "-u", ALICE.username], {
      env: { ...noToken, QFIELDCLOUD_PASSWORD: ALICE.password },
      os: "windows",
      allowSecrets: true,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^set QFIELDCLOUD_TOKEN=[A-Za-z0-9]+\n$/);
    f.secrets.push(run.stdout.trim().split("=")[1]);
  });

  await t.step(
    "a wrong password exits 3 with the server's code and no password shown",
    async () => {
      const run = await f.run(["login", ALICE.username, "--password-stdin"], {
        env: noToken,
        stdin: "not-the-password-123\n",
      });
      expect(run.code).toBe(ExitCode.AUTH);
      expect(run.stderr).toContain("(authentication_failed, HTTP 401)");
      expect(run.stderr).toMatch(/^error: .*\n$/);
      expect(run.stderr).not.toContain("not-the-password-123");
      expect(run.stdout).toBe("");
    },
  );

  await t.step("login without any password and no terminal is a usage error", async () => {
    const run = await f.run(["login", ALICE.username], { env: noToken });
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain("--password-stdin");
  });

  await t.step("-u/-p log in before another command, as the Python CLI does", async () => {
    f.server.clearRequests();
    const run = await f.run(
      ["-u", BOB.username, "-p", BOB.password, "--json", "list-projects"],
      { env: noToken },
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([]);
    expect(f.server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /api/v1/auth/login/",
      "GET /api/v1/projects/",
    ]);
  });

  await t.step("QFIELDCLOUD_USERNAME and QFIELDCLOUD_PASSWORD log in too", async () => {
    f.server.clearRequests();
    const run = await f.run(["list-projects"], {
      env: { ...noToken, QFIELDCLOUD_USERNAME: "bob", QFIELDCLOUD_PASSWORD: BOB.password },
    });
    expect(run.code).toBe(0);
    expect(f.server.requests[0].path).toBe("/api/v1/auth/login/");
  });

  await t.step("logout warns, expires the tokens and removes the saved one", async () => {
    const { run, data } = await f.json(["logout"], { env: noToken });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('warning: Logging out expires every token of "alice"');
    expect(data).toEqual({ detail: "Successfully logged out.", credentials_removed: true });
    const saved = JSON.parse(await Deno.readTextFile(`${f.dir}/config/credentials.json`));
    expect(saved.servers).toEqual({});
    const after = await f.run(["list-projects"], { env: noToken });
    expect(after.code).toBe(ExitCode.AUTH);
    expect(after.stderr).toContain("not_authenticated");
    const old = await f.run(["list-projects"]); // the fixture token of alice is expired too
    expect(old.code).toBe(ExitCode.AUTH);
    expect(old.stderr).toContain("token_authentication_failed");
  });

  await t.step("status needs no login", async () => {
    const { run, data } = await f.json(["status"], { env: noToken });
    expect(run.code).toBe(0);
    expect(data).toMatchObject({ database: "ok", storage: "ok" });
    const human = await f.run(["status"], { env: noToken });
    expect(human.stdout).toMatch(/^CHECK +STATUS\ndatabase +ok\nstorage +ok\n/);
  });
});

Deno.test("-u and -p log in even when QFIELDCLOUD_TOKEN is set, as the Python CLI does", async () => {
  await using f = await fixture();
  // The environment holds alice's token; the command line names bob.
  const { data } = await f.json(["-u", "bob", "-p", "bob-secret-pw", "create-project", "bobs"]);
  expect((data as { owner: string }).owner).toBe("bob");
  const { data: plain } = await f.json(["create-project", "alices"]);
  expect((plain as { owner: string }).owner).toBe(ALICE.username);
});

Deno.test("project commands", async (t) => {
  await using f = await fixture();
  let id = "";

  await t.step("create-project prints the new project", async () => {
    const run = await f.run(["create-project", "survey", "--description", "Trees"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Created project "alice\/survey" with id [0-9a-f-]{36}\.\n$/);
    id = run.stdout.match(/id ([0-9a-f-]{36})/)![1];
  });

  await t.step("create-project --json with owner, type and visibility", async () => {
    const { run, data } = await f.json([
      "create-project",
      "public-one",
      "--owner",
      "org1",
      "--is-private",
      "--is-public",
      "--project-type",
      "template",
    ]);
    expect(run.code).toBe(0);
    expect(data).toMatchObject({ name: "public-one", owner: "org1", is_public: true });
    expect((data as { project_type: string }).project_type).toBe("template");
  });

  await t.step("a duplicate name exits 6 with the server's code", async () => {
    const run = await f.run(["create-project", "survey"]);
    expect(run.code).toBe(ExitCode.REJECTED);
    expect(run.stderr).toContain("project_already_exists");
  });

  await t.step("list-projects as a table, as JSON, and one page", async () => {
    const run = await f.run(["list-projects"]);
    expect(run.stdout).toMatch(/^ID +OWNER +NAME +PUBLIC +STATUS +ROLE\n/);
    expect(run.stdout).toContain(`${id}  alice  survey`);
    const { data } = await f.json(["list-projects"]);
    expect((data as { name: string }[]).map((p) => p.name).sort()).toEqual([
      "public-one",
      "survey",
    ]);
    f.server.clearRequests();
    const page = await f.json(["list-projects", "-l", "1", "-o", "1"]);
    expect((page.data as unknown[]).length).toBe(1);
    expect(f.server.requests[0].query).toContain("limit=1");
    expect(f.server.requests[0].query).toContain("offset=1");
  });

  await t.step("--include-public/--no-public: the last one wins", async () => {
    f.server.addProject({ name: "bobs-public", owner: "bob", isPublic: true });
    const without = await f.json(["list-projects", "--include-public", "--no-public"]);
    expect(JSON.stringify(without.data)).not.toContain("bobs-public");
    const withPublic = await f.json(["list-projects", "--no-public", "--include-public"]);
    expect(JSON.stringify(withPublic.data)).toContain("bobs-public");
  });

  await t.step("get-project shows the fields; an unknown id exits 5", async () => {
    const run = await f.run(["get-project", id]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^FIELD +VALUE\\nid +${id}\\nname +survey\\n`));
    const missing = await f.run(["get-project", "00000000-0000-0000-0000-000000000000"]);
    expect(missing.code).toBe(ExitCode.NOT_FOUND);
    expect(missing.stderr).toContain("(object_not_found, HTTP 404)");
  });

  await t.step("patch-project sends only what is given, false included", async () => {
    f.server.clearRequests();
    const { data } = await f.json([
      "patch-project",
      id,
      "--is-public",
      "--is-no-public",
      "--name",
      "survey2",
    ]);
    expect(data).toMatchObject({ name: "survey2", is_public: false });
    const nothing = await f.run(["patch-project", id]);
    expect(nothing.code).toBe(ExitCode.USAGE);
  });

  await t.step("upload-project-thumbnail sends the image", async () => {
    const path = `${f.dir}/thumb.png`;
    await Deno.writeFile(path, PNG);
    const { run, data } = await f.json(["upload-project-thumbnail", id, path]);
    expect(run.code).toBe(0);
    expect(data).toEqual({ uploaded: true, project_id: id, filename: path });
  });

  await t.step("get-project-seed of a project without seed exits 5", async () => {
    const run = await f.run(["get-project-seed", id]);
    expect(run.code).toBe(ExitCode.NOT_FOUND);
  });

  await t.step("delete-project --json prints one document", async () => {
    const { run, data } = await f.json(["delete-project", id]);
    expect(run.code).toBe(0);
    expect(data).toEqual({ deleted: true, project_id: id });
    expect((await f.run(["get-project", id])).code).toBe(ExitCode.NOT_FOUND);
  });

  await t.step("another user's private project exits 4 or 5", async () => {
    const { id: bobs } = f.server.addProject({ name: "secret", owner: "bob" });
    const run = await f.run(["get-project", bobs]);
    expect([ExitCode.PERMISSION, ExitCode.NOT_FOUND]).toContain(run.code);
  });
});

Deno.test("file commands", async (t) => {
  await using f = await fixture();
  const { id } = f.server.addProject({ name: "files", owner: "alice" });
  const local = `${f.dir}/project`;
  await writeProject(local);

  await t.step("upload-files uploads everything, QGIS file last", async () => {
    f.server.clearRequests();
    const run = await f.run(["upload-files", id, local]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Uploaded 3 file(s), 0 skipped, 0 failed.");
    const posts = f.server.requests.filter((r) => r.method === "POST").map((r) => r.path);
    expect(posts.at(-1)).toBe(`/api/v1/files/${id}/project.qgs/`);
  });

  await t.step("a second upload skips unchanged files; --force uploads them", async () => {
    const { data } = await f.json(["upload-files", id, local]);
    expect((data as { status: string }[]).map((r) => r.status)).toEqual([
      "SKIPPED",
      "SKIPPED",
      "SKIPPED",
    ]);
    const forced = await f.json(["upload-files", id, local, "--filter", "notes.txt", "--force"]);
    expect(forced.data).toEqual([
      {
        name: "notes.txt",
        status: "SUCCESS",
        size: 6,
        reason: null,
        error: null,
        local_path: expect.stringContaining("notes.txt"),
      },
    ]);
  });

  await t.step("upload-files --dry-run sends nothing", async () => {
    await Deno.writeTextFile(`${local}/new.txt`, "new");
    f.server.clearRequests();
    const run = await f.run(["upload-files", id, local, "--dry-run"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/WOULD UPLOAD +3 B +new\.txt/);
    expect(run.stdout).toContain("Dry run: 1 file(s) would upload, 3 skipped");
    expect(f.server.requests.filter((r) => r.method === "POST")).toEqual([]);
    await Deno.remove(`${local}/new.txt`);
  });

  await t.step("list-files as a table and as JSON", async () => {
    const run = await f.run(["list-files", id]);
    expect(run.stdout).toMatch(/^LAST MODIFIED +SIZE +VERSIONS +NAME\n/);
    expect(run.stdout).toMatch(/2 +notes\.txt\n/);
    const { data } = await f.json(["list-files", id]);
    const names = (data as { name: string }[]).map((file) => file.name).sort();
    expect(names).toEqual(["DCIM/photo 1.jpg", "notes.txt", "project.qgs"]);
  });

  await t.step("download-files writes the files; a second run skips them", async () => {
    const target = `${f.dir}/download`;
    const run = await f.run(["download-files", id, target, "--concurrency", "2"]);
    expect(run.code).toBe(0);
    expect(await Deno.readTextFile(`${target}/notes.txt`)).toBe("Hello!");
    expect((await Deno.readFile(`${target}/DCIM/photo 1.jpg`)).length).toBe(3000);
    const again = await f.json(["download-files", id, target]);
    expect((again.data as { status: string }[]).every((r) => r.status === "SKIPPED")).toBe(true);
    const forced = await f.json([
      "download-files",
      id,
      target,
      "--force-download",
      "--filter",
      "*.txt",
    ]);
    expect((forced.data as { status: string }[]).map((r) => r.status)).toEqual(["SUCCESS"]);
  });

  await t.step("download-files --verify takes etag or size, and nothing else", async () => {
    // A listed etag that does not match the bytes: only a check by etag notices.
    const notes = f.server.state.projects.get(id)!.files.get("notes.txt")!.versions[0];
    const realEtag = notes.etag;
    notes.etag = "0".repeat(32);
    try {
      const statusOf = async (args: string[], dir: string) => {
        const { run, data } = await f.json(["download-files", id, dir, ...args]);
        const result = (data as { name: string; status: string }[])
          .find((r) => r.name === "notes.txt");
        return [args.join(" ") || "(default)", run.code, result?.status];
      };
      expect(await statusOf(["--verify", "size"], `${f.dir}/verify-size`)).toEqual([
        "--verify size",
        0,
        "SUCCESS",
      ]);
      expect(await statusOf(["--verify", "etag"], `${f.dir}/verify-etag`)).toEqual([
        "--verify etag",
        ExitCode.PARTIAL,
        "FAILED",
      ]);
      // By default every file is checked by etag.
      expect(await statusOf([], `${f.dir}/verify-default`)).toEqual([
        "(default)",
        ExitCode.PARTIAL,
        "FAILED",
      ]);
      // The one-version path passes the flag on too.
      const version = ["--filter", "notes.txt", "--version-id", notes.versionId];
      expect(await statusOf([...version, "--verify", "size"], `${f.dir}/verify-v`)).toEqual([
        [...version, "--verify", "size"].join(" "),
        0,
        "SUCCESS",
      ]);
    } finally {
      notes.etag = realEtag;
    }
    expect(downloadOptions({}).verify).toBe("etag");
    const auto = await f.run(["download-files", id, `${f.dir}/verify-bad`, "--verify", "auto"]);
    expect(auto.code).toBe(ExitCode.USAGE);
    const bad = await f.run(["download-files", id, `${f.dir}/verify-bad`, "--verify", "md5"]);
    expect(bad.code).toBe(ExitCode.USAGE);
    expect(bad.stderr.trim().split("\n")).toEqual([expect.stringContaining("'md5' is invalid")]);
    await expect(Deno.stat(`${f.dir}/verify-bad`)).rejects.toThrow();
  });

  await t.step("download-files --version-id fetches one version of one file", async () => {
    await Deno.writeTextFile(`${local}/notes.txt`, "Hello again!");
    expect((await f.run(["upload-files", id, local, "--filter", "notes.txt"])).code).toBe(0);
    const { data } = await f.json(["list-files", id]);
    const notes = (data as { name: string; versions: { version_id: string; size: number }[] }[])
      .find((file) => file.name === "notes.txt")!;
    const oldest = notes.versions.at(-1)!;
    const target = `${f.dir}/version`;
    const run = await f.run([
      "download-files",
      id,
      target,
      "--filter",
      "notes.txt",
      "--version-id",
      oldest.version_id,
    ]);
    expect(run.code).toBe(0);
    expect(await Deno.readTextFile(`${target}/notes.txt`)).toBe("Hello!");
    const glob = await f.run([
      "download-files",
      id,
      target,
      "--filter",
      "*.txt",
      "--version-id",
      "x",
    ]);
    expect(glob.code).toBe(ExitCode.USAGE);
    const unknown = await f.run([
      "download-files",
      id,
      target,
      "--filter",
      "notes.txt",
      "--version-id",
      "00000000-0000-0000-0000-000000000000",
    ]);
    expect(unknown.code).toBe(ExitCode.NOT_FOUND);
  });

  await t.step("a file that fails to upload gives exit 8 and a FAILED entry", async () => {
    await Deno.writeTextFile(`${local}/notes.txt`, "changed once more");
    await Deno.writeTextFile(`${local}/other.txt`, "other");
    f.server.injectFault({ method: "POST", path: /notes\.txt/, status: 500, times: 10 });
    const { run, data } = await f.json(["upload-files", id, local]);
    expect(run.code).toBe(ExitCode.PARTIAL);
    const results = data as { name: string; status: string; error: string | null }[];
    expect(results.find((r) => r.name === "notes.txt")?.status).toBe("FAILED");
    expect(results.find((r) => r.name === "other.txt")?.status).toBe("SUCCESS");
    expect(run.stderr).toBe("error: 1 of 4 file(s) failed to upload\n");
  });

  await t.step("--throw-on-error stops at the failure with the error's exit code", async () => {
    f.server.injectFault({ method: "POST", path: /notes\.txt/, status: 500, times: 10 });
    const run = await f.run(["upload-files", id, local, "--throw-on-error"]);
    expect(run.code).toBe(ExitCode.SERVER);
    expect(run.stderr).toMatch(/^error: .*HTTP 500/m);
  });

  await t.step("delete-file removes one version, then the file", async () => {
    const { data } = await f.json(["list-files", id]);
    const notes = (data as { name: string; versions: { version_id: string }[] }[])
      .find((file) => file.name === "notes.txt")!;
    const version = notes.versions.at(-1)!.version_id;
    const one = await f.json(["delete-file", id, "notes.txt", "--version-id", version]);
    expect(one.run.code).toBe(0);
    expect(one.data).toMatchObject({ name: "notes.txt", status: "SUCCESS", version_id: version });
    const all = await f.run(["delete-file", id, "notes.txt"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe('Deleted "notes.txt" and all its versions.\n');
    const missing = await f.run(["delete-file", id, "notes.txt"]);
    expect(missing.code).toBe(ExitCode.NOT_FOUND);
  });

  await t.step("delete-files with globs, --dry-run first", async () => {
    const plan = await f.json(["delete-files", id, "*.txt", "DCIM/*", "--dry-run"]);
    expect((plan.data as { name: string; status: string }[]).map((r) => r.name).sort()).toEqual([
      "DCIM/photo 1.jpg",
      "other.txt",
    ]);
    const run = await f.run(["delete-files", id, "*.txt", "DCIM/*"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Deleted 2 file(s), 0 skipped, 0 failed.");
    const { data } = await f.json(["list-files", id]);
    expect((data as { name: string }[]).map((file) => file.name)).toEqual(["project.qgs"]);
    const nothing = await f.run(["delete-files", id, "*.nothing"]);
    expect(nothing.stdout).toBe("No file matches; nothing to delete.\n");
  });

  await t.step("delete-files needs at least one path", async () => {
    const run = await f.run(["delete-files", id]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain("missing required argument 'paths'");
  });
});

Deno.test("job, package and delta commands", async (t) => {
  await using f = await fixture();
  const { id } = f.server.addProject({ name: "jobs", owner: "alice" });
  await f.server.putFile(id, "project.qgs", makeQgs({ layers: [] }));
  await f.server.putFile(id, "DCIM/photo.jpg", "jpeg");
  let jobId = "";

  await t.step("job-trigger prints the job; --json has its id", async () => {
    const { run, data } = await f.json(["job-trigger", id, "package", "--force"]);
    expect(run.code).toBe(0);
    expect(data).toMatchObject({ type: "package", project_id: id });
    jobId = (data as { id: string }).id;
  });

  await t.step("job-wait waits until the job finished", async () => {
    const run = await f.run(["job-wait", jobId, "--interval", "0.02"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`Job ${jobId} (package) finished.\n`);
    expect(run.stderr).toContain("is finished.");
  });

  await t.step("job-status and list-jobs", async () => {
    const status = await f.run(["job-status", jobId]);
    expect(status.stdout).toBe(`Job ${jobId} (package) of project ${id}: finished\n`);
    const { data } = await f.json(["list-jobs", id, "--type", "package"]);
    expect((data as { id: string }[]).map((job) => job.id)).toContain(jobId);
    const table = await f.run(["list-jobs", id]);
    expect(table.stdout).toMatch(/^ID +TYPE +STATUS +CREATED +FINISHED\n/);
    const newest = (data as { id: string }[]).at(-1)!.id;
    const count = (data as unknown[]).length;
    const paged = await f.json([
      "list-jobs",
      id,
      "--type",
      "package",
      "-l",
      "1",
      "-o",
      `${count - 1}`,
    ]);
    expect((paged.data as { id: string }[]).map((job) => job.id)).toEqual([newest]);
    const past = await f.run(["list-jobs", id, "--type", "package", "-o", `${count}`]);
    expect(past.stdout).toBe(`No package jobs in project "${id}" after the first ${count}.\n`);
    const none = await f.run(["list-jobs", id, "--type", "delta_apply"]);
    expect(none.stdout).toBe(`No delta_apply jobs in project "${id}".\n`);
    const bad = await f.run(["list-jobs", id, "--type", "nonsense"]);
    expect(bad.code).toBe(ExitCode.USAGE);
  });

  await t.step("package-latest and package-download", async () => {
    const latest = await f.json(["package-latest", id]);
    expect(latest.run.code).toBe(0);
    expect(latest.data).toMatchObject({ status: "finished", package_id: jobId });
    const human = await f.run(["package-latest", id]);
    expect(human.stdout).toContain(`Packaging status for ${id}: finished`);
    const target = `${f.dir}/package`;
    const run = await f.json(["package-download", id, target]);
    expect(run.run.code).toBe(0);
    const names = (run.data as { name: string; status: string }[]).map((r) => r.name);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) await Deno.stat(`${target}/${name}`);
  });

  await t.step("job-trigger --wait on a failing job exits 9 with its feedback", async () => {
    failNextJob(f.server.state, id, "Simulated worker crash");
    const run = await f.run([
      "job-trigger",
      id,
      "package",
      "--force",
      "--wait",
      "--interval",
      "0.02",
    ]);
    expect(run.code).toBe(ExitCode.JOB_FAILED);
    expect(run.stderr).toContain("Job feedback:");
    expect(run.stderr).toContain("Simulated worker crash");
    expect(run.stderr).toMatch(/^error: Job ".*" \(package\) ended with status "failed"/m);
    failNextJob(f.server.state, id, "Crash again");
    const json = await f.json([
      "job-trigger",
      id,
      "package",
      "--force",
      "--wait",
      "--interval",
      "0.02",
    ]);
    expect(json.run.code).toBe(ExitCode.JOB_FAILED);
    expect(json.data).toMatchObject({ status: "failed" });
  });

  await t.step("job-wait --timeout exits 10", async () => {
    // A server whose jobs take long, so that the job is surely unfinished.
    await using slow = await startTestServer({ users: USERS, jobSeconds: 60, quiet: true });
    const { id: slowProject } = slow.addProject({ name: "slow", owner: "alice" });
    await slow.putFile(slowProject, "project.qgs", makeQgs({ layers: [] }));
    const env = { QFIELDCLOUD_URL: slow.url, QFIELDCLOUD_TOKEN: slow.createToken("alice") };
    const { data } = await f.json(["job-trigger", slowProject, "package", "--force"], { env });
    const jobId = (data as { id: string }).id;
    const run = await f.run(["job-wait", jobId, "--timeout", "0.1", "--interval", "0.02"], { env });
    expect(run.code).toBe(ExitCode.TIMEOUT);
    expect(run.stderr).toMatch(/^error: Job ".*" is still (pending|queued|started) after/m);
  });

  await t.step("job-trigger validates the job type before any request", async () => {
    f.server.clearRequests();
    const run = await f.run(["job-trigger", id, "create_everything"]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain("Allowed choices are package, delta_apply, process_projectfile");
    expect(f.server.requests).toEqual([]);
  });

  await t.step("delta-push and list-deltas", async () => {
    const deltafile = {
      version: "1.0",
      id: crypto.randomUUID(),
      project: id,
      files: [],
      deltas: [],
    };
    const path = `${f.dir}/deltas.json`;
    await Deno.writeTextFile(path, JSON.stringify(deltafile));
    const { run, data } = await f.json(["delta-push", id, path]);
    expect(run.code).toBe(0);
    expect(data).toEqual({ pushed: true, project_id: id, delta_file: path });
    const list = await f.json(["list-deltas", id]);
    expect(list.run.code).toBe(0);
    expect(Array.isArray(list.data)).toBe(true);
  });
});

Deno.test("collaborator, member and team commands", async (t) => {
  await using f = await fixture();
  const { id } = f.server.addProject({ name: "team-work", owner: "alice" });

  await t.step("collaborators add, get, patch, remove", async () => {
    const added = await f.json(["collaborators-add", id, "bob", "editor"]);
    expect(added.data).toMatchObject({ collaborator: "bob", role: "editor", project_id: id });
    const table = await f.run(["collaborators-get", id]);
    expect(table.stdout).toMatch(/^COLLABORATOR +ROLE\nbob +editor\n$/);
    const patched = await f.run(["collaborators-patch", id, "bob", "reader"]);
    expect(patched.stdout).toContain('now has role "reader"');
    const removed = await f.json(["collaborators-remove", id, "bob"]);
    expect(removed.data).toEqual({ removed: true, project_id: id, collaborator: "bob" });
    const empty = await f.json(["collaborators-get", id]);
    expect(empty.data).toEqual([]);
  });

  await t.step("a role outside the choices is refused before any request", async () => {
    f.server.clearRequests();
    const run = await f.run(["collaborators-add", id, "bob", "owner"]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain("Allowed choices are admin, manager, editor, reporter, reader");
    expect(f.server.requests).toEqual([]);
  });

  await t.step("members add, get, patch, remove", async () => {
    const added = await f.json(["members-add", "org1", "bob", "member", "--public"]);
    expect(added.data).toMatchObject({ member: "bob", role: "member", is_public: true });
    const patched = await f.json(["members-patch", "org1", "bob", "admin"]);
    expect(patched.data).toMatchObject({ member: "bob", role: "admin" });
    const table = await f.run(["members-get", "org1"]);
    expect(table.stdout).toMatch(/bob +admin +yes/);
    const removed = await f.json(["members-remove", "org1", "bob"]);
    expect(removed.data).toEqual({ removed: true, organization: "org1", member: "bob" });
  });

  await t.step("teams and team members", async () => {
    await f.run(["members-add", "org1", "carol", "member"]);
    const created = await f.json(["teams-create", "org1", "surveyors"]);
    expect(created.data).toMatchObject({ team: "surveyors", organization: "org1" });
    const added = await f.json(["team-members-add", "org1", "surveyors", "carol"]);
    expect(added.data).toEqual({ member: "carol" });
    const members = await f.run(["team-members-list", "org1", "surveyors"]);
    expect(members.stdout).toBe("MEMBER\ncarol\n");
    const got = await f.run(["teams-get", "org1", "surveyors"]);
    expect(got.stdout).toMatch(/surveyors +carol/);
    const renamed = await f.json(["teams-patch", "org1", "surveyors", "--name", "mappers"]);
    expect(renamed.data).toMatchObject({ team: "mappers" });
    const missingName = await f.run(["teams-patch", "org1", "mappers"]);
    expect(missingName.code).toBe(ExitCode.USAGE);
    const list = await f.json(["teams-list", "org1"]);
    expect((list.data as { team: string }[]).map((team) => team.team)).toEqual(["mappers"]);
    const removed = await f.json(["team-members-remove", "org1", "mappers", "carol"]);
    expect(removed.data).toEqual({
      removed: true,
      organization: "org1",
      team: "mappers",
      member: "carol",
    });
    const deleted = await f.json(["teams-delete", "org1", "mappers"]);
    expect(deleted.data).toEqual({ deleted: true, organization: "org1", team: "mappers" });
    expect((await f.run(["teams-list", "org1"])).stdout).toBe('No teams in organization "org1".\n');
  });
});

Deno.test("errors, --json error documents, --debug", async (t) => {
  await using f = await fixture();

  await t.step("a usage error exits 2; with --json the error is a JSON document", async () => {
    const run = await f.run(["list-projects", "--limit", "zero"]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toMatch(/^error: option '-l, --limit <n>' argument 'zero' is invalid/);
    const json = await f.run(["--json", "frobnicate"]);
    expect(json.code).toBe(ExitCode.USAGE);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      exit_code: 2,
      message: "unknown command 'frobnicate'",
    });
  });

  await t.step("no command shows the help on stderr and exits 2", async () => {
    const run = await f.run([]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("Usage: qfieldcloud-cli [options] [command]");
  });

  await t.step("an auth error exits 3, also as a JSON document", async () => {
    const run = await f.run(["--json", "list-projects"], {
      env: { QFIELDCLOUD_TOKEN: "wrongtoken" },
    });
    expect(run.code).toBe(ExitCode.AUTH);
    expect(JSON.parse(run.stdout).error).toMatchObject({
      status: 401,
      code: "token_authentication_failed",
      exit_code: 3,
    });
    expect(run.stderr).toMatch(/^error: Token authentication failed/);
  });

  await t.step("a proxy's HTML 502 exits 12 with a one-line message", async () => {
    f.server.injectFault({ path: /\/status\//, status: 502, times: 10 });
    const run = await f.run(["status", "--read-timeout", "5"]);
    expect(run.code).toBe(ExitCode.SERVER);
    expect(run.stderr.trim().split("\n").length).toBe(1);
    expect(run.stderr).toContain("HTTP 502");
    expect(run.stderr).not.toContain("<html");
  });

  await t.step("an unreachable server exits 11", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const run = await f.run(["status"], {
      env: { QFIELDCLOUD_URL: `http://127.0.0.1:${port}/api/v1/` },
    });
    expect(run.code).toBe(ExitCode.NETWORK);
    expect(run.stderr).toContain("got no response");
  });

  await t.step("--debug prints request lines and a stack trace, never the token", async () => {
    const run = await f.run(["--debug", "get-project", "00000000-0000-0000-0000-000000000000"]);
    expect(run.code).toBe(ExitCode.NOT_FOUND);
    expect(run.stderr).toContain("> GET http://127.0.0.1:");
    expect(run.stderr).toContain("< 404 ");
    expect(run.stderr).toContain("QfcRequestException");
    const quiet = await f.run(["get-project", "00000000-0000-0000-0000-000000000000"]);
    expect(quiet.stderr).not.toContain("    at ");
  });

  await t.step("an aborted run exits 130", async () => {
    const controller = new AbortController();
    controller.abort(new DOMException("Interrupted", "AbortError"));
    const run = await f.run(["list-projects"], { signal: controller.signal });
    expect(run.code).toBe(ExitCode.INTERRUPTED);
    expect(run.stderr).toBe("error: Interrupted\n");
    const download = await f.run(
      ["download-files", "00000000-0000-0000-0000-000000000000", f.dir],
      {
        signal: controller.signal,
      },
    );
    expect(download.code).toBe(ExitCode.INTERRUPTED);
    expect(download.stderr).toBe(
      "error: Interrupted. Partial downloads are kept and resume on the next run\n",
    );
  });

  await t.step("completions print a script; --json wraps it", async () => {
    const run = await f.run(["completions", "bash"]);
    expect(run.stdout).toContain("complete -o default -F _qfieldcloud_cli qfieldcloud-cli");
    const { data } = await f.json(["completions", "fish"]);
    expect(data).toMatchObject({ shell: "fish" });
    expect((await f.run(["completions", "powershell"])).code).toBe(ExitCode.USAGE);
  });

  await t.step("live progress is drawn only when stderr is a terminal", async () => {
    const { id } = f.server.addProject({ name: "progress", owner: "alice" });
    const local = `${f.dir}/progress`;
    await writeProject(local);
    const tty = await f.run(["upload-files", id, local], { stderrIsTerminal: true });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toContain("Uploading ");
    expect(tty.stderr).toContain("\x1b[");
    const plain = await f.run(["upload-files", id, local, "--force"]);
    expect(plain.stderr).toBe("");
    const json = await f.run(["--json", "upload-files", id, local, "--force"], {
      stderrIsTerminal: true,
    });
    expect(json.stderr).toBe("");
  });
});
