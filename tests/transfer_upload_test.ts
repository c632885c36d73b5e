import { expect } from "expect";
import { QfcException, QfcRequestException } from "../src/errors.ts";
import { RequestCore } from "../src/http.ts";
import { etagOfFile } from "../src/transfer/file_etag.ts";
import type { TransferProgressEvent } from "../src/transfer/progress.ts";
import { uploadFile, uploadFiles } from "../src/transfer/upload.ts";
import { startTestServer } from "../testing/mod.ts";
import { transferFixture } from "./fixtures/transfer_setup.ts";

const QGS = '<qgis version="3.34.0-Prizren"></qgis>';

Deno.test("uploadFiles() uploads a folder: POSIX names, ignored names left out, QGIS last", async (t) => {
  const f = await transferFixture();
  try {
    await f.write("src/b.gpkg", "bbb");
    await f.write("src/project.qgs", QGS);
    await f.write("src/a.txt", "Hello!");
    await f.write("src/DCIM/sub dir/p 1.jpg", "jpeg");
    await f.write("src/.hidden", "x");
    await f.write("src/notes~", "x");
    await f.write("src/b.gpkg-wal", "x");
    await f.write("src/.qfieldsync/state.json", "{}");
    const events: TransferProgressEvent[] = [];
    const results = await uploadFiles(f.core, f.projectId, `${f.dir}/src`, {
      onProgress: (e) => events.push(e),
      concurrency: 2,
    });
    await t.step("one SUCCESS result per project file, QGIS file last", () => {
      expect(results.map((r) => [r.name, r.status, r.size])).toEqual([
        ["DCIM/sub dir/p 1.jpg", "SUCCESS", 4],
        ["a.txt", "SUCCESS", 6],
        ["b.gpkg", "SUCCESS", 3],
        ["project.qgs", "SUCCESS", QGS.length],
      ]);
    });
    await t.step("the QGIS file is the last request, after the others finished", () => {
      const posts = f.seen().filter((s) => s.startsWith("POST"));
      expect(posts.length).toBe(4);
      expect(posts.at(-1)).toBe("POST /api/v1/files/P/project.qgs/");
      expect(posts).toContain("POST /api/v1/files/P/DCIM/sub dir/p 1.jpg/");
    });
    await t.step("the server has the same etags as the local files", async () => {
      const listed = await f.core.list<{ name: string; md5sum: string }>(
        { path: ["files", f.projectId] },
      );
      for (const r of results) {
        const remote = listed.find((l) => l.name === r.name)!;
        expect(remote.md5sum).toBe(await etagOfFile(r.localPath!));
      }
      expect(listed.length).toBe(4);
    });
    await t.step("progress events count files and bytes", () => {
      expect(events[0]).toMatchObject({ type: "plan", filesTotal: 4, totalSize: 13 + QGS.length });
      const last = events.at(-1)!;
      expect(last).toMatchObject({ type: "file-end", filesDone: 4, totalBytes: 13 + QGS.length });
      expect(events.filter((e) => e.type === "file-end").length).toBe(4);
    });
  } finally {
    await f.close();
  }
});

Deno.test("uploadFiles() skips files whose etag equals the remote one", async (t) => {
  const f = await transferFixture();
  try {
    await f.write("src/same.txt", "same");
    await f.write("src/changed.txt", "old!");
    await f.write("src/big.bin", new Uint8Array(9 * 1024 * 1024).fill(7)); // a multipart etag
    await uploadFiles(f.core, f.projectId, `${f.dir}/src`);
    await f.write("src/changed.txt", "new!"); // same size, different content
    await f.write("src/new.txt", "new file");
    f.server.clearRequests();
    const results = await uploadFiles(f.core, f.projectId, `${f.dir}/src`);
    await t.step("unchanged files are SKIPPED with a reason, the others uploaded", () => {
      expect(results.map((r) => [r.name, r.status])).toEqual([
        ["big.bin", "SKIPPED"],
        ["changed.txt", "SUCCESS"],
        ["new.txt", "SUCCESS"],
        ["same.txt", "SKIPPED"],
      ]);
      expect(results[0].reason).toBe("Remote file has the same etag");
    });
    await t.step("one listing request, and only the changed files are sent", () => {
      expect(f.seen().sort()).toEqual([
        "GET /api/v1/files/P/",
        "POST /api/v1/files/P/changed.txt/",
        "POST /api/v1/files/P/new.txt/",
      ]);
    });
    await t.step(
      "force uploads everything; one listing, to recognize a retry's version",
      async () => {
        f.server.clearRequests();
        const forced = await uploadFiles(f.core, f.projectId, `${f.dir}/src`, { force: true });
        expect(forced.every((r) => r.status === "SUCCESS")).toBe(true);
        expect(f.seen().filter((s) => s.startsWith("GET"))).toEqual(["GET /api/v1/files/P/"]);
        expect(f.seen().length).toBe(5);
      },
    );
  } finally {
    await f.close();
  }
});

