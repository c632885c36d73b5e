import { expect } from "expect";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { QfcRequestException } from "../src/errors.ts";
import { RequestCore } from "../src/http.ts";
import {
  downloadFile,
  downloadFiles,
  downloadProject,
  packageDownload,
} from "../src/transfer/download.ts";
import { ETAG_PART_SIZE, etagOfBytes } from "../src/transfer/etag.ts";
import { etagOfFile } from "../src/transfer/file_etag.ts";
import { EtagWorker } from "../src/transfer/etag_worker.ts";
import { uploadFiles } from "../src/transfer/upload.ts";
import { transferFixture } from "./fixtures/transfer_setup.ts";

const MiB = 1024 * 1024;

/** Deterministic bytes that differ from one position to the next. */
function bytesOf(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** `expect(a).toEqual(b)` walks a byte array one element at a time (seconds per MiB). */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array) {
  expect(actual.byteLength).toBe(expected.byteLength);
  if (Buffer.compare(actual, expected) === 0) return;
  const at = actual.findIndex((byte, i) => byte !== expected[i]);
  expect(`first difference at byte ${at}`).toBe("same bytes");
}

async function hiddenFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.startsWith(".")) names.push(e.name);
  return names;
}

Deno.test("downloadProject() downloads every file and skips up-to-date ones", async (t) => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "a.txt", "Hello!");
    await f.server.putFile(f.projectId, "DCIM/sub dir/p #1.jpg", bytesOf(5000));
    await f.server.putFile(f.projectId, "big.bin", bytesOf(9 * MiB)); // multipart etag
    const out = `${f.dir}/out`;
    await t.step("first run downloads all files, content and tree intact", async () => {
      const results = await downloadProject(f.core, f.projectId, out);
      expect(results.map((r) => [r.name, r.status, r.size])).toEqual([
        ["DCIM/sub dir/p #1.jpg", "SUCCESS", 5000],
        ["a.txt", "SUCCESS", 6],
        ["big.bin", "SUCCESS", 9 * MiB],
      ]);
      expect(await Deno.readTextFile(`${out}/a.txt`)).toBe("Hello!");
      expect(await Deno.readFile(`${out}/DCIM/sub dir/p #1.jpg`)).toEqual(bytesOf(5000));
      expect(await etagOfFile(`${out}/big.bin`)).toBe(etagOfBytes(bytesOf(9 * MiB)));
      expect(await hiddenFiles(out)).toEqual([]); // no temporary file left
    });
    await t.step("second run: one listing request, no file request", async () => {
      f.server.clearRequests();
      const results = await downloadProject(f.core, f.projectId, out);
      expect(results.every((r) => r.status === "SKIPPED")).toBe(true);
      expect(results[0].reason).toBe("Local file is up to date (same etag)");
      expect(f.seen()).toEqual(["GET /api/v1/files/P/"]);
    });
    await t.step("a changed local file is downloaded again with If-None-Match", async () => {
      await Deno.writeTextFile(`${out}/a.txt`, "Hallo!"); // same size, other etag
      f.server.clearRequests();
      const results = await downloadProject(f.core, f.projectId, out, { filter: "a.*" });
      expect(results.map((r) => r.status)).toEqual(["SUCCESS"]);
      expect(await Deno.readTextFile(`${out}/a.txt`)).toBe("Hello!");
      const get = f.server.requests.find((r) => r.path.endsWith("/a.txt/"))!;
      expect(get.headers.get("if-none-match")).toBe(
        `"${etagOfBytes(new TextEncoder().encode("Hallo!"))}"`,
      );
    });
    await t.step("forceDownload downloads everything, without If-None-Match", async () => {
      f.server.clearRequests();
      const results = await downloadProject(f.core, f.projectId, out, { forceDownload: true });
      expect(results.every((r) => r.status === "SUCCESS")).toBe(true);
      const listing = `/api/v1/files/${f.projectId}/`;
      const gets = f.server.requests.filter((r) => r.path !== listing);
      expect(gets.length).toBe(3);
      expect(gets.every((r) => r.headers.get("if-none-match") === null)).toBe(true);
    });
    await t.step("a 304 for a stale listing leaves the local file alone", async () => {
      f.server.clearRequests();
      const stale = [{ name: "a.txt", size: 6, md5sum: "0".repeat(32) }];
      const results = await downloadFiles(f.core, f.projectId, stale, out);
      expect(results[0]).toMatchObject({
        status: "SKIPPED",
        reason: "Not modified on the server (304)",
      });
      expect(await Deno.readTextFile(`${out}/a.txt`)).toBe("Hello!");
    });
    await t.step("a dry run reports the plan and writes nothing", async () => {
      await Deno.remove(`${out}/a.txt`);
      f.server.clearRequests();
      const plan = await downloadProject(f.core, f.projectId, out, { dryRun: true });
      expect(plan.map((r) => [r.name, r.status])).toEqual([
        ["DCIM/sub dir/p #1.jpg", "SKIPPED"],
        ["a.txt", "PENDING"],
        ["big.bin", "SKIPPED"],
      ]);
      expect(f.seen()).toEqual(["GET /api/v1/files/P/"]);
      await expect(Deno.stat(`${out}/a.txt`)).rejects.toThrow();
    });
  } finally {
    await f.close();
  }
});

