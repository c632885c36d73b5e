/**
 * `pull`, `push` and `sync` follow the conventions of the other transfer
 * commands: OWNER/NAME for the project, `--filter ''` for every file, a note
 * when `--filter` matched nothing, and `--quiet`.
 */

import { expect } from "expect";
import { join } from "node:path";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { startCliServer } from "./cli_harness.ts";

async function fixture() {
  const cli = await startCliServer();
  const dir = await Deno.makeTempDir({ prefix: "qfc_cli_sync_conv_" });
  const { id } = cli.server.addProject({ name: "survey", owner: "alice" });
  return {
    ...cli,
    id,
    folder: (name: string) => join(dir, name),
    async [Symbol.asyncDispose]() {
      await cli.server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("pull, push and sync take OWNER/NAME and refuse anything else before a request", async () => {
  await using f = await fixture();
  await f.server.putFile(f.id, "trees.gpkg", "trees");
  const pulled = await f.run(["pull", "alice/survey", f.folder("pulled")]);
  expect(pulled.code).toBe(0);
  expect(await Deno.readTextFile(join(f.folder("pulled"), "trees.gpkg"))).toBe("trees");
  await Deno.writeTextFile(join(f.folder("pulled"), "new.txt"), "new");
  expect((await f.run(["push", "alice/survey", f.folder("pulled")])).code).toBe(0);
  expect((await f.run(["sync", "alice/survey", f.folder("pulled")])).code).toBe(0);
  const listed = JSON.parse((await f.run(["--json", "list-files", "alice/survey"])).stdout);
  expect(listed.map((file: { name: string }) => file.name).sort()).toEqual([
    "new.txt",
    "trees.gpkg",
  ]);
  f.server.clearRequests();
  for (const direction of ["pull", "push", "sync"]) {
    const bad = await f.run([direction, "survey", f.folder("bad")]);
    expect(bad.code).toBe(ExitCode.USAGE);
    expect(bad.stderr).toContain("Expected a project id (a UUID) or OWNER/NAME");
  }
  expect(f.server.requests).toEqual([]);
});

Deno.test("sync --filter '' means every file; a filter that matches nothing says so", async () => {
  await using f = await fixture();
  await f.server.putFile(f.id, "trees.gpkg", "trees");
  await f.server.putFile(f.id, "notes.txt", "notes");
  const every = await f.run(["--json", "pull", f.id, f.folder("every"), "--filter", ""]);
  expect(every.code).toBe(0);
  expect(JSON.parse(every.stdout).summary.download).toBe(2);
  const none = await f.run(["sync", f.id, f.folder("none"), "--filter", "*.GPKG"]);
  expect(none.code).toBe(0);
  expect(none.stderr).toBe(
    "--filter '*.GPKG' matched none of the 2 files; matching is case-sensitive\n",
  );
  const quiet = await f.run(["--quiet", "sync", f.id, f.folder("none"), "--filter", "*.GPKG"]);
  expect([quiet.code, quiet.stdout, quiet.stderr]).toEqual([0, "", ""]);
});

Deno.test("sync --quiet prints nothing but the files behind a non-zero exit", async () => {
  await using f = await fixture();
  const folder = f.folder("quiet");
  await f.server.putFile(f.id, "a.txt", "cloud a");
  const first = await f.run(["--quiet", "sync", f.id, folder]);
  expect([first.code, first.stdout, first.stderr]).toEqual([0, "", ""]);
  await Deno.writeTextFile(join(folder, "a.txt"), "local edit");
  await f.server.putFile(f.id, "a.txt", "cloud edit!");
  const conflict = await f.run(["--quiet", "sync", f.id, folder]);
  expect(conflict.code).toBe(ExitCode.CONFLICT);
  expect(conflict.stdout).toBe("");
  const lines = conflict.stderr.trimEnd().split("\n");
  expect(lines.every((line) => line.startsWith("error: "))).toBe(true);
  expect(lines[0]).toMatch(/^error: Conflict, left alone: "a\.txt": /);
  expect(lines.at(-1)).toContain("1 conflict(s) left alone");
});

Deno.test("a LOCAL_DIR that is not a folder is one line before any request", async () => {
  await using f = await fixture();
  const file = f.folder("afile");
  await Deno.writeTextFile(file, "a file, not a folder");
  f.server.clearRequests();
  const cases: [string[], string][] = [
    [
      ["pull", f.id, join(file, "sub")],
      `Cannot pull into "${join(file, "sub")}": "${file}" is a file, not a folder`,
    ],
    [["push", f.id, file], `Cannot push "${file}": it is not a folder`],
    [
      ["push", f.id, f.folder("missing")],
      `Cannot push "${f.folder("missing")}": it does not exist`,
    ],
    [["sync", f.id, file], `Cannot sync "${file}": it is not a folder`],
  ];
  for (const [args, message] of cases) {
    const run = await f.run(args);
    expect([run.code, run.stdout, run.stderr]).toEqual([1, "", `error: ${message}\n`]);
  }
  expect(f.server.requests).toEqual([]);
});