Deno.test("uploadFiles() filter uses fnmatch on the remote names", async () => {
  const f = await transferFixture();
  try {
    await f.write("src/a.txt", "a");
    await f.write("src/DCIM/b.txt", "b");
    await f.write("src/c.jpg", "c");
    const one = await uploadFiles(f.core, f.projectId, `${f.dir}/src`, { filter: "*.txt" });
    expect(one.map((r) => r.name)).toEqual(["DCIM/b.txt", "a.txt"]);
    const two = await uploadFiles(f.core, f.projectId, `${f.dir}/src`, {
      filter: ["c.*", "DCIM/*"],
      force: true,
    });
    expect(two.map((r) => r.name)).toEqual(["DCIM/b.txt", "c.jpg"]);
  } finally {
    await f.close();
  }
});

Deno.test("uploadFiles() refuses names the server would reject before sending anything", async (t) => {
  const f = await transferFixture();
  try {
    await f.write("src/ok.txt", "ok");
    await f.write("src/what?.txt", "bad");
    await f.write("src/CON", "bad");
    await t.step("without throwOnError: FAILED with the rule, the others uploaded", async () => {
      const results = await uploadFiles(f.core, f.projectId, `${f.dir}/src`);
      expect(results.map((r) => [r.name, r.status])).toEqual([
        ["CON", "FAILED"],
        ["ok.txt", "SUCCESS"],
        ["what?.txt", "FAILED"],
      ]);
      expect(results[0].reason).toMatch(/"CON" is a reserved Windows name/);
      expect(results[2].reason).toMatch(/forbidden "\?"/);
      expect(results[2].error).toBeInstanceOf(QfcException);
      expect(f.seen().filter((s) => s.startsWith("POST"))).toEqual([
        "POST /api/v1/files/P/ok.txt/",
      ]);
    });
    await t.step("with throwOnError: throws before any request", async () => {
      f.server.clearRequests();
      await expect(
        uploadFiles(f.core, f.projectId, `${f.dir}/src`, { throwOnError: true, force: true }),
      ).rejects.toThrow(/Cannot upload "CON"/);
      expect(f.seen()).toEqual([]);
    });
  } finally {
    await f.close();
  }
});

Deno.test("uploadFiles() dry run lists the plan and sends no file", async () => {
  const f = await transferFixture();
  try {
    await f.write("src/same.txt", "same");
    await uploadFiles(f.core, f.projectId, `${f.dir}/src`);
    await f.write("src/new.txt", "new");
    f.server.clearRequests();
    const plan = await uploadFiles(f.core, f.projectId, `${f.dir}/src`, { dryRun: true });
    expect(plan.map((r) => [r.name, r.status, r.reason])).toEqual([
      ["new.txt", "PENDING", "Would be uploaded (dry run)"],
      ["same.txt", "SKIPPED", "Remote file has the same etag"],
    ]);
    expect(f.seen()).toEqual(["GET /api/v1/files/P/"]);
  } finally {
    await f.close();
  }
});