Deno.test("downloadFiles() refuses hostile names and writes nothing outside the folder", async (t) => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "good.txt", "good");
    const out = `${f.dir}/jail/out`;
    await Deno.mkdir(out, { recursive: true });
    await Deno.symlink(f.dir, `${out}/link`);
    const hostile = [
      "../evil.txt",
      "a/../../evil.txt",
      "/tmp/evil.txt",
      "..\\evil.txt",
      "C:/evil.txt",
      "evil\0.txt",
      "link/evil.txt",
    ];
    // The server lists them: the listing is rewritten by an injected fetch.
    const core = new RequestCore({
      url: f.server.url,
      token: f.server.createToken("u1"),
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        const url = new URL(input instanceof Request ? input.url : String(input));
        if (!url.pathname.endsWith(`/files/${f.projectId}/`)) return response;
        const files = await response.json();
        for (const name of hostile) files.push({ ...files[0], name });
        return Response.json(files);
      },
    });
    const results = await downloadProject(core, f.projectId, out);
    await t.step("each hostile name is FAILED with the reason, the good file is there", () => {
      const byName = new Map(results.map((r) => [r.name, r]));
      expect(byName.get("good.txt")!.status).toBe("SUCCESS");
      for (const name of hostile) {
        expect(byName.get(name)?.status).toBe("FAILED");
        expect(byName.get(name)?.reason).toMatch(/Refused/);
      }
      expect(byName.get("link/evil.txt")!.reason).toMatch(/outside/);
    });
    await t.step("nothing was requested or written for them", async () => {
      const requested = f.server.requests.map((r) => decodeURIComponent(r.path));
      expect(requested.some((p) => p.includes("evil"))).toBe(false);
      const written: string[] = [];
      const walk = async (dir: string) => {
        for await (const e of Deno.readDir(dir)) {
          if (e.isDirectory) await walk(join(dir, e.name));
          else written.push(e.name);
        }
      };
      await walk(f.dir);
      expect(written.filter((n) => n.includes("evil"))).toEqual([]);
    });
    await t.step("with throwOnError a hostile name throws before any download", async () => {
      f.server.clearRequests();
      await expect(downloadProject(core, f.projectId, `${f.dir}/other`, { throwOnError: true }))
        .rejects.toThrow(/Refused remote name/);
      expect(f.seen()).toEqual(["GET /api/v1/files/P/"]);
    });
  } finally {
    await f.close();
  }
});

