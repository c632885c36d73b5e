import { expect } from "expect";
import { join } from "node:path";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { startTestServer } from "../testing/mod.ts";
import { runCli, USERS } from "./cli_harness.ts";

const [ALICE] = USERS;

async function fixture() {
  const server = await startTestServer({ users: [ALICE], quiet: true });
  const dir = await Deno.makeTempDir({ prefix: "qfc_cli_sync_" });
  const folder = join(dir, "survey");
  await Deno.mkdir(folder);
  const projectId = server.addProject({ name: "survey", owner: ALICE.username }).id;
  const env = {
    QFIELDCLOUD_URL: server.url,
    QFIELDCLOUD_TOKEN: server.createToken(ALICE.username),
    QFIELDCLOUD_CONFIG_DIR: `${dir}/config`,
  };
  return {
    server,
    folder,
    projectId,
    run: (args: string[]) => runCli(args, { env }),
    write: (name: string, text: string) => Deno.writeTextFile(join(folder, name), text),
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("sync --json prints one document: dry_run, actions and summary", async () => {
  await using f = await fixture();
  await f.write("local.txt", "local");
  await f.server.putFile(f.projectId, "cloud.txt", "cloud");
  const run = await f.run(["--json", "sync", f.projectId, f.folder]);
  expect(run.code).toBe(0);
  const data = JSON.parse(run.stdout);
  expect(Object.keys(data).sort()).toEqual(["actions", "dry_run", "summary"]);
  expect(data.dry_run).toBe(false);
  expect(data.actions.sort((a: { name: string }, b: { name: string }) => a.name < b.name ? -1 : 1))
    .toEqual([
      {
        name: "cloud.txt",
        action: "download",
        conflict: false,
        status: "SUCCESS",
        reason: "new on the cloud",
        size: 5,
        error: null,
      },
      {
        name: "local.txt",
        action: "upload",
        conflict: false,
        status: "SUCCESS",
        reason: "new locally",
        size: 5,
        error: null,
      },
    ]);
  expect(data.summary).toEqual({
    upload: 1,
    download: 1,
    delete_remote: 0,
    delete_local: 0,
    conflicts: 0,
    resolved_conflicts: 0,
    failed: 0,
    unchanged: 0,
  });
});

Deno.test("sync prints the plan table and one summary line; conflicts exit 13", async () => {
  await using f = await fixture();
  await f.write("a.txt", "local a");
  await f.server.putFile(f.projectId, "a.txt", "cloud a!");
  await f.write("b.txt", "b");
  const dry = await f.run(["sync", f.projectId, f.folder, "--dry-run"]);
  expect(dry.stdout).toMatch(/ACTION +NAME +SIZE +REASON/);
  expect(dry.stdout).toMatch(/upload +b\.txt +1 B +new locally/);
  expect(dry.stdout).toMatch(/conflict +a\.txt .*different on both sides, never synced/);
  expect(dry.stdout).toMatch(
    /Dry run: 1 to upload, .*1 conflict\(s\) left alone.*nothing was changed\./,
  );
  expect(dry.code).toBe(ExitCode.CONFLICT);
  const run = await f.run(["sync", f.projectId, f.folder]);
  expect(run.code).toBe(ExitCode.CONFLICT);
  expect(run.stdout.trim().split("\n").at(-1)).toBe(
    "1 uploaded, 0 downloaded, 0 deleted on the cloud, 0 deleted locally, " +
      "1 conflict(s) left alone, 0 failed, 0 unchanged.",
  );
  expect(run.stderr).toContain("--prefer local or --prefer cloud");
  const resolved = await f.run(["sync", f.projectId, f.folder, "--prefer", "local"]);
  expect(resolved.code).toBe(0);
  expect(resolved.stderr).toContain("the cloud keeps the bytes they replaced as a file version");
});

Deno.test("sync prints each conflict and each failed file once", async () => {
  await using f = await fixture();
  await f.write("a.txt", "local a");
  await f.server.putFile(f.projectId, "a.txt", "cloud a!");
  await f.write("b.txt", "b");
  f.server.injectFault({ method: "POST", path: /b\.txt/, status: 400, times: 10 });
  const run = await f.run(["sync", f.projectId, f.folder]);
  expect(run.code).toBe(ExitCode.PARTIAL);
  const everything = run.stdout + run.stderr;
  // The conflict is a row of the plan table, and nothing more.
  expect(everything.match(/a\.txt/g)).toHaveLength(1);
  // The upload failed while the plan ran: its row is the plan's, its failure one line of its own.
  expect(run.stdout).toMatch(/upload +b\.txt +1 B +new locally/);
  expect(run.stderr.match(/b\.txt/g)).toHaveLength(1);
  expect(run.stderr).toMatch(/File "b\.txt" failed: /);
});

Deno.test("pull --prefer cloud backs up the local file and says where", async () => {
  await using f = await fixture();
  await f.write("a.txt", "local a");
  await f.server.putFile(f.projectId, "a.txt", "cloud a!");
  const run = await f.run(["pull", f.projectId, f.folder, "--prefer", "cloud"]);
  expect(run.code).toBe(0);
  expect(await Deno.readTextFile(join(f.folder, "a.txt"))).toBe("cloud a!");
  const where = /moved to "(.+)"\./.exec(run.stderr)![1];
  expect(await Deno.readTextFile(join(where, "a.txt"))).toBe("local a");
});

Deno.test("a folder bound to another project, and a mass deletion, exit 14 before doing anything", async () => {
  await using f = await fixture();
  for (let i = 0; i < 12; i++) await f.write(`f${i}.txt`, `${i}`);
  expect((await f.run(["push", f.projectId, f.folder])).code).toBe(0);
  const other = f.server.addProject({ name: "other", owner: ALICE.username }).id;
  const bound = await f.run(["push", other, f.folder]);
  expect(bound.code).toBe(ExitCode.SYNC_REFUSED);
  expect(bound.stderr).toContain(`project "${f.projectId}", not project "${other}"`);

  for (let i = 0; i < 12; i++) await Deno.remove(join(f.folder, `f${i}.txt`));
  const guarded = await f.run(["push", f.projectId, f.folder, "--delete"]);
  expect(guarded.code).toBe(ExitCode.SYNC_REFUSED);
  expect(guarded.stderr).toContain("--allow-mass-delete");
  expect(f.server.state.projects.get(f.projectId)!.files.size).toBe(12);
  const allowed = await f.run(["push", f.projectId, f.folder, "--delete", "--allow-mass-delete"]);
  expect(allowed.code).toBe(0);
  expect(f.server.state.projects.get(f.projectId)!.files.size).toBe(0);
});
