import { expect } from "expect";
import { join } from "node:path";
import { QfcRequestException } from "../src/errors.ts";
import { etagOfBytes } from "../src/transfer/etag.ts";
import { executePlan } from "../src/transfer/executor.ts";
import type { TransferAction, TransferPlan } from "../src/transfer/plan.ts";
import type { TransferProgressEvent } from "../src/transfer/progress.ts";
import type { TransferResult } from "../src/transfer/types.ts";
import { transferFixture } from "./fixtures/transfer_setup.ts";

const text = (s: string) => new TextEncoder().encode(s);

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

function action(
  kind: TransferAction["kind"],
  name: string,
  localPath: string,
  size: number,
  more: Partial<TransferAction> = {},
): TransferAction {
  return { kind, name, localPath, size, reason: `test ${kind}`, ...more };
}

Deno.test("executePlan() carries out every kind of action", async (t) => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "remote.txt", "from the cloud");
    await f.server.putFile(f.projectId, "gone.txt", "delete me");
    const up = await f.write("local/up.txt", "to the cloud");
    const doomed = await f.write("local/doomed.txt", "delete me locally");
    const down = join(f.dir, "local", "sub", "remote.txt");
    const plan: TransferPlan = {
      actions: [
        action("upload", "up.txt", up, 12),
        action("download", "remote.txt", down, 14, {
          etag: etagOfBytes(text("from the cloud")),
        }),
        action("delete_remote", "gone.txt", "", 9),
        action("delete_local", "doomed.txt", doomed, 17, {
          etag: etagOfBytes(text("delete me locally")),
        }),
      ],
      settled: [{ name: "same.txt", status: "SKIPPED", reason: "Already in step", size: 1 }],
    };
    const results = await executePlan(f.core, f.projectId, plan);

    await t.step("settled results first, then one result per action in plan order", () => {
      expect(results.map((r) => [r.name, r.status])).toEqual([
        ["same.txt", "SKIPPED"],
        ["up.txt", "SUCCESS"],
        ["remote.txt", "SUCCESS"],
        ["gone.txt", "SUCCESS"],
        ["doomed.txt", "SUCCESS"],
      ]);
    });
    await t.step("each action did its work", async () => {
      const listed = await f.core.list<{ name: string }>({ path: ["files", f.projectId] });
      expect(listed.map((l) => l.name).sort()).toEqual(["remote.txt", "up.txt"]);
      expect(await Deno.readTextFile(down)).toBe("from the cloud");
      expect(await exists(doomed)).toBe(false);
    });
  } finally {
    await f.close();
  }
});