Deno.test("downloads never leave a truncated file and resume with Range", async (t) => {
  const f = await transferFixture();
  try {
    const content = bytesOf(3 * MiB, 7);
    await f.server.putFile(f.projectId, "data.gpkg", content);
    const out = `${f.dir}/out`;
    await Deno.mkdir(out);
    await Deno.writeTextFile(`${out}/data.gpkg`, "the old local version");
    await t.step("a body that keeps breaking off fails, the old file stays", async () => {
      f.server.injectFault({ path: /data\.gpkg/, truncateAfterBytes: 1024 * 1024, times: 2 });
      const results = await downloadProject(f.core, f.projectId, out, {
        retry: { attempts: 2, baseDelayMs: 1 },
      });
      expect(results[0].status).toBe("FAILED");
      expect(results[0].reason).toMatch(/broke off/);
      expect(await Deno.readTextFile(`${out}/data.gpkg`)).toBe("the old local version");
      // The partial bytes are kept (hidden) for a resume.
      expect((await hiddenFiles(out)).length).toBe(1);
    });
    await t.step("the next run resumes with Range and completes", async () => {
      f.server.clearRequests();
      const results = await downloadProject(f.core, f.projectId, out);
      expect(results[0].status).toBe("SUCCESS");
      const get = f.server.requests.find((r) => r.path.endsWith("/data.gpkg/"))!;
      expect(get.headers.get("range")).toMatch(/^bytes=\d+-$/);
      expect(Number(/bytes=(\d+)-/.exec(get.headers.get("range")!)![1])).toBeGreaterThan(0);
      expectSameBytes(await Deno.readFile(`${out}/data.gpkg`), content);
      expect(await hiddenFiles(out)).toEqual([]);
    });
    await t.step("a break within a run is retried in the same run, resuming", async () => {
      await Deno.remove(`${out}/data.gpkg`);
      f.server.injectFault({ path: /data\.gpkg/, truncateAfterBytes: 500_000 });
      f.server.clearRequests();
      const results = await downloadProject(f.core, f.projectId, out);
      expect(results[0].status).toBe("SUCCESS");
      const gets = f.server.requests.filter((r) => r.path.endsWith("/data.gpkg/"));
      expect(gets.map((r) => r.headers.get("range"))).toEqual([null, "bytes=500000-"]);
      expectSameBytes(await Deno.readFile(`${out}/data.gpkg`), content);
    });
    await t.step("dropped connections and 502s are retried", async () => {
      await Deno.remove(`${out}/data.gpkg`);
      f.server.injectFault({ path: /data\.gpkg/, dropConnection: true });
      f.server.injectFault({ path: /data\.gpkg/, status: 502 });
      const results = await downloadProject(f.core, f.projectId, out);
      expect(results[0].status).toBe("SUCCESS");
      expectSameBytes(await Deno.readFile(`${out}/data.gpkg`), content);
    });
    await t.step("a small file (read in one piece) that breaks off is fetched again", async () => {
      const small = bytesOf(100_000, 8);
      await f.server.putFile(f.projectId, "small.csv", small);
      await Deno.writeTextFile(`${out}/small.csv`, "the old small file");
      f.server.injectFault({ path: /small\.csv/, truncateAfterBytes: 40_000, times: 2 });
      const failed = await downloadFiles(
        f.core,
        f.projectId,
        [{ name: "small.csv", size: small.byteLength, md5sum: etagOfBytes(small) }],
        out,
        { retry: { attempts: 2, baseDelayMs: 1 } },
      );
      expect(failed[0]).toMatchObject({ status: "FAILED", reason: expect.stringMatching(/broke/) });
      expect(await Deno.readTextFile(`${out}/small.csv`)).toBe("the old small file");
      expect(await hiddenFiles(out)).toEqual([]);
      f.server.injectFault({ path: /small\.csv/, truncateAfterBytes: 40_000 });
      const results = await downloadProject(f.core, f.projectId, out, { filter: "small.csv" });
      expect(results[0].status).toBe("SUCCESS");
      expectSameBytes(await Deno.readFile(`${out}/small.csv`), small);
    });
    await t.step("an abort (Ctrl-C) keeps the partial file, the next run resumes", async () => {
      await Deno.remove(`${out}/data.gpkg`);
      const controller = new AbortController();
      const run = downloadProject(f.core, f.projectId, out, {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === "file-bytes" && e.fileBytes >= MiB) controller.abort(new Error("Ctrl-C"));
        },
      });
      await expect(run).rejects.toThrow("Ctrl-C");
      await expect(Deno.stat(`${out}/data.gpkg`)).rejects.toThrow();
      f.server.clearRequests();
      const results = await downloadProject(f.core, f.projectId, out);
      expect(results[0].status).toBe("SUCCESS");
      const get = f.server.requests.find((r) => r.path.endsWith("/data.gpkg/"))!;
      expect(get.headers.get("range")).toMatch(/^bytes=[1-9]\d*-$/);
      expectSameBytes(await Deno.readFile(`${out}/data.gpkg`), content);
    });
  } finally {
    await f.close();
  }
});

