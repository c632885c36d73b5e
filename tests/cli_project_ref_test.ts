/**
 * Project arguments: every PROJECT_ID takes a UUID or OWNER/NAME (resolved with
 * one request), anything else is refused before any request; `delete-project`
 * asks on a terminal.
 */

import { expect } from "expect";
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { main } from "../cli.ts";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { parseProjectRef } from "../src/cli/project_ref.ts";
import { startCliServer } from "./cli_harness.ts";

const fixture = () => startCliServer({ organizations: [{ name: "org1", owner: "alice" }] });

Deno.test("parseProjectRef() takes a UUID or OWNER/NAME and nothing else", () => {
  const id = "3F2504E0-4F89-11D3-9A0C-0305E82C3301";
  expect(parseProjectRef(id)).toEqual({ text: id, id: id.toLowerCase() });
  expect(parseProjectRef("my-org/survey.2026")).toEqual({
    text: "my-org/survey.2026",
    owner: "my-org",
    name: "survey.2026",
  });
  for (const bad of ["survey", "Strassenbäume 2026", "a/b/c", "/name", "owner/", ""]) {
    expect(() => parseProjectRef(bad)).toThrow(InvalidArgumentError);
  }
});

Deno.test("project arguments", async (t) => {
  await using f = await fixture();
  const { id } = f.server.addProject({ name: "survey", owner: "org1" });
  await f.server.putFile(id, "notes.txt", "hello");

  await t.step("OWNER/NAME is resolved with one request", async () => {
    f.server.clearRequests();
    const run = await f.run(["--json", "list-files", "org1/survey"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).map((file: { name: string }) => file.name)).toEqual([
      "notes.txt",
    ]);
    const paths = f.server.requests.map((r) => r.path);
    expect(paths).toEqual(["/api/v1/projects/", `/api/v1/files/${id}/`]);
    expect(f.server.requests[0].query).toContain("owner=org1");
    expect(f.server.requests[0].query).toContain("name=survey");
  });

  await t.step("every project command takes OWNER/NAME", async () => {
    for (
      const args of [
        ["get-project", "org1/survey"],
        ["list-jobs", "org1/survey"],
        ["collaborators-get", "org1/survey"],
        ["list-deltas", "org1/survey"],
        ["patch-project", "org1/survey", "--description", "trees"],
      ]
    ) {
      const run = await f.run(["--json", ...args]);
      expect([args.join(" "), run.code, run.stderr]).toEqual([args.join(" "), 0, ""]);
    }
    const project = JSON.parse((await f.run(["--json", "get-project", "org1/survey"])).stdout);
    expect([project.id, project.description]).toEqual([id, "trees"]);
  });

  await t.step("an unknown OWNER/NAME exits 5 with a hint", async () => {
    const run = await f.run(["get-project", "org1/nothing"]);
    expect(run.code).toBe(ExitCode.NOT_FOUND);
    expect(run.stderr).toBe(
      'error: No project "org1/nothing" that you can see. Check the spelling, or list the ' +
        'projects with "qfieldcloud-cli list-projects --owner org1"\n',
    );
  });

  await t.step("a name alone is refused before any request, with a hint", async () => {
    f.server.clearRequests();
    const run = await f.run(["get-project", "Strassenbäume 2026"]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toBe(
      "error: command-argument value 'Strassenbäume 2026' is invalid for argument 'project_id'. " +
        "Expected a project id (a UUID) or OWNER/NAME, e.g. my-org/survey-2026; " +
        'find both with "qfieldcloud-cli list-projects".\n',
    );
    expect(f.server.requests).toEqual([]);
    const json = await f.run(["--json", "list-files", "survey", "-u", "alice", "-p", "x"]);
    expect(json.code).toBe(ExitCode.USAGE);
    expect(JSON.parse(json.stdout).error.message).toContain(
      "Expected a project id (a UUID) or OWNER/NAME",
    );
    expect(f.server.requests).toEqual([]);
  });

  await t.step("create-project --clone-from takes OWNER/NAME", async () => {
    const run = await f.run(["--json", "create-project", "copy", "--clone-from", "org1/survey"]);
    expect(run.code).toBe(0);
    const clone = f.server.requests.find((r) => r.method === "POST");
    expect(clone?.path).toBe("/api/v1/projects/");
  });
});

Deno.test("delete-project asks on a terminal, --yes skips, no prompt without a terminal", async (t) => {
  await using f = await fixture();

  await t.step("a wrong answer deletes nothing", async () => {
    const { id } = f.server.addProject({ name: "keep", owner: "alice" });
    const run = await f.run(["delete-project", id], { stdinIsTerminal: true, answer: "keep" });
    expect(run.code).toBe(ExitCode.FAILURE);
    expect(run.stderr).toContain(`Type alice/keep to confirm:`);
    expect(run.stderr).toContain('error: Not deleted: the answer was not "alice/keep"');
    expect((await f.run(["get-project", id])).code).toBe(0);
  });

  await t.step("typing OWNER/NAME deletes", async () => {
    f.server.addProject({ name: "gone", owner: "alice" });
    const run = await f.run(["delete-project", "alice/gone"], {
      stdinIsTerminal: true,
      answer: "alice/gone",
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Deleted project "alice/gone".\n');
  });

  await t.step("--yes deletes without asking", async () => {
    const { id } = f.server.addProject({ name: "yes", owner: "alice" });
    const run = await f.run(["delete-project", id, "--yes"], { stdinIsTerminal: true });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
  });

  await t.step("Ctrl-C at the question deletes nothing", async () => {
    const { id } = f.server.addProject({ name: "interrupted", owner: "alice" });
    const controller = new AbortController();
    let stderr = "";
    const code = await main(["delete-project", id], {
      stdout: { write: () => {}, isTerminal: false },
      stderr: { write: (text) => stderr += text, isTerminal: false },
      stdinIsTerminal: true,
      readLine: () => {
        setTimeout(() => controller.abort(new DOMException("Interrupted", "AbortError")), 0);
        return new Promise(() => {}); // the user never answers
      },
      env: (name) => f.env[name as keyof typeof f.env],
      signal: controller.signal,
    });
    expect(code).toBe(ExitCode.INTERRUPTED);
    expect(stderr).toContain("error: Interrupted");
    expect((await f.run(["get-project", id])).code).toBe(0);
  });

  await t.step("without a terminal on stdin it never asks", async () => {
    const { id } = f.server.addProject({ name: "script", owner: "alice" });
    const run = await f.run(["--json", "delete-project", id]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ deleted: true, project_id: id });
  });
});