Deno.test("uploadFiles() retries network errors and 5xx, then reports or throws", async (t) => {
  const f = await transferFixture();
  try {
    await f.write("src/a.txt", "aaa");
    await f.write("src/b.txt", "bbb");
    await t.step("a dropped connection and two 502s are retried", async () => {
      f.server.injectFault({ method: "POST", path: /a\.txt/, dropConnection: true });
      f.server.injectFault({ method: "POST", path: /b\.txt/, status: 502, times: 2 });
      const results = await uploadFiles(f.core, f.projectId, `${f.dir}/src`, { force: true });
      expect(results.map((r) => r.status)).toEqual(["SUCCESS", "SUCCESS"]);
      const listed = await f.core.list<{ name: string; size: number }>({
        path: ["files", f.projectId],
      });
      expect(listed.map((l) => l.size)).toEqual([3, 3]);
    });
    await t.step("the retry option bounds the tries of each upload", async () => {
      f.server.injectFault({ method: "POST", path: /b\.txt/, status: 502, times: 1 });
      f.server.clearRequests();
      const results = await uploadFiles(f.core, f.projectId, `${f.dir}/src`, {
        force: true,
        retry: { attempts: 1 },
      });
      expect(results.map((r) => [r.name, r.status])).toEqual([
        ["a.txt", "SUCCESS"],
        ["b.txt", "FAILED"],
      ]);
      expect(f.server.requests.filter((r) => r.method === "POST").length).toBe(2);
    });
    await t.step(
      "without throwOnError a file that keeps failing is FAILED, others go on",
      async () => {
        f.server.injectFault({ method: "POST", path: /a\.txt/, status: 500, times: 10 });
        const results = await uploadFiles(f.core, f.projectId, `${f.dir}/src`, { force: true });
        expect(results.map((r) => [r.name, r.status])).toEqual([
          ["a.txt", "FAILED"],
          ["b.txt", "SUCCESS"],
        ]);
        expect(results[0].error).toBeInstanceOf(QfcRequestException);
        expect((results[0].error as QfcRequestException).status).toBe(500);
      },
    );
    await t.step("with throwOnError the failure is thrown", async () => {
      f.server.injectFault({ method: "POST", path: /a\.txt/, status: 403, times: 1 });
      await expect(
        uploadFiles(f.core, f.projectId, `${f.dir}/src`, { force: true, throwOnError: true }),
      ).rejects.toBeInstanceOf(QfcRequestException);
    });
  } finally {
    await f.close();
  }
});

Deno.test("uploadFiles() stops at once on 402 over_quota, with the server's message", async () => {
  const server = await startTestServer({
    users: [{ username: "u1", password: "pw" }],
    storageQuotaBytes: 10,
    quiet: true,
  });
  const dir = await Deno.makeTempDir();
  try {
    const { id } = server.addProject({ name: "p", owner: "u1" });
    const core = new RequestCore({ url: server.url, token: server.createToken("u1") });
    for (let i = 0; i < 6; i++) await Deno.writeTextFile(`${dir}/f${i}.txt`, "0123456789ab");
    const error = await uploadFiles(core, id, dir, { concurrency: 1 }).catch((e) => e);
    expect(error).toBeInstanceOf(QfcRequestException);
    expect(error.status).toBe(402);
    expect(error.code).toBe("over_quota");
    expect(error.serverMessage).toBe("Quota error");
    // Stopped at the first refusal: no further file was sent.
    expect(server.requests.filter((r) => r.method === "POST").length).toBe(1);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("uploadFile() uploads one file under a remote name", async (t) => {
  const f = await transferFixture();
  try {
    const path = await f.write("photo.jpg", "jpeg bytes");
    await t.step("sends multipart part `file` to the remote name", async () => {
      const result = await uploadFile(f.core, f.projectId, path, "DCIM/2024/photo #1.jpg");
      expect(result).toMatchObject({ name: "DCIM/2024/photo #1.jpg", status: "SUCCESS", size: 10 });
      expect(f.seen()).toEqual([
        "GET /api/v1/files/P/",
        "POST /api/v1/files/P/DCIM/2024/photo #1.jpg/",
      ]);
      expect(f.server.requests[1].headers.get("content-type")).toMatch(
        /^multipart\/form-data; boundary=/,
      );
    });
    await t.step("refuses a bad remote name without a request", async () => {
      f.server.clearRequests();
      await expect(uploadFile(f.core, f.projectId, path, "a/../b.jpg")).rejects.toThrow(
        /Part "\.\." is not allowed/,
      );
      await expect(uploadFile(f.core, f.projectId, path, "a/../b.jpg")).rejects.toThrow(TypeError);
      expect(f.seen()).toEqual([]);
    });
    await t.step("a package upload needs a job id", async () => {
      await expect(uploadFile(f.core, f.projectId, path, "x.jpg", { type: "package" })).rejects
        .toThrow(
          new TypeError(`Cannot upload package files without a "jobId": pass the package job's id`),
        );
    });
    await t.step("a package upload goes to packages/<pid>/<job>/files/<name>/", async () => {
      f.server.clearRequests();
      // The user token is not a worker token: the server refuses, which is the point here.
      await expect(
        uploadFile(f.core, f.projectId, path, "x.jpg", { type: "package", jobId: "j1" }),
      ).rejects.toBeInstanceOf(QfcRequestException);
      expect(f.seen()[0]).toBe("POST /api/v1/packages/P/j1/files/x.jpg/");
    });
  } finally {
    await f.close();
  }
});