Deno.test("downloadProject() throwOnError: report and go on, or stop and throw", async (t) => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "a.txt", "aaa");
    await f.server.putFile(f.projectId, "b.txt", "bbb");
    await t.step("without it, the failed file is reported and the other downloaded", async () => {
      f.server.injectFault({ path: /a\.txt/, status: 403 });
      const results = await downloadProject(f.core, f.projectId, `${f.dir}/one`);
      expect(results.map((r) => [r.name, r.status])).toEqual([["a.txt", "FAILED"], [
        "b.txt",
        "SUCCESS",
      ]]);
      expect((results[0].error as QfcRequestException).status).toBe(403);
    });
    await t.step("with it, the failure is thrown", async () => {
      f.server.injectFault({ path: /a\.txt/, status: 403 });
      await expect(
        downloadProject(f.core, f.projectId, `${f.dir}/two`, {
          throwOnError: true,
          concurrency: 1,
        }),
      ).rejects.toBeInstanceOf(QfcRequestException);
      await expect(Deno.stat(`${f.dir}/two/b.txt`)).rejects.toThrow(); // stopped before b.txt
    });
  } finally {
    await f.close();
  }
});

Deno.test("downloadFile() gets one file or an older version, with If-None-Match", async (t) => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "data.gpkg", "version one");
    await f.server.putFile(f.projectId, "data.gpkg", "version two!");
    const [file] = await f.core.list<
      { name: string; versions: { version_id: string; md5sum: string }[] }
    >({ path: ["files", f.projectId] });
    const target = `${f.dir}/x/data.gpkg`;
    await t.step("the latest version", async () => {
      const result = await downloadFile(f.core, f.projectId, "data.gpkg", target);
      expect(result.status).toBe("SUCCESS");
      expect(await Deno.readTextFile(target)).toBe("version two!");
    });
    await t.step("an up-to-date local file gets a 304 and is left alone", async () => {
      const before = (await Deno.stat(target)).mtime;
      f.server.clearRequests();
      const result = await downloadFile(f.core, f.projectId, "data.gpkg", target);
      expect(result).toMatchObject({
        status: "SKIPPED",
        reason: "Not modified on the server (304)",
      });
      expect(f.server.requests[0].headers.get("if-none-match")).toMatch(/^"[0-9a-f]{32}"$/);
      expect((await Deno.stat(target)).mtime).toEqual(before);
    });
    await t.step("with the etag known, no request at all", async () => {
      f.server.clearRequests();
      const result = await downloadFile(f.core, f.projectId, "data.gpkg", target, {
        etag: file.versions[0].md5sum,
      });
      expect(result.status).toBe("SKIPPED");
      expect(f.seen()).toEqual([]);
    });
    await t.step("a given version via ?version=", async () => {
      const old = file.versions[1];
      f.server.clearRequests();
      const result = await downloadFile(f.core, f.projectId, "data.gpkg", `${f.dir}/old.gpkg`, {
        version: old.version_id,
        etag: old.md5sum,
      });
      expect(result.status).toBe("SUCCESS");
      expect(await Deno.readTextFile(`${f.dir}/old.gpkg`)).toBe("version one");
      expect(f.server.requests[0].query).toBe(`version=${old.version_id}`);
    });
    await t.step("a wrong expected etag fails and leaves no file", async () => {
      await expect(
        downloadFile(f.core, f.projectId, "data.gpkg", `${f.dir}/bad.gpkg`, {
          etag: "0".repeat(32),
          retry: { attempts: 1 },
        }),
      ).rejects.toThrow(/etag/);
      await expect(Deno.stat(`${f.dir}/bad.gpkg`)).rejects.toThrow();
      expect((await hiddenFiles(f.dir)).filter((n) => n.startsWith(".qfc-"))).toEqual([]);
    });
  } finally {
    await f.close();
  }
});

