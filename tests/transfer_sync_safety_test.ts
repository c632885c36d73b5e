/**
 * Push, pull and sync against a folder that changes under them: files edited or created
 * between the plan and the transfer, folders replaced by symbolic links, names that collide
 * on some disks, names the cloud or the folder cannot hold, and GeoPackages left alone by a
 * run that stops.
 */
import { expect } from "expect";
import { join } from "node:path";
import { openWalDatabase } from "./fixtures/wal_database.ts";
import {
  deleteFile,
  downloadProject,
  etagOfBytes,
  type SyncOptions,
  syncProject,
  uploadFile,
  walHasFrames,
} from "../mod.ts";
import { QfcMassDeletionException } from "../src/transfer/sync_mass_deletion.ts";
import { RequestCore } from "../src/http.ts";
import { encode, listing, outcome, run, versions } from "./fixtures/sync_helpers.ts";
import { type TransferFixture, transferFixture } from "./fixtures/transfer_setup.ts";

/** The backups of a folder, `relative name -> text`, whatever run made them. */
async function backups(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const root = join(dir, ".qfieldcloud", "backups");
  const visit = async (path: string, prefix: string) => {
    for await (const entry of Deno.readDir(path)) {
      const full = join(path, entry.name);
      if (entry.isDirectory) await visit(full, `${prefix}${entry.name}/`);
      else out[prefix + entry.name] = await Deno.readTextFile(full);
    }
  };
  // The first level is the run's timestamp.
  const runs = await Array.fromAsync(Deno.readDir(root)).catch(() => []);
  for (const run of runs) if (run.isDirectory) await visit(join(root, run.name), "");
  return out;
}