Deno.test("executePlan() backupDir keeps the bytes a download replaces or a delete removes", async (t) => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "data/trees.gpkg", "new gpkg bytes");
    const backups = join(f.dir, "backups");
    await t.step(
      "a replaced file and its -wal/-shm move to backupDir under their names",
      async () => {
        const gpkg = await f.write("a/data/trees.gpkg", "old gpkg");
        await f.write("a/data/trees.gpkg-wal", "old wal");
        await f.write("a/data/trees.gpkg-shm", "old shm");
        const [result] = await executePlan(f.core, f.projectId, {
          actions: [action("download", "data/trees.gpkg", gpkg, 14, { backupDir: backups })],
          settled: [],
        });
        expect(result.status).toBe("SUCCESS");
        expect(await Deno.readTextFile(gpkg)).toBe("new gpkg bytes");
        expect(await namesIn(join(f.dir, "a", "data"))).toEqual(["trees.gpkg"]);
        expect(await Deno.readTextFile(join(backups, "data", "trees.gpkg"))).toBe("old gpkg");
        expect(await Deno.readTextFile(join(backups, "data", "trees.gpkg-wal"))).toBe("old wal");
        expect(await Deno.readTextFile(join(backups, "data", "trees.gpkg-shm"))).toBe("old shm");
      },
    );
    await t.step("a second backup of the same name keeps the first", async () => {
      const gpkg = await f.write("b/data/trees.gpkg", "older gpkg");
      await executePlan(f.core, f.projectId, {
        actions: [action("download", "data/trees.gpkg", gpkg, 14, { backupDir: backups })],
        settled: [],
      });
      expect(await Deno.readTextFile(join(backups, "data", "trees.gpkg"))).toBe("old gpkg");
      expect(await Deno.readTextFile(join(backups, "data", "trees.gpkg.1"))).toBe("older gpkg");
    });
    await t.step(
      "without backupDir, -wal/-shm are moved aside beside it, not destroyed",
      async () => {
        const gpkg = await f.write("c/trees.gpkg", "old gpkg");
        await f.write("c/trees.gpkg-wal", "old wal");
        await executePlan(f.core, f.projectId, {
          actions: [action("download", "data/trees.gpkg", gpkg, 14)],
          settled: [],
        });
        const names = await namesIn(join(f.dir, "c"));
        expect(names.length).toBe(2);
        expect(names[0]).toBe("trees.gpkg");
        expect(names[1]).toMatch(/^trees\.gpkg-wal\.before-download-\d{8}T\d{6}Z~$/);
        expect(await Deno.readTextFile(join(f.dir, "c", names[1]))).toBe("old wal");
      },
    );
    await t.step("delete_local with backupDir moves the file there", async () => {
      const doomed = await f.write("d/DCIM/p.jpg", "photo");
      const [result] = await executePlan(f.core, f.projectId, {
        actions: [action("delete_local", "DCIM/p.jpg", doomed, 5, { backupDir: backups })],
        settled: [],
      });
      expect(result.status).toBe("SUCCESS");
      expect(await exists(doomed)).toBe(false);
      expect(await Deno.readTextFile(join(backups, "DCIM", "p.jpg"))).toBe("photo");
    });
    await t.step(
      "delete_local without backupDir unlinks a file with the plan's etag; a missing file counts as done",
      async () => {
        const doomed = await f.write("e/x.txt", "x");
        const results = await executePlan(f.core, f.projectId, {
          actions: [
            action("delete_local", "x.txt", doomed, 1, { etag: etagOfBytes(text("x")) }),
            action("delete_local", "never.txt", join(f.dir, "e", "never.txt"), 1),
          ],
          settled: [],
        });
        expect(results.map((r) => r.status)).toEqual(["SUCCESS", "SUCCESS"]);
        expect(await namesIn(join(f.dir, "e"))).toEqual([]);
      },
    );
    await t.step(
      "delete_local without backupDir keeps a file without an etag or with other bytes",
      async () => {
        const unknown = await f.write("e2/unknown.txt", "u");
        const changed = await f.write("e2/changed.txt", "changed since");
        const results = await executePlan(f.core, f.projectId, {
          actions: [
            action("delete_local", "unknown.txt", unknown, 1),
            action("delete_local", "changed.txt", changed, 13, { etag: etagOfBytes(text("x")) }),
          ],
          settled: [],
        });
        expect(results.map((r) => [r.status, r.reason])).toEqual([
          ["FAILED", expect.stringMatching(/without a backup folder: the plan gives no etag/)],
          ["FAILED", expect.stringMatching(/it changed since the plan/)],
        ]);
        expect(await namesIn(join(f.dir, "e2"))).toEqual(["changed.txt", "unknown.txt"]);
      },
    );
    await t.step(
      "delete_local under a symbolic link out of localDir fails, the file stays",
      async () => {
        const outside = await f.write("outside/victim.txt", "v");
        await Deno.mkdir(join(f.dir, "root"), { recursive: true });
        await Deno.symlink(join(f.dir, "outside"), join(f.dir, "root", "link"));
        const viaLink = join(f.dir, "root", "link", "victim.txt");
        const [result] = await executePlan(f.core, f.projectId, {
          actions: [
            action("delete_local", "link/victim.txt", viaLink, 1, {
              etag: etagOfBytes(text("v")),
              backupDir: join(f.dir, "root", ".backups"),
            }),
          ],
          settled: [],
        }, { localDir: join(f.dir, "root") });
        expect(result).toMatchObject({
          status: "FAILED",
          reason: expect.stringMatching(/outside/),
        });
        expect(await Deno.readTextFile(outside)).toBe("v");
      },
    );
    await t.step("a download onto a folder fails, the folder stays, no partial file", async () => {
      await Deno.mkdir(join(f.dir, "g", "data", "trees.gpkg", "inner"), { recursive: true });
      const results = await executePlan(f.core, f.projectId, {
        actions: [
          action("download", "data/trees.gpkg", join(f.dir, "g", "data", "trees.gpkg"), 14),
        ],
        settled: [],
      });
      expect(results[0]).toMatchObject({
        status: "FAILED",
        reason: expect.stringMatching(/it is not a file/),
      });
      expect(await namesIn(join(f.dir, "g", "data"))).toEqual(["trees.gpkg"]);
      expect(await namesIn(join(f.dir, "g", "data", "trees.gpkg"))).toEqual(["inner"]);
    });
    await t.step("a GeoPackage download whose rename fails leaves -wal/-shm in place", async () => {
      await Deno.mkdir(join(f.dir, "h", "trees.gpkg", "inner"), { recursive: true });
      await f.write("h/trees.gpkg-wal", "wal of the folder's database");
      await f.write("h/trees.gpkg-shm", "shm");
      const [result] = await executePlan(f.core, f.projectId, {
        actions: [action("download", "data/trees.gpkg", join(f.dir, "h", "trees.gpkg"), 14)],
        settled: [],
      });
      expect(result.status).toBe("FAILED");
      expect(await namesIn(join(f.dir, "h"))).toEqual([
        "trees.gpkg",
        "trees.gpkg-shm",
        "trees.gpkg-wal",
      ]);
      expect(await Deno.readTextFile(join(f.dir, "h", "trees.gpkg-wal"))).toBe(
        "wal of the folder's database",
      );
    });
    await t.step("delete_local of a folder fails, the folder stays", async () => {
      await Deno.mkdir(join(f.dir, "f", "dir.txt"), { recursive: true });
      const [result] = await executePlan(f.core, f.projectId, {
        actions: [action("delete_local", "dir.txt", join(f.dir, "f", "dir.txt"), 1)],
        settled: [],
      });
      expect(result).toMatchObject({ status: "FAILED", reason: expect.stringMatching(/folder/) });
      expect(await exists(join(f.dir, "f", "dir.txt"))).toBe(true);
    });
  } finally {
    await f.close();
  }
});

