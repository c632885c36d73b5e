import { expect } from "expect";
import { join, resolve } from "node:path";
import { multipartFileBody } from "../src/transfer/multipart.ts";
import { runPool } from "../src/pool.ts";
import { ProgressTracker, type TransferProgressEvent } from "../src/transfer/progress.ts";
import { remoteNameProblem, resolveLocalPath } from "../src/transfer/remote_names.ts";
import {
  isIgnoredLocalName,
  isQgisProjectFile,
  uploadOrder,
  walkLocalFiles,
} from "../src/transfer/walk.ts";

Deno.test("remoteNameProblem() applies the server's filename rules", async (t) => {
  const valid = [
    "data.gpkg",
    "DCIM/photo 1.jpg",
    "ünïcödé/ファイル.txt",
    "x".repeat(255),
    "nul.txt",
    "a/b/c/d.e",
  ];
  for (const name of valid) {
    await t.step(`accepts ${JSON.stringify(name.slice(0, 40))}`, () => {
      expect(remoteNameProblem(name)).toBeUndefined();
    });
  }
  const invalid: [string, RegExp][] = [
    ["", /empty/],
    [" whitespace around ", /whitespace/],
    ["x".repeat(256), /256 characters long, the limit is 255/],
    ["NUL/file.name", /"NUL" is a reserved Windows name/],
    ["dir/com1", /"com1" is a reserved/],
    ["a<b", /forbidden "<"/],
    ['say"hi"', /forbidden """/],
    ["what?.txt", /forbidden "\?"/],
    ["star*.txt", /forbidden "\*"/],
    ["pipe|.txt", /forbidden "\|"/],
    ["c:/x", /forbidden ":"/],
    ["back\\slash", /forbidden "\\"/],
    ["tab\there", /control character U\+0009/],
    ["dot./x", /must not end with a dot/],
    ["dir /x", /must not end with a dot or whitespace/],
    ["a/../b", /".." is not allowed/],
    ["a/./b", /"\." is not allowed/],
    ["a//b", /empty path parts/],
    ["/abs", /relative/],
  ];
  for (const [name, rule] of invalid) {
    await t.step(`refuses ${JSON.stringify(name.slice(0, 40))} naming the rule`, () => {
      expect(remoteNameProblem(name)).toMatch(rule);
    });
  }
});

Deno.test("resolveLocalPath() keeps untrusted names inside the folder", async (t) => {
  const root = resolve("/tmp/qfc-root");
  await t.step("maps a nested name below the folder", () => {
    expect(resolveLocalPath(root, "DCIM/a b.jpg")).toEqual({ path: join(root, "DCIM", "a b.jpg") });
  });
  const hostile: [string, RegExp][] = [
    ["../escape.txt", /"\.\." part/],
    ["a/../../escape.txt", /"\.\." part/],
    ["/etc/passwd", /absolute path/],
    ["..\\win.txt", /backslash/],
    ["C:/Windows/x", /drive letter/],
    ["c:x", /drive letter/],
    ["nul\0byte", /NUL character/],
    ["", /empty/],
    ["a//b", /normalized/],
    ["./a", /normalized/],
    ["..", /"\.\." part/],
    ["new\nline", /control character/],
  ];
  for (const [name, rule] of hostile) {
    await t.step(`refuses ${JSON.stringify(name)}`, () => {
      const resolved = resolveLocalPath(root, name);
      expect(resolved.path).toBeUndefined();
      expect(resolved.problem).toMatch(rule);
      expect(resolved.problem).toContain(JSON.stringify(name));
    });
  }
});

Deno.test("walkLocalFiles() lists project files with POSIX names, QGIS files last", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const files = [
      "b.gpkg",
      "a.qgz",
      "z.txt",
      "DCIM/2024/p 1.jpg",
      "project.QGS",
      ".hidden",
      ".git/config",
      "notes.txt~",
      "backup~/inside.txt",
      "data.gpkg-wal",
      "data.gpkg-shm",
      "sub/.qfc-123-456.part",
    ];
    for (const name of files) {
      await Deno.mkdir(join(dir, ...name.split("/").slice(0, -1)), { recursive: true });
      await Deno.writeTextFile(join(dir, ...name.split("/")), name);
    }
    await Deno.symlink(join(dir, "z.txt"), join(dir, "link.txt"));
    const walked = await walkLocalFiles(dir);
    await t.step("skips hidden, backup and -wal/-shm names, in any part", () => {
      expect(walked.map((f) => f.name)).toEqual([
        "DCIM/2024/p 1.jpg",
        "b.gpkg",
        "link.txt",
        "z.txt",
        "a.qgz",
        "project.QGS",
      ]);
    });
    await t.step("gives sizes and local paths", () => {
      const photo = walked.find((f) => f.name === "DCIM/2024/p 1.jpg")!;
      expect(photo.size).toBe("DCIM/2024/p 1.jpg".length);
      expect(photo.localPath).toBe(join(dir, "DCIM", "2024", "p 1.jpg"));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("local name helpers", async (t) => {
  await t.step("isIgnoredLocalName()", () => {
    expect(isIgnoredLocalName("a/.b/c")).toBe(true);
    expect(isIgnoredLocalName("a~/c")).toBe(true);
    expect(isIgnoredLocalName("x.GPKG-WAL")).toBe(true);
    expect(isIgnoredLocalName("x.gpkg")).toBe(false);
    expect(isIgnoredLocalName("wal-shm.txt")).toBe(false);
  });
  await t.step("isQgisProjectFile()", () => {
    expect(isQgisProjectFile("a/b.qgz")).toBe(true);
    expect(isQgisProjectFile("b.Qgs")).toBe(true);
    expect(isQgisProjectFile("b.qgd")).toBe(false);
  });
  await t.step("uploadOrder() sorts by name with QGIS files last", () => {
    expect(["p.qgs", "b", "a.qgz", "a"].sort(uploadOrder)).toEqual(["a", "b", "a.qgz", "p.qgs"]);
  });
});

Deno.test("multipartFileBody() streams a file with the exact length", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "f.bin");
    const bytes = new Uint8Array(700_000).map((_, i) => i % 251);
    await Deno.writeFile(path, bytes);
    await t.step("the body parses as multipart with part `file` and the name", async () => {
      let reported = 0;
      const body = multipartFileBody(path, {
        filename: 'DCIM/a "b".jpg',
        size: bytes.length,
        onBytes: (n) => (reported = n),
      });
      const raw = new Uint8Array(await new Response(body.stream).arrayBuffer());
      expect(raw.length).toBe(body.length);
      expect(Number(body.headers["Content-Length"])).toBe(body.length);
      expect(reported).toBe(bytes.length);
      const form = await new Response(raw, {
        headers: { "Content-Type": body.headers["Content-Type"] },
      }).formData();
      const file = form.get("file") as File;
      expect(file.name).toBe("DCIM/a %22b%22.jpg");
      expect(new Uint8Array(await file.arrayBuffer())).toEqual(bytes);
    });
    await t.step("an empty file gives an empty part", async () => {
      const empty = join(dir, "empty");
      await Deno.writeFile(empty, new Uint8Array());
      const body = multipartFileBody(empty, { filename: "empty", size: 0 });
      const form = await new Response(body.stream, {
        headers: { "Content-Type": body.headers["Content-Type"] },
      }).formData();
      expect((form.get("file") as File).size).toBe(0);
    });
    await t.step("a file that shrank makes the stream fail", async () => {
      const body = multipartFileBody(path, { filename: "f", size: bytes.length + 10 });
      await expect(new Response(body.stream).arrayBuffer()).rejects.toThrow(/shrank/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPool() bounds concurrency and keeps order", async (t) => {
  await t.step("never more than `concurrency` tasks at once", async () => {
    let running = 0;
    let peak = 0;
    const out = await runPool([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 2;
    });
    expect(out).toEqual([10, 2, 8, 4, 6, 0, 12]);
    expect(peak).toBe(3);
  });
  await t.step("the first error stops new tasks and is rethrown", async () => {
    const started: number[] = [];
    await expect(runPool([1, 2, 3, 4, 5], 1, (n) => {
      started.push(n);
      if (n === 2) return Promise.reject(new Error("boom"));
      return Promise.resolve(n);
    })).rejects.toThrow("boom");
    expect(started).toEqual([1, 2]);
  });
  await t.step("an aborted signal stops the pool", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(runPool([1], 2, (n) => Promise.resolve(n), controller.signal)).rejects.toThrow(
      "stop",
    );
  });
});

Deno.test("ProgressTracker keeps totals across files and restarts", () => {
  const events: TransferProgressEvent[] = [];
  const tracker = new ProgressTracker("download", (e) => events.push(e));
  tracker.plan(2, 30);
  tracker.start("a", 10, 4);
  tracker.bytes("a", 10, 10);
  tracker.start("b", 20);
  tracker.bytes("b", 15, 20);
  tracker.bytes("b", 5, 20); // a retry restarted the file
  tracker.bytes("b", 20, 20);
  tracker.end({ name: "b", status: "SUCCESS", size: 20 });
  expect(events.map((e) => [e.type, e.name, e.totalBytes, e.filesDone])).toEqual([
    ["plan", undefined, 0, 0],
    ["file-start", "a", 4, 0],
    ["file-bytes", "a", 10, 0],
    ["file-start", "b", 10, 0],
    ["file-bytes", "b", 25, 0],
    ["file-bytes", "b", 15, 0],
    ["file-bytes", "b", 30, 0],
    ["file-end", "b", 30, 1],
  ]);
  expect(events.every((e) => e.operation === "download" && e.filesTotal === 2)).toBe(true);
  expect(events.at(-1)!.result?.status).toBe("SUCCESS");
});