Deno.test("packageDownload() downloads the latest package and skips it by md5sum", async () => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "survey.qgs", '<qgis version="3.34.0"></qgis>');
    await f.server.putFile(f.projectId, "data.gpkg", "gpkg bytes");
    const job = await f.core.json<{ id: string }>({
      method: "POST",
      path: ["jobs"],
      form: { project_id: f.projectId, type: "package", force: 1 },
    });
    for (let i = 0; i < 200; i++) {
      const { status } = await f.core.json<{ status: string }>({ path: ["jobs", job.id] });
      if (status === "finished") break;
      if (status === "failed") throw new Error("package job failed");
      await new Promise((r) => setTimeout(r, 25));
    }
    const out = `${f.dir}/pkg`;
    const first = await packageDownload(f.core, f.projectId, out);
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((r) => r.status === "SUCCESS")).toBe(true);
    expect(await Deno.readTextFile(`${out}/data.gpkg`)).toBe("gpkg bytes");
    f.server.clearRequests();
    const second = await packageDownload(f.core, f.projectId, out);
    expect(second.every((r) => r.status === "SKIPPED")).toBe(true);
    expect(f.seen()).toEqual(["GET /api/v1/packages/P/latest/"]);
  } finally {
    await f.close();
  }
});

Deno.test("a 50 MiB file makes the round trip with its multipart etag", async () => {
  const f = await transferFixture();
  try {
    const content = bytesOf(50 * MiB, 3);
    await f.write("src/big.bin", content);
    const up = await uploadFiles(f.core, f.projectId, `${f.dir}/src`);
    expect(up[0].status).toBe("SUCCESS");
    const [listed] = await f.core.list<{ md5sum: string; size: number }>({
      path: ["files", f.projectId],
    });
    const etag = etagOfBytes(content);
    expect(etag).toMatch(/^[0-9a-f]{32}-7$/);
    expect(listed).toMatchObject({ md5sum: etag, size: 50 * MiB });
    const down = await downloadProject(f.core, f.projectId, `${f.dir}/dst`);
    expect(down[0]).toMatchObject({ status: "SUCCESS", size: 50 * MiB });
    expect(await etagOfFile(`${f.dir}/dst/big.bin`)).toBe(etag);
    expectSameBytes(await Deno.readFile(`${f.dir}/dst/big.bin`), content);
  } finally {
    await f.close();
  }
});

Deno.test("EtagWorker hashes etag parts like createHash on a worker thread", async (t) => {
  const part = ETAG_PART_SIZE;
  const all = bytesOf(part, 5);
  const sizes = [0, 1, part - 1, part];
  await t.step("the MD5 of each part, whatever the chunks, shared or copied bytes", async () => {
    for (const shared of [true, false]) {
      const worker = EtagWorker.tryStart()!;
      try {
        // Parts one after the other on one worker, fed in odd chunks at odd offsets.
        for (const size of sizes) {
          const backing = new Uint8Array(
            shared ? new SharedArrayBuffer(size + 10) : new ArrayBuffer(size + 10),
          );
          backing.set(all.subarray(0, size), 7);
          const bytes = backing.subarray(7, 7 + size);
          const step = 3 * 1024 * 1024 + 5;
          const updates: Promise<void>[] = [];
          for (let at = 0; at < size; at += step) {
            updates.push(worker.partUpdate(bytes.subarray(at, Math.min(at + step, size))));
          }
          await Promise.all(updates);
          const expected = createHash("md5").update(all.subarray(0, size)).digest("hex");
          const digest = Buffer.from(await worker.endPart()).toString("hex");
          expect([size, shared, digest]).toEqual([size, shared, expected]);
        }
      } finally {
        await worker.terminate();
      }
    }
  });
  await t.step(
    "at most one worker less than the cores (at most 4), freed on terminate",
    async () => {
      const limit = Math.max(0, Math.min(4, availableParallelism() - 1));
      const started: EtagWorker[] = [];
      try {
        for (let i = 0; i < 6; i++) {
          const worker = EtagWorker.tryStart();
          if (worker) started.push(worker);
        }
        expect(started.length).toBe(limit);
      } finally {
        await Promise.all(started.map((w) => w.terminate()));
      }
      const again = EtagWorker.tryStart();
      expect(again !== undefined).toBe(limit > 0);
      await again?.terminate();
    },
  );
  await t.step("a terminated worker refuses more bytes", async () => {
    const worker = EtagWorker.tryStart()!;
    await worker.terminate();
    await expect(worker.partUpdate(new Uint8Array(1))).rejects.toThrow(/terminated/);
    await worker.terminate(); // twice is fine
  });
});