async function withOutside(fn: (outside: string) => Promise<void>) {
  const outside = await Deno.makeTempDir({ prefix: "qfc-outside-" });
  try {
    await fn(outside);
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
}

Deno.test("sync downloads never follow a symbolic link out of LOCAL_DIR", async () => {
  const fx = await transferFixture();
  try {
    await withOutside(async (outside) => {
      await fx.server.putFile(fx.projectId, "DCIM/a.jpg", "photo");
      // The link appears between the plan and the download.
      const report = await run(fx, {
        direction: "pull",
        onPlan: () => Deno.symlinkSync(outside, join(fx.dir, "DCIM")),
      });
      expect(outcome(report.results)).toEqual({ "DCIM/a.jpg": "download FAILED" });
      expect(report.results[0].reason).toMatch(/outside/);
      expect([...Deno.readDirSync(outside)]).toEqual([]);
    });
  } finally {
    await fx.close();
  }
});

Deno.test("a folder replaced by a symbolic link is an obstacle, not a deletion", async () => {
  const fx = await transferFixture();
  try {
    await withOutside(async (outside) => {
      await fx.write("DCIM/a.jpg", "a");
      await fx.write("DCIM/b.jpg", "b");
      await fx.write("keep.txt", "k");
      await run(fx, { direction: "sync" });
      await Deno.remove(join(fx.dir, "DCIM"), { recursive: true });
      await Deno.writeTextFile(join(outside, "a.jpg"), "a");
      Deno.symlinkSync(outside, join(fx.dir, "DCIM"));
      for (const options of [{ direction: "sync" }, { direction: "push", delete: true }] as const) {
        const report = await run(fx, options);
        const kind = options.direction === "sync" ? "download" : "upload";
        expect(outcome(report.results)).toEqual({
          "DCIM/a.jpg": `${kind} FAILED`,
          "DCIM/b.jpg": `${kind} FAILED`,
        });
        expect(report.results[0].reason).toMatch(/symbolic link/);
        expect(report.summary.failed).toBe(2);
        expect(report.summary.delete_remote).toBe(0);
      }
      expect(Object.keys(await listing(fx)).sort()).toEqual([
        "DCIM/a.jpg",
        "DCIM/b.jpg",
        "keep.txt",
      ]);
      expect([...Deno.readDirSync(outside)].map((e) => e.name)).toEqual(["a.jpg"]);
    });
  } finally {
    await fx.close();
  }
});

Deno.test("a download backs up a local file edited after the plan", async () => {
  const fx = await transferFixture();
  try {
    await fx.write("a.txt", "v1");
    await run(fx, { direction: "sync" });
    await fx.server.putFile(fx.projectId, "a.txt", "v2 cloud");
    const report = await run(fx, {
      direction: "pull",
      onPlan: () => Deno.writeTextFileSync(join(fx.dir, "a.txt"), "edited after the plan"),
    });
    expect(outcome(report.results)).toEqual({ "a.txt": "download SUCCESS" });
    expect(await Deno.readTextFile(join(fx.dir, "a.txt"))).toBe("v2 cloud");
    expect(await backups(fx.dir)).toEqual({ "a.txt": "edited after the plan" });
  } finally {
    await fx.close();
  }
});

Deno.test("a download backs up the synced bytes when the cloud no longer keeps them", async () => {
  const fx = await transferFixture();
  try {
    await fx.write("a.txt", "v1");
    await run(fx, { direction: "sync" });
    // Deleted and re-created: the cloud has no version holding v1.
    await deleteFile(fx.core, fx.projectId, "a.txt");
    await fx.server.putFile(fx.projectId, "a.txt", "v2 cloud");
    const report = await run(fx, { direction: "sync" });
    expect(outcome(report.results)).toEqual({ "a.txt": "download SUCCESS" });
    expect(await backups(fx.dir)).toEqual({ "a.txt": "v1" });
    // While the cloud keeps the synced bytes as a version, the local copy is not backed up.
    await fx.server.putFile(fx.projectId, "a.txt", "v3 cloud");
    await run(fx, { direction: "sync" });
    expect(await backups(fx.dir)).toEqual({ "a.txt": "v1" });
    expect(await Deno.readTextFile(join(fx.dir, "a.txt"))).toBe("v3 cloud");
  } finally {
    await fx.close();
  }
});

Deno.test("a file new on the cloud does not overwrite a file created at its path after the plan", async () => {
  const fx = await transferFixture();
  try {
    await fx.server.putFile(fx.projectId, "new.txt", "cloud");
    const report = await run(fx, {
      direction: "sync",
      onPlan: () => Deno.writeTextFileSync(join(fx.dir, "new.txt"), "mine"),
    });
    expect(outcome(report.results)).toEqual({ "new.txt": "download SUCCESS" });
    expect(await backups(fx.dir)).toEqual({ "new.txt": "mine" });
  } finally {
    await fx.close();
  }
});

Deno.test("names that collide once case or Unicode normalization is ignored both fail", async () => {
  const fx = await transferFixture();
  try {
    const nfc = "caf\u00e9.txt";
    const nfd = "cafe\u0301.txt";
    await fx.write("Readme.txt", "local");
    await fx.server.putFile(fx.projectId, "README.txt", "cloud");
    await fx.write(nfd, "local");
    await fx.server.putFile(fx.projectId, nfc, "cloud");
    await fx.write("ok.txt", "ok");
    const report = await run(fx, { direction: "sync" });
    expect(outcome(report.results)).toEqual({
      "Readme.txt": "upload FAILED",
      "README.txt": "download FAILED",
      [nfd]: "upload FAILED",
      [nfc]: "download FAILED",
      "ok.txt": "upload SUCCESS",
    });
    expect(report.results.find((r) => r.name === "Readme.txt")!.reason).toBe(
      'Cannot sync "Readme.txt": it collides with "README.txt" once case or Unicode ' +
        "normalization is ignored; rename one of them",
    );
    expect(report.summary.failed).toBe(4);
    expect(await Deno.readTextFile(join(fx.dir, "Readme.txt"))).toBe("local");
    expect(Object.keys(await listing(fx)).sort()).toEqual(["README.txt", nfc, "ok.txt"].sort());
  } finally {
    await fx.close();
  }
});

Deno.test("a local name the cloud refuses fails with the rule, and nothing is sent", async () => {
  const fx = await transferFixture();
  try {
    await fx.write("a:b.txt", "x");
    await fx.write("ok.txt", "ok");
    const report = await run(fx, { direction: "push" });
    expect(outcome(report.results)).toEqual({
      "a:b.txt": "upload FAILED",
      "ok.txt": "upload SUCCESS",
    });
    expect(report.results.find((r) => r.name === "a:b.txt")!.reason).toMatch(
      /^Cannot upload "a:b.txt": Part "a:b.txt" contains the forbidden ":"/,
    );
    expect(report.summary).toMatchObject({ upload: 1, failed: 1 });
    expect(fx.seen().filter((r) => r.includes("a:b"))).toEqual([]);
  } finally {
    await fx.close();
  }
});

Deno.test("listed names that are not relative fail per file, with a .qfieldcloudignore present", async () => {
  const fx = await transferFixture();
  try {
    await fx.write(".qfieldcloudignore", "*.tmp\n");
    await fx.server.putFile(fx.projectId, "ok.txt", "ok");
    await fx.server.putFile(fx.projectId, "x.tmp", "ignored");
    // The server lists them: the listing is rewritten by an injected fetch.
    const core = new RequestCore({
      url: fx.server.url,
      token: fx.server.createToken("u1"),
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        const url = new URL(input instanceof Request ? input.url : String(input));
        if (!url.pathname.endsWith(`/files/${fx.projectId}/`)) return response;
        const files = await response.json();
        for (const name of ["/abs.txt", "../evil.txt"]) files.push({ ...files[0], name });
        return Response.json(files);
      },
    });
    const report = await syncProject(core, fx.projectId, fx.dir, { direction: "pull" });
    expect(outcome(report.results)).toEqual({
      "/abs.txt": "download FAILED",
      "../evil.txt": "download FAILED",
      "ok.txt": "download SUCCESS",
    });
    expect(report.summary).toMatchObject({ download: 1, failed: 2, unchanged: 0 });
    const out = join(fx.dir, "copy");
    await Deno.mkdir(out);
    await Deno.writeTextFile(join(out, ".qfieldcloudignore"), "*.tmp\n");
    const results = await downloadProject(core, fx.projectId, out);
    expect(Object.fromEntries(results.map((r) => [r.name, r.status]))).toEqual({
      "/abs.txt": "FAILED",
      "../evil.txt": "FAILED",
      "ok.txt": "SUCCESS",
    });
  } finally {
    await fx.close();
  }
});

