import { expect } from "expect";
import { QfcRequestException } from "../src/errors.ts";
import { deleteFile, deleteFiles } from "../src/transfer/delete.ts";
import { executePlan } from "../src/transfer/executor.ts";
import { transferFixture } from "./fixtures/transfer_setup.ts";

async function names(f: Awaited<ReturnType<typeof transferFixture>>): Promise<string[]> {
  const files = await f.core.list<{ name: string }>({ path: ["files", f.projectId] });
  return files.map((file) => file.name).sort();
}

Deno.test("deleteFiles() deletes the files matching the globs", async (t) => {
  const f = await transferFixture();
  try {
    for (const name of ["a.tmp", "DCIM/b.tmp", "DCIM/c.jpg", "keep.txt"]) {
      await f.server.putFile(f.projectId, name, name);
    }
    await t.step("a dry run deletes nothing", async () => {
      const plan = await deleteFiles(f.core, f.projectId, ["*.tmp"], { dryRun: true });
      expect(plan.map((r) => [r.name, r.status])).toEqual([
        ["DCIM/b.tmp", "PENDING"],
        ["a.tmp", "PENDING"],
      ]);
      expect(await names(f)).toEqual(["DCIM/b.tmp", "DCIM/c.jpg", "a.tmp", "keep.txt"]);
    });
    await t.step("`*` crosses folders; each file once even if several globs match", async () => {
      const results = await deleteFiles(f.core, f.projectId, ["*.tmp", "DCIM/*"]);
      expect(results.map((r) => [r.name, r.status])).toEqual([
        ["DCIM/b.tmp", "SUCCESS"],
        ["DCIM/c.jpg", "SUCCESS"],
        ["a.tmp", "SUCCESS"],
      ]);
      expect(await names(f)).toEqual(["keep.txt"]);
    });
  } finally {
    await f.close();
  }
});

Deno.test("deleteFiles() throwOnError has the right meaning", async (t) => {
  const f = await transferFixture();
  try {
    for (const name of ["a.txt", "b.txt"]) await f.server.putFile(f.projectId, name, name);
    await t.step("false: the failure is reported and the other file deleted", async () => {
      f.server.injectFault({ method: "DELETE", path: /a\.txt/, status: 403 });
      const results = await deleteFiles(f.core, f.projectId, ["*"]);
      expect(results.map((r) => [r.name, r.status])).toEqual([["a.txt", "FAILED"], [
        "b.txt",
        "SUCCESS",
      ]]);
      expect(results[0].error).toBeInstanceOf(QfcRequestException);
      expect(await names(f)).toEqual(["a.txt"]);
    });
    await t.step("true: the failure is thrown", async () => {
      f.server.injectFault({ method: "DELETE", path: /a\.txt/, status: 403 });
      await expect(deleteFiles(f.core, f.projectId, ["*"], { throwOnError: true })).rejects
        .toBeInstanceOf(QfcRequestException);
      expect(await names(f)).toEqual(["a.txt"]);
    });
  } finally {
    await f.close();
  }
});

Deno.test("deleteFile() deletes a file or one of its versions", async (t) => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "d.gpkg", "one");
    await f.server.putFile(f.projectId, "d.gpkg", "two");
    const [file] = await f.core.list<{ versions: { version_id: string }[] }>({
      path: ["files", f.projectId],
    });
    await t.step("a version, sent as x-file-version", async () => {
      f.server.clearRequests();
      await deleteFile(f.core, f.projectId, "d.gpkg", { versionId: file.versions[1].version_id });
      expect(f.server.requests[0].headers.get("x-file-version")).toBe(file.versions[1].version_id);
      const [after] = await f.core.list<{ versions: unknown[] }>({ path: ["files", f.projectId] });
      expect(after.versions.length).toBe(1);
    });
    await t.step("the whole file", async () => {
      const result = await deleteFile(f.core, f.projectId, "d.gpkg");
      expect(result).toMatchObject({ name: "d.gpkg", status: "SUCCESS" });
      expect(await names(f)).toEqual([]);
    });
    await t.step("an unknown file is a 404", async () => {
      const error = await deleteFile(f.core, f.projectId, "nope").catch((e) => e);
      expect(error).toBeInstanceOf(QfcRequestException);
      expect(error.status).toBe(404);
    });
  } finally {
    await f.close();
  }
});

Deno.test("deletes under faults: carried out before a 502 or reset is SUCCESS, a 429 retried, one policy", async (t) => {
  const f = await transferFixture();
  try {
    const deletes = () => f.server.requests.filter((r) => r.method === "DELETE").length;
    await t.step("a 502 or a reset after the server deleted the file: SUCCESS", async () => {
      for (const name of ["a.txt", "b.txt", "c.txt"]) {
        await f.server.putFile(f.projectId, name, name);
      }
      f.server.injectFault({ method: "DELETE", path: /a\.txt/, status: 502, afterHandling: true });
      f.server.injectFault({
        method: "DELETE",
        path: /b\.txt/,
        dropConnection: true,
        afterHandling: true,
      });
      const results = await deleteFiles(f.core, f.projectId, ["*.txt"]);
      expect(results.map((r) => [r.name, r.status])).toEqual([
        ["a.txt", "SUCCESS"],
        ["b.txt", "SUCCESS"],
        ["c.txt", "SUCCESS"],
      ]);
      expect(results[0].reason).toMatch(/earlier try/);
      expect(await names(f)).toEqual([]);
    });
    await t.step("a 404 at the first try stays a failure", async () => {
      const error = await deleteFile(f.core, f.projectId, "never.txt").catch((e) => e);
      expect(error.status).toBe(404);
    });
    await t.step("a 429 is retried; a 404 after it is a failure (nothing was done)", async () => {
      f.server.injectFault({ method: "DELETE", path: /never/, status: 429 });
      f.server.clearRequests();
      const error = await deleteFile(f.core, f.projectId, "never.txt").catch((e) => e);
      expect(error.status).toBe(404);
      expect(deletes()).toBe(2);
    });
    await t.step("the retry option is the one policy: attempts counted once", async () => {
      await f.server.putFile(f.projectId, "d.txt", "d");
      f.server.injectFault({ method: "DELETE", path: /d\.txt/, status: 503, times: 5 });
      f.server.clearRequests();
      const [result] = await executePlan(f.core, f.projectId, {
        actions: [{ kind: "delete_remote", name: "d.txt", localPath: "", size: 1, reason: "test" }],
        settled: [],
      }, { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
      expect(result.status).toBe("FAILED");
      expect(deletes()).toBe(3);
    });
  } finally {
    await f.close();
  }
});