Deno.test("a large download (hashed on a worker) resumes and verifies its etag", async (t) => {
  // From 32 MiB on, the etag is computed on a worker thread beside the writes.
  expect(availableParallelism()).toBeGreaterThan(1);
  const f = await transferFixture();
  try {
    const content = bytesOf(40 * MiB + 17, 11);
    await f.server.putFile(f.projectId, "big.tif", content);
    const out = `${f.dir}/out`;
    const fileGets = () => f.server.requests.filter((r) => r.path.endsWith("/big.tif/"));
    await t.step("a body that keeps breaking off keeps its partial file", async () => {
      f.server.injectFault({ path: /big\.tif/, truncateAfterBytes: 20 * MiB + 5, times: 2 });
      const results = await downloadProject(f.core, f.projectId, out, {
        retry: { attempts: 2, baseDelayMs: 1 },
      });
      expect(results[0]).toMatchObject({
        status: "FAILED",
        reason: expect.stringMatching(/broke/),
      });
      // Both tries wrote every byte they received: the second continued the first.
      const [partial] = await hiddenFiles(out);
      expect((await Deno.stat(`${out}/${partial}`)).size).toBe(2 * (20 * MiB + 5));
    });
    await t.step("the next run re-hashes the partial file, resumes it and verifies", async () => {
      f.server.clearRequests();
      const results = await downloadProject(f.core, f.projectId, out);
      expect(results[0]).toMatchObject({ status: "SUCCESS", size: 40 * MiB + 17 });
      expect(fileGets()[0].headers.get("range")).toBe(`bytes=${2 * (20 * MiB + 5)}-`);
      expectSameBytes(await Deno.readFile(`${out}/big.tif`), content);
      expect(await hiddenFiles(out)).toEqual([]);
    });
    await t.step("a break within a run resumes at the exact byte", async () => {
      f.server.injectFault({ path: /big\.tif/, truncateAfterBytes: 9 * MiB + 3 });
      f.server.clearRequests();
      const results = await downloadProject(f.core, f.projectId, out, { forceDownload: true });
      expect(results[0].status).toBe("SUCCESS");
      // Every byte received before the break was written before the retry.
      expect(fileGets().map((r) => r.headers.get("range"))).toEqual([
        null,
        `bytes=${9 * MiB + 3}-`,
      ]);
      expectSameBytes(await Deno.readFile(`${out}/big.tif`), content);
    });
    await t.step(
      "a complete partial file (killed before the rename) needs no request",
      async () => {
        f.server.injectFault({ path: /big\.tif/, truncateAfterBytes: 5 * MiB, times: 2 });
        await downloadProject(f.core, f.projectId, out, {
          forceDownload: true,
          retry: { attempts: 2, baseDelayMs: 1 },
        });
        const [partial] = await hiddenFiles(out);
        await Deno.writeFile(`${out}/${partial}`, content);
        await Deno.remove(`${out}/big.tif`);
        f.server.clearRequests();
        const results = await downloadProject(f.core, f.projectId, out);
        expect(results[0].status).toBe("SUCCESS");
        expect(fileGets()).toEqual([]);
        expectSameBytes(await Deno.readFile(`${out}/big.tif`), content);
      },
    );
    await t.step("bytes that do not match the expected etag are refused", async () => {
      const target = `${f.dir}/elsewhere/big.tif`;
      await expect(
        downloadFile(f.core, f.projectId, "big.tif", target, {
          etag: `${"0".repeat(32)}-6`,
          verify: "etag",
          retry: { attempts: 1 },
        }),
      ).rejects.toThrow(/but "0{32}-6" was expected/);
      await expect(Deno.stat(target)).rejects.toThrow();
      expect(await hiddenFiles(`${f.dir}/elsewhere`)).toEqual([]);
    });
  } finally {
    await f.close();
  }
});