Deno.test("counts: only successes, files not in step are not unchanged", async () => {
  const fx = await transferFixture();
  try {
    await fx.write("local-only.txt", "L");
    await fx.write("same.txt", "same");
    await fx.server.putFile(fx.projectId, "same.txt", "same");
    const pull = await run(fx, { direction: "pull" });
    expect(pull.results).toEqual([]);
    expect(pull.summary.unchanged).toBe(1);
    // An upload whose file changes between the plan and the upload fails and is not counted.
    await fx.write("edited.txt", "aaaa");
    const push = await run(fx, {
      direction: "push",
      onPlan: () => Deno.writeTextFileSync(join(fx.dir, "edited.txt"), "bbbb"),
    });
    expect(outcome(push.results)).toMatchObject({ "edited.txt": "upload FAILED" });
    expect(push.summary).toMatchObject({ upload: 1, failed: 1 }); // local-only.txt only
  } finally {
    await fx.close();
  }
});

Deno.test("an upload edited between the plan and the upload is not recorded", async () => {
  const fx = await transferFixture();
  try {
    await fx.write("a.txt", "aaaa");
    const first = await run(fx, {
      direction: "sync",
      onPlan: () => Deno.writeTextFileSync(join(fx.dir, "a.txt"), "bbbb"),
    });
    expect(outcome(first.results)).toEqual({ "a.txt": "upload FAILED" });
    expect(first.results[0].reason).toMatch(/changed while uploading/);
    expect(await listing(fx)).toEqual({});
    // Not recorded: the next run uploads the bytes on disk.
    const second = await run(fx, { direction: "sync" });
    expect(outcome(second.results)).toEqual({ "a.txt": "upload SUCCESS" });
    expect((await listing(fx))["a.txt"]).toBe(etagOfBytes(encode("bbbb")));
  } finally {
    await fx.close();
  }
});

Deno.test("a same-size cloud change between the listing and the download is not recorded under the listed etag", async () => {
  const fx = await transferFixture();
  try {
    await fx.server.putFile(fx.projectId, "a.txt", "aaaa");
    const first = await run(fx, {
      direction: "pull",
      verify: "size", // ignored: sync always checks the etag
      onPlan: () => void fx.server.putFile(fx.projectId, "a.txt", "bbbb"),
    } as SyncOptions);
    expect(outcome(first.results)).toEqual({ "a.txt": "download FAILED" });
    await expect(Deno.stat(join(fx.dir, "a.txt"))).rejects.toThrow(Deno.errors.NotFound);
    const second = await run(fx, { direction: "pull" });
    expect(outcome(second.results)).toEqual({ "a.txt": "download SUCCESS" });
    expect(await Deno.readTextFile(join(fx.dir, "a.txt"))).toBe("bbbb");
    expect((await run(fx, { direction: "sync" })).results).toEqual([]);
  } finally {
    await fx.close();
  }
});

