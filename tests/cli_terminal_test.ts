/**
 * The CLI on a terminal and in pipes: --quiet, a failure printed once, a
 * --filter that matches nothing, an empty --filter, the progress display's
 * end on failure and Ctrl-C, and a reader that closes stdout early.
 */

import { expect } from "expect";
import { failNextJob } from "../testing/jobs.ts";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { makeQgs } from "./fixtures/qgis_project.ts";
import { startCliServer } from "./cli_harness.ts";

async function fixture() {
  const cli = await startCliServer({ jobSeconds: 0.02 });
  const dir = await Deno.makeTempDir({ prefix: "qfc_terminal_" });
  const local = `${dir}/local`;
  await Deno.mkdir(`${local}/DCIM`, { recursive: true });
  await Deno.writeTextFile(`${local}/project.qgs`, makeQgs({ layers: [] }));
  await Deno.writeTextFile(`${local}/notes.txt`, "Hello!");
  await Deno.writeFile(`${local}/DCIM/photo 1.jpg`, new Uint8Array(3000).fill(7));
  return {
    ...cli,
    dir,
    local,
    async [Symbol.asyncDispose]() {
      await cli[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("--quiet prints nothing but errors", async (t) => {
  await using f = await fixture();
  const { id } = f.server.addProject({ name: "quiet", owner: "alice" });
  const commands = [
    ["upload-files", id, f.local],
    ["list-projects"],
    ["get-project", id],
    ["get-project", "alice/quiet"],
    ["list-files", id],
    ["download-files", id, `${f.dir}/down`],
    ["download-files", id, `${f.dir}/down`, "--filter", "*.GPKG"],
    ["job-trigger", id, "package", "--wait", "--interval", "0.02"],
    ["list-jobs", id],
    ["package-latest", id],
    ["package-download", id, `${f.dir}/package`],
    ["collaborators-get", id],
    ["create-project", "another"],
    ["patch-project", "alice/another", "--description", "x"],
    ["delete-project", "alice/another"],
    ["delete-files", id, "*.nothing"],
    ["status"],
  ];
  for (const args of commands) {
    await t.step(args.slice(0, 2).join(" "), async () => {
      const run = await f.run(["-q", ...args], { stderrIsTerminal: true });
      expect([run.code, run.stdout, run.stderr]).toEqual([0, "", ""]);
    });
  }

  await t.step("errors are still printed, once", async () => {
    const run = await f.run(["--quiet", "get-project", "alice/nothing"]);
    expect(run.code).toBe(ExitCode.NOT_FOUND);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n").length).toBe(1);
  });

  await t.step("a failed job's feedback is part of its error", async () => {
    failNextJob(f.server.state, id, "Simulated worker crash");
    const run = await f.run(["-q", "job-trigger", id, "package", "--wait", "--interval", "0.02"]);
    expect(run.code).toBe(ExitCode.JOB_FAILED);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("Job feedback:");
    expect(run.stderr).toContain("Simulated worker crash");
    expect(run.stderr).not.toContain("triggered; waiting");
  });

  await t.step("--json with --quiet still prints the document", async () => {
    const run = await f.run(["--quiet", "--json", "get-project", id]);
    expect(JSON.parse(run.stdout).id).toBe(id);
    expect(run.stderr).toBe("");
  });
});

Deno.test("a failed file is printed once, without the request URL", async (t) => {
  await using f = await fixture();
  const { id } = f.server.addProject({ name: "fails", owner: "alice" });
  const fault = () =>
    f.server.injectFault({ method: "POST", path: /notes\.txt/, status: 500, times: 10 });

  await t.step("in the table, counted in the summary, and in one error line", async () => {
    fault();
    const run = await f.run(["upload-files", id, f.local]);
    expect(run.code).toBe(ExitCode.PARTIAL);
    const row = run.stdout.split("\n").find((line) => line.startsWith("FAILED"));
    expect(row).toMatch(
      /notes\.txt +Error 500 - Internal Server Error \(HTTP 500\)\. The server failed/,
    );
    expect(run.stdout).not.toContain("http");
    expect(run.stdout).toContain("Uploaded 2 file(s), 0 skipped, 1 failed.");
    expect(run.stderr).toBe("error: 1 of 3 file(s) failed to upload\n");
  });

  await t.step("with --quiet, one error line per failed file and the count", async () => {
    fault();
    const run = await f.run(["-q", "upload-files", id, f.local, "--force"]);
    expect(run.code).toBe(ExitCode.PARTIAL);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /^error: "notes\.txt" failed to upload: Error 500 - Internal Server Error \(HTTP 500\)\. [^\n]+\nerror: 1 of 3 file\(s\) failed to upload\n$/,
    );
    expect(run.stderr).not.toContain("http");
  });

  await t.step("the progress display is erased from column 0 before the error", async () => {
    fault();
    const run = await f.run(["upload-files", id, f.local, "--force"], { stderrIsTerminal: true });
    expect(run.code).toBe(ExitCode.PARTIAL);
    // deno-lint-ignore no-control-regex -- the erase sequence is the point
    expect(run.stderr).toMatch(/\r\x1b\[\d+A\x1b\[0Jerror: 1 of 3 file\(s\) failed to upload\n$/);
  });

  await t.step("--throw-on-error names the request with the file name as typed", async () => {
    f.server.injectFault({ method: "POST", path: /photo/, status: 500, times: 10 });
    const run = await f.run([
      "upload-files",
      id,
      f.local,
      "--force",
      "--throw-on-error",
      "--filter",
      "DCIM/*",
    ]);
    expect(run.code).toBe(ExitCode.SERVER);
    expect(run.stderr).toContain(`on POST /api/v1/files/${id}/DCIM/photo 1.jpg/.`);
  });

  await t.step("on Ctrl-C too", async () => {
    const controller = new AbortController();
    const run = await f.run(["upload-files", id, f.local, "--force"], {
      stderrIsTerminal: true,
      signal: controller.signal,
      fetch: (input, init) => {
        const request = new Request(input, init);
        if (request.method === "POST") {
          controller.abort(new DOMException("Interrupted", "AbortError"));
        }
        return fetch(request, { signal: controller.signal });
      },
    });
    expect(run.code).toBe(ExitCode.INTERRUPTED);
    // deno-lint-ignore no-control-regex -- the erase sequence is the point
    expect(run.stderr).toMatch(/\r\x1b\[\d+A\x1b\[0Jerror: Interrupted[^\n]*\n$/);
  });
});

Deno.test("--filter", async (t) => {
  await using f = await fixture();
  const { id } = f.server.addProject({ name: "filter", owner: "alice" });
  expect((await f.run(["upload-files", id, f.local])).code).toBe(0);
  const trigger = await f.run(["job-trigger", id, "package", "--wait", "--interval", "0.02"]);
  expect(trigger.code).toBe(0);
  const packaged = JSON.parse((await f.run(["--json", "package-latest", id])).stdout).files.length;

  await t.step("that matches nothing says so on stderr and exits 0", async () => {
    const cases: [string[], number][] = [
      [["download-files", id, `${f.dir}/none`], 3],
      [["upload-files", id, f.local], 3],
      [["package-download", id, `${f.dir}/none-package`], packaged],
    ];
    for (const [args, count] of cases) {
      const run = await f.run([...args, "--filter", "*.GPKG"]);
      expect([args[0], run.code, run.stderr]).toEqual([
        args[0],
        0,
        `--filter '*.GPKG' matched none of the ${count} files; matching is case-sensitive\n`,
      ]);
    }
    const two = await f.run([
      "download-files",
      id,
      `${f.dir}/none`,
      "--filter",
      "a",
      "--filter",
      "b",
    ]);
    expect(two.stderr).toBe(
      "--filter 'a' --filter 'b' matched none of the 3 files; matching is case-sensitive\n",
    );
  });

  await t.step("an empty --filter means every file, in every command", async () => {
    const down = await f.run(["--json", "download-files", id, `${f.dir}/all`, "--filter", ""]);
    expect(JSON.parse(down.stdout).length).toBe(3);
    const up = await f.run(["--json", "upload-files", id, f.local, "--filter", "", "--dry-run"]);
    expect(JSON.parse(up.stdout).length).toBe(3);
    const pkg = await f.run(["--json", "package-download", id, `${f.dir}/pkg`, "--filter", ""]);
    expect(JSON.parse(pkg.stdout).length).toBe(packaged);
    const version = await f.run(["download-files", id, f.dir, "--filter", "", "--version-id", "x"]);
    expect(version.code).toBe(ExitCode.USAGE);
  });
});

Deno.test("a reader that closes stdout early ends the command quietly", async () => {
  const cli = new URL("../cli.ts", import.meta.url).pathname;
  // `true` exits at once, so every write to the pipe fails with EPIPE.
  const script = `"${Deno.execPath()}" run -A --quiet "${cli}" --help | true; ` +
    `echo "exit=\${PIPESTATUS[0]}" >&2`;
  const output = await new Deno.Command("bash", {
    args: ["-c", script],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  expect(new TextDecoder().decode(output.stderr)).toBe("exit=0\n");
});