Deno.test("downloads are checked by etag or by size, as the verify option says", async (t) => {
  const f = await transferFixture();
  try {
    const small = bytesOf(3000, 5);
    const large = bytesOf(33 * MiB, 6); // from 32 MiB on, hashed on worker threads
    await f.server.putFile(f.projectId, "small.csv", small);
    await f.server.putFile(f.projectId, "large.tif", large);
    const listed = await f.core.list<{ name: string; size: number; md5sum: string }>({
      path: ["files", f.projectId],
    });
    const wrongEtag = listed.map((file) => ({ ...file, md5sum: `${"0".repeat(32)}-9` }));
    const statusOf = (results: { name: string; status: string }[]) =>
      Object.fromEntries(results.map((r) => [r.name, r.status]));
    const once = { retry: { attempts: 1 } };

    await t.step("by default: every file by its etag, large ones too", async () => {
      const out = `${f.dir}/default`;
      const results = await downloadFiles(f.core, f.projectId, wrongEtag, out, once);
      expect(statusOf(results)).toEqual({ "large.tif": "FAILED", "small.csv": "FAILED" });
      expect(results.find((r) => r.name === "large.tif")!.reason).toMatch(/etag/);
      expect(await hiddenFiles(out)).toEqual([]);
      await expect(Deno.stat(`${out}/large.tif`)).rejects.toThrow();
    });
    await t.step('"etag": every file by its etag', async () => {
      const out = `${f.dir}/etag`;
      const results = await downloadFiles(f.core, f.projectId, wrongEtag, out, {
        ...once,
        verify: "etag",
      });
      expect(statusOf(results)).toEqual({ "large.tif": "FAILED", "small.csv": "FAILED" });
      expect(await hiddenFiles(out)).toEqual([]);
      await expect(Deno.stat(`${out}/large.tif`)).rejects.toThrow();
    });
    await t.step('"size": every file by its size', async () => {
      const out = `${f.dir}/size`;
      const ok = await downloadFiles(f.core, f.projectId, wrongEtag, out, {
        ...once,
        verify: "size",
      });
      expect(statusOf(ok)).toEqual({ "large.tif": "SUCCESS", "small.csv": "SUCCESS" });
      const longer = listed.map((file) => ({ ...file, size: file.size + 1 }));
      const bad = await downloadFiles(f.core, f.projectId, longer, `${f.dir}/size2`, {
        ...once,
        verify: "size",
        forceDownload: true,
      });
      expect(bad.map((r) => r.reason)).toEqual([
        expect.stringMatching(/ended after 34603008 of 34603009 bytes/),
        expect.stringMatching(/ended after 3000 of 3001 bytes/),
      ]);
    });
    await t.step("the next sync hashes a large file and repairs a corrupted one", async () => {
      const out = `${f.dir}/repair`;
      await downloadProject(f.core, f.projectId, out);
      const file = await Deno.open(`${out}/large.tif`, { write: true });
      await file.write(new Uint8Array([large[0] ^ 0xff])); // same size, one byte changed
      file.close();
      f.server.clearRequests();
      const results = await downloadProject(f.core, f.projectId, out);
      expect(statusOf(results)).toEqual({ "large.tif": "SUCCESS", "small.csv": "SKIPPED" });
      expect(f.server.requests.at(-1)!.headers.get("if-none-match")).toMatch(/-5"$/);
      expectSameBytes(await Deno.readFile(`${out}/large.tif`), large);
    });
    await t.step(
      "a listing that undersells the size fails the file and writes nothing",
      async () => {
        const stale = listed.filter((file) => file.name === "large.tif")
          .map((file) => ({ ...file, size: 100 }));
        const [result] = await downloadFiles(f.core, f.projectId, stale, `${f.dir}/stale`, once);
        expect(result).toMatchObject({
          status: "FAILED",
          reason: expect.stringMatching(/more than the expected 100 bytes/),
        });
        await expect(Deno.stat(`${f.dir}/stale/large.tif`)).rejects.toThrow();
      },
    );
    await t.step("an unknown verify option is refused, naming it, before any request", async () => {
      f.server.clearRequests();
      await expect(
        downloadProject(f.core, f.projectId, `${f.dir}/x`, {
          // @ts-expect-error: the value JavaScript callers could pass
          verify: "md5",
        }),
      ).rejects.toThrow('Unknown verify option "md5": use one of "etag", "size"');
      expect(f.seen()).toEqual([]);
    });
  } finally {
    await f.close();
  }
});

Deno.test("an empty file downloads as an empty file, and then is skipped", async () => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "empty.txt", "");
    const out = `${f.dir}/out`;
    const first = await downloadProject(f.core, f.projectId, out);
    expect(first.map((r) => [r.name, r.status, r.size])).toEqual([["empty.txt", "SUCCESS", 0]]);
    expect(await Deno.readTextFile(`${out}/empty.txt`)).toBe("");
    expect(await hiddenFiles(out)).toEqual([]);
    const again = await downloadProject(f.core, f.projectId, out);
    expect(again[0].status).toBe("SKIPPED");
  } finally {
    await f.close();
  }
});