Deno.test("the mass-deletion guard: more than 10 and more than half, on either side", async (t) => {
  const setUp = async (files: number) => {
    const fx = await transferFixture();
    for (let i = 0; i < files; i++) await fx.write(`f${String(i).padStart(2, "0")}.txt`, `f${i}`);
    await run(fx, { direction: "sync" });
    return fx;
  };
  const removeLocal = async (fx: TransferFixture, n: number) => {
    for (let i = 0; i < n; i++) {
      await Deno.remove(join(fx.dir, `f${String(i).padStart(2, "0")}.txt`));
    }
  };
  await t.step("10 of 12 deletions go ahead, 11 of 12 stop", async () => {
    const fx = await setUp(12);
    try {
      await removeLocal(fx, 10);
      expect((await run(fx, { direction: "sync", dryRun: true })).summary.delete_remote).toBe(10);
      await removeLocal(fx, 0);
      await Deno.remove(join(fx.dir, "f10.txt"));
      const error = await run(fx, { direction: "sync" }).catch((e) => e);
      expect(error).toBeInstanceOf(QfcMassDeletionException);
      expect(error.massDeletion).toEqual({ side: "cloud", deletions: 11, files: 12 });
      expect(Object.keys(await listing(fx)).length).toBe(12);
    } finally {
      await fx.close();
    }
  });
  await t.step("exactly half goes ahead", async () => {
    const fx = await setUp(24);
    try {
      await removeLocal(fx, 12);
      const report = await run(fx, { direction: "sync" });
      expect(report.summary.delete_remote).toBe(12);
    } finally {
      await fx.close();
    }
  });
  await t.step("the local side: pull --delete", async () => {
    const fx = await setUp(20);
    try {
      for (let i = 0; i < 15; i++) {
        await deleteFile(fx.core, fx.projectId, `f${String(i).padStart(2, "0")}.txt`);
      }
      const error = await run(fx, { direction: "pull", delete: true }).catch((e) => e);
      expect(error).toBeInstanceOf(QfcMassDeletionException);
      expect(error.massDeletion).toEqual({ side: "local", deletions: 15, files: 20 });
      expect(error.message).toMatch(/deletes 15 of the 20 files in the folder/);
      expect([...Deno.readDirSync(fx.dir)].filter((e) => e.isFile).length).toBe(20);
    } finally {
      await fx.close();
    }
  });
});

Deno.test("GeoPackages: the guard stops before any checkpoint, and a dry run checkpoints nothing", async () => {
  const fx = await transferFixture();
  const path = join(fx.dir, "data.gpkg");
  const qgis = openWalDatabase(path, 5);
  try {
    for (let i = 0; i < 20; i++) await fx.write(`f${i}.txt`, `f${i}`);
    await run(fx, { direction: "sync" });
    qgis.prepare("INSERT INTO trees (name) VALUES (?)").run("late");
    const before = [await Deno.readFile(path), await Deno.readFile(`${path}-wal`)];
    const dry = await run(fx, { direction: "sync", dryRun: true });
    expect(outcome(dry.results)).toEqual({ "data.gpkg": "upload PENDING" });
    expect(dry.summary.upload).toBe(1);
    expect([await Deno.readFile(path), await Deno.readFile(`${path}-wal`)]).toEqual(before);
    for (let i = 0; i < 15; i++) await Deno.remove(join(fx.dir, `f${i}.txt`));
    const error = await run(fx, { direction: "sync" }).catch((e) => e);
    expect(error).toBeInstanceOf(QfcMassDeletionException);
    expect([await Deno.readFile(path), await Deno.readFile(`${path}-wal`)]).toEqual(before);
    expect(await walHasFrames(path)).toBe(true);
  } finally {
    qgis.close();
    await fx.close();
  }
});

Deno.test("a file the server stored but the state never recorded is recorded, not uploaded again", async () => {
  const fx = await transferFixture();
  try {
    await fx.write("a.txt", "a");
    await run(fx, { direction: "sync" });
    // As if a run was killed after the server stored b.txt and before it was recorded.
    await uploadFile(fx.core, fx.projectId, await fx.write("b.txt", "b"), "b.txt");
    const report = await run(fx, { direction: "sync" });
    expect(report.results).toEqual([]);
    expect(report.summary.unchanged).toBe(2);
    expect(versions(fx, "b.txt")).toBe(1);
    // Recorded: deleting it locally now deletes it on the cloud.
    await Deno.remove(join(fx.dir, "b.txt"));
    const again = await run(fx, { direction: "sync" });
    expect(outcome(again.results)).toEqual({ "b.txt": "delete_remote SUCCESS" });
  } finally {
    await fx.close();
  }
});

Deno.test("syncProject() given a file as LOCAL_DIR: one clear error, no request, no lock", async () => {
  const fx = await transferFixture();
  try {
    const file = await fx.write("a.txt", "a");
    fx.server.clearRequests();
    for (const dryRun of [false, true]) {
      const error = await syncProject(fx.core, fx.projectId, file, { direction: "pull", dryRun })
        .catch((e) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe(
        `Cannot sync "${file}", which is not a folder: give a folder (created if missing)`,
      );
    }
    expect(fx.server.requests).toEqual([]);
  } finally {
    await fx.close();
  }
});
