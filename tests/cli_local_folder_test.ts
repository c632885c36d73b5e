/**
 * A LOCAL_DIR that cannot be used is one clear line and exit 1, before any
 * file is tried: not one FAILED row per file with a raw `ENOTDIR` tail.
 */

import { expect } from "expect";
import { join } from "node:path";
import { folderProblem } from "../src/transfer/folder_problem.ts";
import { type CliServer, startCliServer } from "./cli_harness.ts";

async function projectWithTwoFiles(s: CliServer): Promise<string> {
  const { id } = s.server.addProject({ name: "folders", owner: "alice" });
  await s.server.putFile(id, "a.txt", "a");
  await s.server.putFile(id, "sub/b.txt", "b");
  return id;
}

/** Asserts a run failed with exactly one error line, and returns it. */
function oneErrorLine(run: { code: number; stdout: string; stderr: string }): string {
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("");
  const lines = run.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toMatch(/ENOTDIR|EACCES|EPERM|mkdir|readdir/);
  return lines[0];
}

Deno.test("download-files into a folder that cannot be created: one error, exit 1", async (t) => {
  await using s = await startCliServer();
  const id = await projectWithTwoFiles(s);
  const dir = await Deno.makeTempDir({ prefix: "qfc_folder_" });
  try {
    const file = join(dir, "afile");
    await Deno.writeTextFile(file, "a file, not a folder");
    await t.step("below a file", async () => {
      const target = join(file, "sub");
      const line = oneErrorLine(await s.run(["download-files", id, target]));
      expect(line).toBe(
        `error: Cannot download into "${target}": "${file}" is a file, not a folder`,
      );
    });
    await t.step("the same in a dry run, which creates nothing", async () => {
      const target = join(file, "sub");
      const line = oneErrorLine(await s.run(["download-files", id, target, "--dry-run"]));
      expect(line).toContain(`Cannot download into "${target}"`);
    });
    await t.step("a dry run into a missing folder does not create it", async () => {
      const target = join(dir, "later");
      expect((await s.run(["download-files", id, target, "--dry-run"])).code).toBe(0);
      await expect(Deno.stat(target)).rejects.toThrow(Deno.errors.NotFound);
    });
    await t.step({
      name: "where creating folders is not permitted",
      ignore: Deno.uid() === 0 && Deno.build.os !== "linux",
      fn: async () => {
        // Root may write anywhere but in /sys; anyone else is refused a read-only folder.
        const readOnly = join(dir, "read-only");
        await Deno.mkdir(readOnly, { mode: 0o500 });
        const target = Deno.uid() === 0 ? "/sys/qfc-cli-test/out" : join(readOnly, "out");
        const line = oneErrorLine(await s.run(["download-files", id, target]));
        expect(line).toMatch(
          new RegExp(
            `^error: Cannot download into "${target}": (permission denied|operation not permitted)`,
          ),
        );
      },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("upload-files of a file or a missing folder: one line naming the folder", async (t) => {
  await using s = await startCliServer();
  const id = await projectWithTwoFiles(s);
  const dir = await Deno.makeTempDir({ prefix: "qfc_folder_" });
  try {
    await t.step("a file", async () => {
      const file = join(dir, "afile");
      await Deno.writeTextFile(file, "a file, not a folder");
      const line = oneErrorLine(await s.run(["upload-files", id, file]));
      expect(line).toBe(`error: Cannot read the local folder "${file}": it is not a folder`);
    });
    await t.step("a missing folder", async () => {
      const missing = join(dir, "missing");
      const line = oneErrorLine(await s.run(["upload-files", id, missing]));
      expect(line).toBe(`error: Cannot read the local folder "${missing}": it does not exist`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("folderProblem() says a refused folder in words", async () => {
  expect(await folderProblem("/x", { code: "EACCES", path: "/x" })).toBe("permission denied");
  expect(await folderProblem("/x", { code: "EACCES", path: "/x/deep" })).toBe(
    'permission denied on "/x/deep"',
  );
  expect(await folderProblem("/x", new Error("Disk on fire\nmore"))).toBe("Disk on fire");
});
