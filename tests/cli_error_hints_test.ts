/**
 * The hints of the CLI's error lines: one step per mistake a new user makes,
 * where the server's answer alone (`api_error`, `validation_error`, ...) does
 * not say what to do.
 */

import { expect } from "expect";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { makeQgs } from "./fixtures/qgis_project.ts";
import { startCliServer } from "./cli_harness.ts";

Deno.test("error hints", async (t) => {
  await using cli = await startCliServer();
  const { server, run } = cli;
  const dir = await Deno.makeTempDir({ prefix: "qfc_hints_" });
  const { id } = server.addProject({ name: "survey", owner: "alice" });
  const posts = () => server.requests.filter((r) => r.method === "POST");

  await t.step("create-project checks the name before sending it", async () => {
    server.clearRequests();
    const result = await run(["create-project", "Strassenbäume 2026"]);
    expect(result.code).toBe(ExitCode.USAGE);
    expect(result.stderr).toBe(
      'error: Invalid project name "Strassenbäume 2026": names may hold only a-z, A-Z, 0-9, ' +
        '"-", "_" and ".". For example "Strassenbaume-2026"\n',
    );
    expect(server.requests).toEqual([]);
    const patch = await run(["patch-project", id, "--name", "a b"]);
    expect(patch.code).toBe(ExitCode.USAGE);
    expect(server.requests).toEqual([]);
  });

  await t.step("collaborators-add of an unknown user names users and teams", async () => {
    const result = await run(["collaborators-add", id, "nobody", "editor"]);
    expect(result.code).toBe(ExitCode.REJECTED);
    expect(result.stderr).toBe(
      `error: No user or team "nobody" to add to project "${id}"; ` +
        'teams are written "@organization/team"\n',
    );
    const byName = await run(["collaborators-add", "alice/survey", "@org1/nobody", "editor"]);
    expect(byName.stderr).toBe(
      'error: No user or team "@org1/nobody" to add to project "alice/survey"; ' +
        'teams are written "@organization/team"\n',
    );
  });

  await t.step("collaborators-add and -patch confirm with what was typed", async () => {
    const added = await run(["collaborators-add", "alice/survey", "carol", "editor"]);
    expect(added.stdout).toBe(
      'Collaborator "carol" added to project "alice/survey" with role "editor".\n',
    );
    const patched = await run(["collaborators-patch", "alice/survey", "carol", "reader"]);
    expect(patched.stdout).toBe(
      'Collaborator "carol" of project "alice/survey" now has role "reader".\n',
    );
  });

  await t.step("collaborators-add of a collaborator points to collaborators-patch", async () => {
    expect((await run(["collaborators-add", id, "bob", "editor"])).code).toBe(0);
    const result = await run(["collaborators-add", id, "bob", "reader"]);
    expect(result.code).toBe(ExitCode.REJECTED);
    expect(result.stderr).toBe(
      `error: "bob" is already a collaborator of project "${id}" with role "editor". ` +
        'Change the role with "qfieldcloud-cli collaborators-patch"\n',
    );
  });

  await t.step("an upload of a second QGIS file says a project holds one", async () => {
    await server.putFile(id, "one.qgs", makeQgs({ layers: [] }));
    await Deno.writeTextFile(`${dir}/two.qgs`, makeQgs({ layers: [] }));
    const result = await run(["upload-files", id, dir]);
    expect(result.code).toBe(ExitCode.PARTIAL);
    expect(result.stdout).toContain(
      "A project holds one QGIS file: delete or rename the other .qgs/.qgz first",
    );
  });

  await t.step("delta-push checks the file against the schema before sending", async () => {
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ version: "1.0", project: id }));
    server.clearRequests();
    const result = await run(["delta-push", id, `${dir}/bad.json`]);
    expect(result.code).toBe(ExitCode.USAGE);
    expect(result.stderr).toContain(
      `error: Delta file "${dir}/bad.json" does not follow the deltafile schema: ` +
        '$ lacks the required property "id". Nothing was sent.',
    );
    expect(result.stderr).not.toContain("try again");
    expect(posts()).toEqual([]);
    await Deno.writeTextFile(`${dir}/text.json`, "not json\nsecond line of the file");
    const notJson = await run(["delta-push", id, `${dir}/text.json`]);
    expect(notJson.stderr).toBe(
      `error: Delta file "${dir}/text.json" is not JSON: Unexpected token 'o'. Nothing was sent\n`,
    );
    await Deno.writeTextFile(`${dir}/cut.json`, '{"version": "1.0",\n  oops}');
    const cut = await run(["delta-push", id, `${dir}/cut.json`]);
    expect(cut.stderr).toBe(
      `error: Delta file "${dir}/cut.json" is not JSON: Expected double-quoted property name ` +
        "in JSON at position 21 (line 2 column 3). Nothing was sent\n",
    );
    await Deno.writeTextFile(
      `${dir}/other.json`,
      JSON.stringify({
        version: "1.0",
        project: "00000000-0000-0000-0000-000000000000",
        id: crypto.randomUUID(),
        deltas: [],
        files: [],
      }),
    );
    const other = await run(["delta-push", id, `${dir}/other.json`]);
    expect(other.stderr).toContain('was made for project "00000000-0000-0000-0000-000000000000"');
    expect(posts()).toEqual([]);
  });

  await t.step("job-trigger without a QGIS file does not suggest --force", async () => {
    const { id: empty } = server.addProject({ name: "empty", owner: "alice" });
    const result = await run(["job-trigger", empty, "package"]);
    expect(result.code).toBe(ExitCode.REJECTED);
    expect(result.stderr).toMatch(/\. Upload a \.qgs or \.qgz file first\n$/);
    expect(result.stderr).not.toContain("--force");
  });

  await t.step("job-status of an unknown job says no such job", async () => {
    const result = await run(["job-status", crypto.randomUUID()]);
    expect(result.code).toBe(ExitCode.PERMISSION);
    expect(result.stderr).toContain("No such job, or no access to it");
    expect(result.stderr).not.toContain("ask a project or organization admin");
    server.clearRequests();
    const typo = await run(["job-status", "12345"]);
    expect(typo.code).toBe(ExitCode.USAGE);
    expect(typo.stderr).toContain("Expected a job id (a UUID)");
    expect(server.requests).toEqual([]);
  });

  await t.step("get-project-seed of a project without a seed says so", async () => {
    const result = await run(["get-project-seed", id]);
    expect(result.code).toBe(ExitCode.NOT_FOUND);
    expect(result.stderr).toMatch(/\. This project was not created from a seed\n$/);
  });

  await t.step("create-user by a non-staff user says only staff can", async () => {
    const result = await run(["create-user", "newbie", "pw-123456", "newbie@example.com"]);
    expect(result.code).toBe(ExitCode.PERMISSION);
    expect(result.stderr).toMatch(
      /\. Only the server's staff users \(is_staff\) can create users\n$/,
    );
  });

  await Deno.remove(dir, { recursive: true });
});