Deno.test("executePlan() awaits onSettled per action before it counts as done", async () => {
  const f = await transferFixture();
  try {
    const paths = [
      await f.write("s/a.txt", "a"),
      await f.write("s/b.txt", "b"),
      await f.write("s/c.qgs", "<qgis version='3.40.0'/>"),
    ];
    const log: string[] = [];
    const plan: TransferPlan = {
      actions: [
        action("upload", "c.qgs", paths[2], 24),
        action("upload", "a.txt", paths[0], 1),
        action("upload", "b.txt", paths[1], 1),
      ],
      settled: [],
    };
    const results = await executePlan(f.core, f.projectId, plan, {
      concurrency: 1,
      onProgress: (e: TransferProgressEvent) => {
        if (e.type === "file-start") log.push(`start ${e.name}`);
        if (e.type === "file-end") log.push(`end ${e.name}`);
      },
      onSettled: async (settledAction: TransferAction, result: TransferResult) => {
        log.push(`settling ${settledAction.name} ${result.status}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`settled ${settledAction.name}`);
      },
    });
    expect(results.map((r) => r.status)).toEqual(["SUCCESS", "SUCCESS", "SUCCESS"]);
    // The QGIS file goes last; each file is settled before it ends and before the next starts.
    expect(log).toEqual([
      "start a.txt",
      "settling a.txt SUCCESS",
      "settled a.txt",
      "end a.txt",
      "start b.txt",
      "settling b.txt SUCCESS",
      "settled b.txt",
      "end b.txt",
      "start c.qgs",
      "settling c.qgs SUCCESS",
      "settled c.qgs",
      "end c.qgs",
    ]);
  } finally {
    await f.close();
  }
});

Deno.test("executePlan() failures: reported, thrown with throwOnError, or from onSettled", async (t) => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "a.txt", "aaa");
    await f.server.putFile(f.projectId, "b.txt", "bbb");
    const plan = (dir: string): TransferPlan => ({
      actions: [
        action("download", "a.txt", join(f.dir, dir, "a.txt"), 3),
        action("download", "b.txt", join(f.dir, dir, "b.txt"), 3),
      ],
      settled: [],
    });
    await t.step("without throwOnError: FAILED, the rest done, onSettled told", async () => {
      f.server.injectFault({ path: /a\.txt/, status: 403 });
      const told: string[] = [];
      const results = await executePlan(f.core, f.projectId, plan("one"), {
        onSettled: (a, r) => void told.push(`${a.name} ${r.status}`),
      });
      expect(results.map((r) => r.status)).toEqual(["FAILED", "SUCCESS"]);
      expect((results[0].error as QfcRequestException).status).toBe(403);
      expect(told.sort()).toEqual(["a.txt FAILED", "b.txt SUCCESS"]);
    });
    await t.step(
      "with throwOnError: the first failure is thrown, the rest not started",
      async () => {
        f.server.injectFault({ path: /a\.txt/, status: 403 });
        const error = await executePlan(f.core, f.projectId, plan("two"), {
          throwOnError: true,
          concurrency: 1,
        }).catch((e) => e);
        expect(error).toBeInstanceOf(QfcRequestException);
        expect(await exists(join(f.dir, "two", "b.txt"))).toBe(false);
      },
    );
    await t.step(
      "with throwOnError a FAILED settled result is thrown before anything",
      async () => {
        f.server.clearRequests();
        const refused = new Error("refused name");
        const error = await executePlan(f.core, f.projectId, {
          ...plan("three"),
          settled: [{ name: "x", status: "FAILED", size: 0, error: refused }],
        }, { throwOnError: true }).catch((e) => e);
        expect(error).toBe(refused);
        expect(f.server.requests).toEqual([]);
      },
    );
    await t.step("an onSettled that throws stops the run with its error", async () => {
      const error = await executePlan(f.core, f.projectId, plan("four"), {
        concurrency: 1,
        onSettled: () => {
          throw new Error("state store full");
        },
      }).catch((e) => e);
      expect(error.message).toBe("state store full");
      expect(await exists(join(f.dir, "four", "b.txt"))).toBe(false);
    });
  } finally {
    await f.close();
  }
});

Deno.test("executePlan() abort throws the reason and keeps what was done", async () => {
  const f = await transferFixture();
  try {
    for (const name of ["a.txt", "b.txt", "c.txt"]) await f.server.putFile(f.projectId, name, name);
    const controller = new AbortController();
    const settled: string[] = [];
    const run = executePlan(f.core, f.projectId, {
      actions: ["a.txt", "b.txt", "c.txt"].map((name) =>
        action("download", name, join(f.dir, "out", name), 5)
      ),
      settled: [],
    }, {
      concurrency: 1,
      signal: controller.signal,
      onSettled: (a) => {
        settled.push(a.name);
        if (a.name === "a.txt") controller.abort(new Error("Ctrl-C"));
      },
    });
    await expect(run).rejects.toThrow("Ctrl-C");
    expect(settled).toEqual(["a.txt"]);
    expect(await namesIn(join(f.dir, "out"))).toEqual(["a.txt"]);
  } finally {
    await f.close();
  }
});

Deno.test("executePlan() dry run changes nothing and reports PENDING", async () => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "gone.txt", "x");
    const local = await f.write("keep.txt", "k");
    f.server.clearRequests();
    let settledCalls = 0;
    const results = await executePlan(f.core, f.projectId, {
      actions: [
        action("upload", "keep.txt", local, 1),
        action("download", "gone.txt", join(f.dir, "gone.txt"), 1),
        action("delete_remote", "gone.txt", "", 1),
        action("delete_local", "keep.txt", local, 1),
      ],
      settled: [],
    }, { dryRun: true, onSettled: () => void settledCalls++ });
    expect(results.map((r) => [r.status, r.reason])).toEqual([
      ["PENDING", "Would be uploaded (dry run)"],
      ["PENDING", "Would be downloaded (dry run)"],
      ["PENDING", "Would be deleted (dry run)"],
      ["PENDING", "Would be deleted locally (dry run)"],
    ]);
    expect(settledCalls).toBe(0);
    expect(f.server.requests).toEqual([]);
    expect(await namesIn(f.dir)).toEqual(["keep.txt"]);
  } finally {
    await f.close();
  }
});

Deno.test("executePlan() retry option is the one policy of download requests", async () => {
  const f = await transferFixture();
  try {
    await f.server.putFile(f.projectId, "r.txt", "remote");
    f.server.injectFault({ method: "GET", path: /r\.txt/, status: 503, times: 9 });
    f.server.clearRequests();
    const [result] = await executePlan(f.core, f.projectId, {
      actions: [action("download", "r.txt", join(f.dir, "r.txt"), 6)],
      settled: [],
    }, { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    expect(result.status).toBe("FAILED");
    expect(f.server.requests.filter((r) => r.method === "GET").length).toBe(2);
  } finally {
    await f.close();
  }
});

Deno.test("executePlan() onSettled with concurrency: one call at a time, 304 SKIPPED, not for settled or cut-off actions", async (t) => {
  const f = await transferFixture();
  try {
    const names = Array.from({ length: 12 }, (_, i) => `f${i}.txt`);
    for (const name of names) await f.server.putFile(f.projectId, name, `content of ${name}`);
    await t.step("calls never overlap; a 304 is SKIPPED; settled results get none", async () => {
      let active = 0;
      let most = 0;
      const calls: [string, string][] = [];
      const same = `content of f0.txt`;
      await f.write("c/f0.txt", same);
      const results = await executePlan(f.core, f.projectId, {
        actions: names.map((name) =>
          action("download", name, join(f.dir, "c", name), `content of ${name}`.length, {
            ...(name === "f0.txt" ? { localEtag: etagOfBytes(text(same)) } : {}),
          })
        ),
        settled: [{ name: "decided.txt", status: "SKIPPED", reason: "In step", size: 1 }],
      }, {
        concurrency: 6,
        onSettled: async (a, result) => {
          active++;
          most = Math.max(most, active);
          await new Promise((resolve) => setTimeout(resolve, 2));
          calls.push([a.name, result.status]);
          active--;
        },
      });
      expect(results.filter((r) => r.status === "FAILED")).toEqual([]);
      expect(most).toBe(1);
      expect(calls.length).toBe(names.length);
      expect(calls.find(([name]) => name === "f0.txt")).toEqual(["f0.txt", "SKIPPED"]);
      expect(calls.some(([name]) => name === "decided.txt")).toBe(false);
    });
    await t.step(
      "an abort: a call for each action that finished, none for those cut off",
      async () => {
        const controller = new AbortController();
        const called: string[] = [];
        // The first body stalls; the abort comes while the others may be running.
        f.server.injectFault({ method: "GET", path: /f1\.txt/, stallAfterBytes: 1 });
        const run = executePlan(f.core, f.projectId, {
          actions: names.map((name) =>
            action("download", name, join(f.dir, "d", name), `content of ${name}`.length)
          ),
          settled: [],
        }, {
          concurrency: 3,
          signal: controller.signal,
          onSettled: (a) => {
            called.push(a.name);
            if (called.length === 2) controller.abort(new Error("Ctrl-C"));
          },
        });
        await expect(run).rejects.toThrow("Ctrl-C");
        // Every action that finished was recorded, even after the abort; none that was cut off.
        const inPlace = (await namesIn(join(f.dir, "d"))).filter((n) => !n.startsWith(".qfc-"));
        expect([...called].sort()).toEqual(inPlace);
        expect(called).not.toContain("f1.txt");
        expect(called.length).toBeLessThan(names.length);
      },
    );
  } finally {
    await f.close();
  }
});

Deno.test("executePlan() abort mid-body keeps the partial file, leaks nothing, and the next run resumes", async () => {
  const f = await transferFixture();
  try {
    const content = "0123456789".repeat(50_000); // 500 kB: streamed, not read whole
    await f.server.putFile(f.projectId, "big.txt", content);
    const target = join(f.dir, "m", "big.txt");
    const plan = (): TransferPlan => ({
      actions: [
        action("download", "big.txt", target, content.length, {
          etag: etagOfBytes(text(content)),
        }),
      ],
      settled: [],
    });
    f.server.injectFault({ method: "GET", path: /big\.txt/, stallAfterBytes: 100_000 });
    const controller = new AbortController();
    const run = executePlan(f.core, f.projectId, plan(), {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === "file-bytes" && e.fileBytes >= 100_000) {
          controller.abort(new Error("Ctrl-C"));
        }
      },
    });
    await expect(run).rejects.toThrow("Ctrl-C");
    const left = await namesIn(join(f.dir, "m"));
    expect(left).toEqual([expect.stringMatching(/^\.qfc-.*\.part$/)]);
    expect((await Deno.stat(join(f.dir, "m", left[0]))).size).toBe(100_000);
    // The next run takes the partial over and asks for the rest only.
    f.server.clearRequests();
    const [result] = await executePlan(f.core, f.projectId, plan());
    expect(result.status).toBe("SUCCESS");
    expect(await Deno.readTextFile(target)).toBe(content);
    expect(f.server.requests.map((r) => r.headers.get("range"))).toEqual(["bytes=100000-"]);
    expect(await namesIn(join(f.dir, "m"))).toEqual(["big.txt"]);
  } finally {
    await f.close();
  }
});
