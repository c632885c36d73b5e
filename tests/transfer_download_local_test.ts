import { expect } from "expect";
import { join } from "node:path";
import { QfcException } from "../src/errors.ts";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { parseCloudTime } from "../src/transfer/cloud_mtime.ts";
import { downloadFile, downloadProject } from "../src/transfer/download.ts";
import { runCli, USERS } from "./cli_harness.ts";
import { transferFixture } from "./fixtures/transfer_setup.ts";

/** A project with four files, downloaded into a folder where two of them are blocked. */
async function blockedFolder(f: Awaited<ReturnType<typeof transferFixture>>, dir: string) {
  for (const name of ["a.txt", "trees.gpkg", "sub/x.txt", "z.txt"]) {
    await f.server.putFile(f.projectId, name, `content of ${name}`);
  }
  await Deno.mkdir(join(dir, "trees.gpkg"), { recursive: true }); // a folder where a file goes
  await Deno.writeTextFile(join(dir, "sub"), "a file where a folder goes");
}

Deno.test("a local obstacle fails its file only, the rest is downloaded", async (t) => {
  const f = await transferFixture();
  try {
    const out = join(f.dir, "out");
    await blockedFolder(f, out);
    await t.step("downloadProject() without throwOnError reports them FAILED", async () => {
      const results = await downloadProject(f.core, f.projectId, out);
      expect(results.map((r) => [r.name, r.status])).toEqual([
        ["a.txt", "SUCCESS"],
        ["sub/x.txt", "FAILED"],
        ["trees.gpkg", "FAILED"],
        ["z.txt", "SUCCESS"],
      ]);
      expect(results[2].reason).toMatch(/Cannot download "trees\.gpkg" to ".*": it is not a file/);
      expect(results[1].reason).toBe(
        `Cannot download "sub/x.txt" to "${
          join(out, "sub", "x.txt")
        }": "sub" is a file, not a folder`,
      );
      expect(await Deno.readTextFile(join(out, "z.txt"))).toBe("content of z.txt");
      expect((await Deno.stat(join(out, "trees.gpkg"))).isDirectory).toBe(true);
      expect(await Deno.readTextFile(join(out, "sub"))).toBe("a file where a folder goes");
    });
    await t.step("with throwOnError the obstacle is thrown before any download", async () => {
      await Deno.remove(join(out, "a.txt"));
      await expect(downloadProject(f.core, f.projectId, out, { throwOnError: true })).rejects
        .toThrow(/it is not a file/);
      await expect(Deno.stat(join(out, "a.txt"))).rejects.toThrow();
    });
    await t.step("a LOCAL_DIR that is a file is one error, before any request", async () => {
      const file = await f.write("plain.txt", "not a folder");
      f.server.clearRequests();
      const error = await downloadProject(f.core, f.projectId, file).catch((e) => e);
      expect(error).toBeInstanceOf(QfcException);
      expect(error.message).toBe(`Cannot download into "${file}": it is not a folder`);
      expect(f.server.requests).toEqual([]);
    });
  } finally {
    await f.close();
  }
});

Deno.test("download-files: an obstacle is a FAILED file and exit 8; a file as LOCAL_DIR exit 1", async (t) => {
  const f = await transferFixture();
  try {
    const username = USERS[0].username;
    f.server.addUser(USERS[0]);
    const { id } = f.server.addProject({ name: "cli", owner: username });
    const env = {
      QFIELDCLOUD_URL: f.server.url,
      QFIELDCLOUD_TOKEN: f.server.createToken(username),
      QFIELDCLOUD_CONFIG_DIR: join(f.dir, "config"),
    };
    const out = join(f.dir, "cli-out");
    await blockedFolder({ ...f, projectId: id }, out);
    await t.step("the rest is downloaded, the failures are listed, exit 8", async () => {
      const run = await runCli(["download-files", id, out], { env });
      expect(run.code).toBe(ExitCode.PARTIAL);
      expect(run.stdout).toMatch(/FAILED .* trees\.gpkg .*it is not a file/);
      expect(run.stdout).toContain("Downloaded 2 file(s), 0 skipped, 2 failed.");
      expect(await Deno.readTextFile(join(out, "a.txt"))).toBe("content of a.txt");
    });
    await t.step("a LOCAL_DIR that is a file: one error line", async () => {
      const file = await f.write("plain.txt", "not a folder");
      const run = await runCli(["download-files", id, file], { env });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr.trim().split("\n")).toEqual([
        expect.stringContaining(`Cannot download into "${file}": it is not a folder`),
      ]);
    });
  } finally {
    await f.close();
  }
});

Deno.test("downloads take the cloud's last_modified as their modification time", async (t) => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "dated.txt", "dated");
    const out = join(f.dir, "dated");
    const listed = await f.core.list<{ name: string; last_modified: string }>({
      path: ["files", f.projectId],
    });
    const cloudTime = parseCloudTime(listed[0].last_modified)!;
    await t.step("downloadProject() sets it", async () => {
      await downloadProject(f.core, f.projectId, out);
      const { mtime } = await Deno.stat(join(out, "dated.txt"));
      expect(mtime!.getTime()).toBe(cloudTime.getTime());
    });
    await t.step("downloadFile() without a listed time leaves the time of writing", async () => {
      const before = Date.now() - 2000;
      await downloadFile(f.core, f.projectId, "dated.txt", join(out, "copy.txt"));
      const { mtime } = await Deno.stat(join(out, "copy.txt"));
      expect(mtime!.getTime()).toBeGreaterThan(before);
    });
  } finally {
    await f.close();
  }
});

Deno.test("parseCloudTime() reads the listing's format and ISO 8601, nothing else", () => {
  expect(parseCloudTime("07.12.2026 00:19:05 UTC")?.toISOString()).toBe(
    "2026-12-07T00:19:05.000Z",
  );
  expect(parseCloudTime("2026-12-07T00:19:05.250Z")?.toISOString()).toBe(
    "2026-12-07T00:19:05.250Z",
  );
  expect(parseCloudTime("yesterday")).toBeUndefined();
  expect(parseCloudTime("31.02.2026 10:00:00 UTC")).toBeUndefined(); // no 31 February
  expect(parseCloudTime("07.13.2026 10:00:00 UTC")).toBeUndefined(); // no month 13
  expect(parseCloudTime("07.00.2026 10:00:00 UTC")).toBeUndefined(); // no month 0
  expect(parseCloudTime("07.12.2026 24:00:00 UTC")).toBeUndefined(); // no hour 24
  expect(parseCloudTime("07.12.2026 10:60:00 UTC")).toBeUndefined();
  expect(parseCloudTime("29.02.2028 10:00:00 UTC")?.toISOString()).toBe(
    "2028-02-29T10:00:00.000Z",
  );
  expect(parseCloudTime(undefined)).toBeUndefined();
});
