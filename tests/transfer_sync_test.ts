import { expect } from "expect";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { openWalDatabase } from "./fixtures/wal_database.ts";
import {
  deleteFile,
  downloadFile,
  etagOfBytes,
  planSync,
  type SyncOptions,
  syncProject,
} from "../mod.ts";
import { QfcMassDeletionException } from "../src/transfer/sync_mass_deletion.ts";
import { QfcFolderBoundException } from "../src/transfer/sync_state.ts";
import { encode, listing, outcome, run, tree, versions } from "./fixtures/sync_helpers.ts";
import { type TransferFixture, transferFixture } from "./fixtures/transfer_setup.ts";

/**
 * A folder and project in step (first sync done), then one file per row of the decision
 * table changed on the side(s) that row names.
 */
async function tableScenario(fx: TransferFixture) {
  for (
    const name of ["same", "lchg", "ldel", "rchg", "rdel", "both", "conf", "lchg_rdel", "ldel_rchg"]
  ) {
    await fx.write(`${name}.txt`, `${name} v1`);
  }
  await run(fx, { direction: "sync" });
  await fx.write("lchg.txt", "lchg v2 local");
  await Deno.remove(join(fx.dir, "ldel.txt"));
  await fx.server.putFile(fx.projectId, "rchg.txt", "rchg v2 cloud");
  await deleteFile(fx.core, fx.projectId, "rdel.txt");
  await fx.write("both.txt", "both v2 same");
  await fx.server.putFile(fx.projectId, "both.txt", "both v2 same");
  await fx.write("conf.txt", "conf v2 local");
  await fx.server.putFile(fx.projectId, "conf.txt", "conf v2 cloud!");
  await fx.write("lchg_rdel.txt", "lchg_rdel v2 local");
  await deleteFile(fx.core, fx.projectId, "lchg_rdel.txt");
  await Deno.remove(join(fx.dir, "ldel_rchg.txt"));
  await fx.server.putFile(fx.projectId, "ldel_rchg.txt", "ldel_rchg v2 cloud");
  await fx.write("newlocal.txt", "new local");
  await fx.server.putFile(fx.projectId, "newcloud.txt", "new cloud");
}

Deno.test("the first run copies one-sided files its way, records equal ones, and leaves different ones", async (t) => {
  const expected = {
    sync: { "local-only.txt": "upload SUCCESS", "cloud-only.txt": "download SUCCESS" },
    pull: { "cloud-only.txt": "download SUCCESS" },
    push: { "local-only.txt": "upload SUCCESS" },
  };
  for (const direction of ["sync", "pull", "push"] as const) {
    await t.step(direction, async () => {
      const fx = await transferFixture();
      try {
        await fx.write("local-only.txt", "L");
        await fx.write("same.txt", "same");
        await fx.write("differs.txt", "local");
        await fx.server.putFile(fx.projectId, "cloud-only.txt", "C");
        await fx.server.putFile(fx.projectId, "same.txt", "same");
        await fx.server.putFile(fx.projectId, "differs.txt", "cloud");
        const report = await run(fx, { direction });
        expect(outcome(report.results)).toEqual({
          ...expected[direction],
          "differs.txt": "conflict! SKIPPED",
        });
        expect(report.summary).toEqual({
          upload: direction === "pull" ? 0 : 1,
          download: direction === "push" ? 0 : 1,
          delete_remote: 0,
          delete_local: 0,
          conflicts: 1,
          resolved_conflicts: 0,
          failed: 0,
          unchanged: 1,
        });
        expect(report.results.find((r) => r.name === "differs.txt")!.reason).toMatch(
          /^different on both sides, never synced \(local 5 B at .*; cloud 5 B at .*\)$/,
        );
        const local = await tree(fx.dir, false);
        const remote = await listing(fx);
        expect(local["differs.txt"]).toBe("local");
        expect(remote["differs.txt"]).toBe(etagOfBytes(encode("cloud")));
        expect(local["same.txt"]).toBe("same");
        expect("cloud-only.txt" in local).toBe(direction !== "push");
        expect("local-only.txt" in remote).toBe(direction !== "pull");
        if (direction !== "push") expect(local["cloud-only.txt"]).toBe("C");
        if (direction !== "pull") expect(remote["local-only.txt"]).toBe(etagOfBytes(encode("L")));
        // A second run finds everything in step but the conflict (and what it does not copy).
        const again = await run(fx, { direction });
        expect(outcome(again.results)).toEqual({ "differs.txt": "conflict! SKIPPED" });
        expect(again.summary.unchanged).toBe(direction === "sync" ? 3 : 2);
      } finally {
        await fx.close();
      }
    });
  }
});

Deno.test("sync, pull and push: each row of the decision table after a previous sync", async (t) => {
  const cases: { name: string; options: SyncOptions; expected: Record<string, string> }[] = [
    {
      name: "sync",
      options: { direction: "sync" },
      expected: {
        "lchg.txt": "upload SUCCESS",
        "ldel.txt": "delete_remote SUCCESS",
        "rchg.txt": "download SUCCESS",
        "rdel.txt": "delete_local SUCCESS",
        "conf.txt": "conflict! SKIPPED",
        "lchg_rdel.txt": "conflict! SKIPPED",
        "ldel_rchg.txt": "conflict! SKIPPED",
        "newlocal.txt": "upload SUCCESS",
        "newcloud.txt": "download SUCCESS",
      },
    },
    {
      name: "pull",
      options: { direction: "pull" },
      expected: {
        "rchg.txt": "download SUCCESS",
        "conf.txt": "conflict! SKIPPED",
        "ldel_rchg.txt": "download SUCCESS",
        "newcloud.txt": "download SUCCESS",
      },
    },
    {
      name: "pull --delete",
      options: { direction: "pull", delete: true },
      expected: {
        "rchg.txt": "download SUCCESS",
        "rdel.txt": "delete_local SUCCESS",
        "conf.txt": "conflict! SKIPPED",
        "lchg_rdel.txt": "conflict! SKIPPED",
        "ldel_rchg.txt": "download SUCCESS",
        "newcloud.txt": "download SUCCESS",
      },
    },
    {
      name: "push",
      options: { direction: "push" },
      expected: {
        "lchg.txt": "upload SUCCESS",
        "conf.txt": "conflict! SKIPPED",
        "lchg_rdel.txt": "upload SUCCESS",
        "newlocal.txt": "upload SUCCESS",
      },
    },
    {
      name: "push --delete",
      options: { direction: "push", delete: true },
      expected: {
        "lchg.txt": "upload SUCCESS",
        "ldel.txt": "delete_remote SUCCESS",
        "conf.txt": "conflict! SKIPPED",
        "lchg_rdel.txt": "upload SUCCESS",
        "ldel_rchg.txt": "conflict! SKIPPED",
        "newlocal.txt": "upload SUCCESS",
      },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const fx = await transferFixture();
      try {
        await tableScenario(fx);
        const report = await run(fx, c.options);
        expect(outcome(report.results)).toEqual(c.expected);
        // Both sides agree on every file the run transferred, and the state knows it:
        // the same command again finds nothing but the conflicts left alone.
        const again = await run(fx, c.options);
        const left = Object.fromEntries(
          Object.entries(c.expected).filter(([, v]) => v.startsWith("conflict")),
        );
        expect(outcome(again.results)).toEqual(left);
        const local = await tree(fx.dir, false);
        const remote = await listing(fx);
        for (const [name, what] of Object.entries(c.expected)) {
          if (what.startsWith("upload") || what.startsWith("download")) {
            expect(etagOfBytes(encode(local[name]))).toBe(remote[name]);
          }
          if (what.startsWith("delete")) {
            expect([name in local, name in remote]).toEqual([false, false]);
          }
        }
        // The row "changed on both sides to the same bytes" is never transferred.
        expect(versions(fx, "both.txt")).toBe(2);
      } finally {
        await fx.close();
      }
    });
  }
});

Deno.test("sync: a local file deleted because the cloud deleted it goes to the backups folder", async () => {
  const fx = await transferFixture();
  try {
    await tableScenario(fx);
    await run(fx, { direction: "sync" });
    const backups = Object.entries(await tree(join(fx.dir, ".qfieldcloud", "backups")));
    expect(backups.map(([path, text]) => [path.replace(/^[^/]+\//, ""), text])).toEqual([
      ["rdel.txt", "rdel v1"],
    ]);
  } finally {
    await fx.close();
  }
});

Deno.test("sync --prefer cloud downloads conflicts, the local files backed up first", async () => {
  const fx = await transferFixture();
  try {
    await tableScenario(fx);
    const report = await run(fx, { direction: "sync", prefer: "cloud" });
    expect(outcome(report.results)).toMatchObject({
      "conf.txt": "download! SUCCESS",
      "lchg_rdel.txt": "delete_local! SUCCESS",
      "ldel_rchg.txt": "download! SUCCESS",
    });
    expect(report.summary.conflicts).toBe(0);
    expect(report.summary.resolved_conflicts).toBe(3);
    const local = await tree(fx.dir, false);
    expect(local["conf.txt"]).toBe("conf v2 cloud!");
    expect(local["ldel_rchg.txt"]).toBe("ldel_rchg v2 cloud");
    expect("lchg_rdel.txt" in local).toBe(false);
    const backups = await tree(join(fx.dir, ".qfieldcloud", "backups"));
    expect(Object.fromEntries(
      Object.entries(backups).map(([path, text]) => [path.replace(/^[^/]+\//, ""), text]),
    )).toEqual({
      "conf.txt": "conf v2 local",
      "lchg_rdel.txt": "lchg_rdel v2 local",
      "rdel.txt": "rdel v1",
    });
  } finally {
    await fx.close();
  }
});

Deno.test("sync --prefer local uploads conflicts; the cloud keeps the old bytes as a version", async () => {
  const fx = await transferFixture();
  try {
    await tableScenario(fx);
    const before = versions(fx, "conf.txt");
    const report = await run(fx, { direction: "sync", prefer: "local" });
    expect(outcome(report.results)).toMatchObject({
      "conf.txt": "upload! SUCCESS",
      "lchg_rdel.txt": "upload! SUCCESS",
      // Deleting a file changed on the cloud would take all its versions: left alone.
      "ldel_rchg.txt": "conflict! SKIPPED",
    });
    expect(report.results.find((r) => r.name === "conf.txt")!.reason).toContain(
      "the cloud keeps its bytes as a version",
    );
    expect(versions(fx, "conf.txt")).toBe(before + 1);
    expect((await listing(fx))["conf.txt"]).toBe(etagOfBytes(encode("conf v2 local")));
    // Nothing local was replaced: only the file the cloud deleted went to the backups.
    const backups = Object.keys(await tree(join(fx.dir, ".qfieldcloud", "backups")));
    expect(backups.map((p) => p.replace(/^[^/]+\//, ""))).toEqual(["rdel.txt"]);
  } finally {
    await fx.close();
  }
});

Deno.test("dry runs of pull, push and sync change nothing on either side", async () => {
  const fx = await transferFixture();
  try {
    await tableScenario(fx);
    const localBefore = await tree(fx.dir);
    const remoteBefore = await listing(fx);
    const requestsBefore = fx.server.requests.length;
    for (const direction of ["pull", "push", "sync"] as const) {
      for (const prefer of [undefined, "local", "cloud"] as const) {
        const report = await run(fx, { direction, prefer, delete: true, dryRun: true });
        expect(report.dryRun).toBe(true);
        expect(report.results.every((r) => r.status === "PENDING" || r.status === "SKIPPED"))
          .toBe(true);
        expect(report.results.length).toBeGreaterThan(0);
      }
    }
    const plan = await planSync(fx.core, fx.projectId, fx.dir, { direction: "sync" });
    expect(plan.actions.map((a) => `${a.kind} ${a.name}`).sort()).toEqual([
      "delete_local rdel.txt",
      "delete_remote ldel.txt",
      "download newcloud.txt",
      "download rchg.txt",
      "upload lchg.txt",
      "upload newlocal.txt",
    ]);
    expect(await tree(fx.dir)).toEqual(localBefore);
    expect(await listing(fx)).toEqual(remoteBefore);
    const writes = fx.server.requests.slice(requestsBefore).filter((r) => r.method !== "GET");
    expect(writes).toEqual([]);
  } finally {
    await fx.close();
  }
});

Deno.test("an interrupted sync, run again, converges with no file uploaded twice", async () => {
  const fx = await transferFixture();
  try {
    for (let i = 0; i < 40; i++) await fx.write(`f/${String(i).padStart(2, "0")}.txt`, `file ${i}`);
    const controller = new AbortController();
    let done = 0;
    const first = await run(fx, {
      direction: "sync",
      concurrency: 2,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === "file-end" && ++done === 10) controller.abort();
      },
    }).catch((error) => error);
    // The first run was cut short by the abort, part-way.
    expect(first).toBeInstanceOf(Error);
    expect(controller.signal.aborted).toBe(true);
    const uploadedFirst = Object.keys(await listing(fx)).length;
    expect(uploadedFirst).toBeGreaterThan(0);
    expect(uploadedFirst).toBeLessThan(40);
    // The state has a record of files the first run finished, and only of those.
    const recorded = await planSync(fx.core, fx.projectId, fx.dir, { direction: "sync" });
    expect(recorded.actions.length).toBe(40 - uploadedFirst);
    // A file stored but not yet recorded when the abort came is recorded, not uploaded again.
    expect(recorded.unchanged).toBe(uploadedFirst);
    const second = await run(fx, { direction: "sync" });
    expect(second.summary.failed).toBe(0);
    const remote = await listing(fx);
    expect(Object.keys(remote).length).toBe(40);
    for (let i = 0; i < 40; i++) {
      const name = `f/${String(i).padStart(2, "0")}.txt`;
      expect([name, versions(fx, name)]).toEqual([name, 1]);
      expect(remote[name]).toBe(etagOfBytes(encode(`file ${i}`)));
    }
    const third = await run(fx, { direction: "sync" });
    expect(third.results).toEqual([]);
    expect(third.summary.unchanged).toBe(40);
  } finally {
    await fx.close();
  }
});

Deno.test("a corrupt state means never synced, with a warning: nothing is deleted", async () => {
  const fx = await transferFixture();
  try {
    await fx.write("a.txt", "a");
    await fx.write("b.txt", "b");
    await run(fx, { direction: "sync" });
    await Deno.writeTextFile(join(fx.dir, ".qfieldcloud", "sync-state.json"), "{garbage");
    await Deno.remove(join(fx.dir, "a.txt")); // Would be a cloud delete with a state.
    await fx.server.putFile(fx.projectId, "b.txt", "b2");
    const report = await run(fx, { direction: "sync" });
    expect(report.warnings.join("\n")).toMatch(/corrupt; treating every file as never synced/);
    expect(outcome(report.results)).toEqual({
      "a.txt": "download SUCCESS",
      "b.txt": "conflict! SKIPPED",
    });
    expect(Object.keys(await listing(fx)).sort()).toEqual(["a.txt", "b.txt"]);
  } finally {
    await fx.close();
  }
});

Deno.test("a folder synced with one project is refused for another, naming both", async () => {
  const fx = await transferFixture();
  try {
    await fx.write("a.txt", "a");
    await run(fx, { direction: "push" });
    const other = fx.server.addProject({ name: "p2", owner: "u1" }).id;
    const before = await tree(fx.dir);
    const error = await syncProject(fx.core, other, fx.dir, { direction: "push" }).catch((e) => e);
    expect(error).toBeInstanceOf(QfcFolderBoundException);
    expect(error.message).toContain(`project "${fx.projectId}", not project "${other}"`);
    expect(await tree(fx.dir)).toEqual(before);
    expect(fx.server.state.projects.get(other)!.files.size).toBe(0);
  } finally {
    await fx.close();
  }
});

Deno.test(".qfieldcloudignore: ignored paths are neither transferred nor deleted, on either side", async () => {
  const fx = await transferFixture();
  try {
    await fx.write(".qfieldcloudignore", "*.tmp\nscratch/\n!keep.tmp\n");
    await fx.write("a.txt", "a");
    await fx.write("local.tmp", "local scratch");
    await fx.write("keep.tmp", "kept");
    await fx.write("scratch/notes.txt", "notes");
    await fx.server.putFile(fx.projectId, "cloud.tmp", "cloud scratch");
    await fx.server.putFile(fx.projectId, "scratch/cloud.txt", "cloud notes");
    const first = await run(fx, { direction: "sync" });
    expect(outcome(first.results)).toEqual({
      "a.txt": "upload SUCCESS",
      "keep.tmp": "upload SUCCESS",
    });
    expect(Object.keys(await listing(fx)).sort()).toEqual([
      "a.txt",
      "cloud.tmp",
      "keep.tmp",
      "scratch/cloud.txt",
    ]);
    // Deleting every local file that is not ignored deletes only those on the cloud.
    await Deno.remove(join(fx.dir, "a.txt"));
    await Deno.remove(join(fx.dir, "keep.tmp"));
    const second = await run(fx, { direction: "sync" });
    expect(outcome(second.results)).toEqual({
      "a.txt": "delete_remote SUCCESS",
      "keep.tmp": "delete_remote SUCCESS",
    });
    expect(Object.keys(await listing(fx)).sort()).toEqual(["cloud.tmp", "scratch/cloud.txt"]);
    expect(Object.keys(await tree(fx.dir, false)).sort()).toEqual([
      ".qfieldcloudignore",
      "local.tmp",
      "scratch/notes.txt",
    ]);
  } finally {
    await fx.close();
  }
});

Deno.test("the mass-deletion guard stops a plan deleting most files, before doing anything", async () => {
  const fx = await transferFixture();
  try {
    for (let i = 0; i < 20; i++) await fx.write(`f${i}.txt`, `f${i}`);
    await run(fx, { direction: "sync" });
    for (let i = 0; i < 15; i++) await Deno.remove(join(fx.dir, `f${i}.txt`));
    await fx.write("new.txt", "new");
    const error = await run(fx, { direction: "sync" }).catch((e) => e);
    expect(error).toBeInstanceOf(QfcMassDeletionException);
    expect(error.message).toMatch(/deletes 15 of the 20 files on the cloud.*--allow-mass-delete/);
    expect(Object.keys(await listing(fx)).length).toBe(20);
    // Ten deletions or fewer never trip it.
    const plan = await planSync(fx.core, fx.projectId, fx.dir, {
      direction: "sync",
      filter: ["f1*.txt", "new.txt"],
    });
    expect(plan.massDeletion).toBeUndefined();
    const allowed = await run(fx, { direction: "sync", allowMassDelete: true });
    expect(allowed.summary.delete_remote).toBe(15);
    expect(allowed.summary.upload).toBe(1);
  } finally {
    await fx.close();
  }
});

Deno.test("a GeoPackage with -wal frames is checkpointed before it is uploaded; busy, it fails", async (t) => {
  const fx = await transferFixture();
  const path = join(fx.dir, "data.gpkg");
  const qgis = openWalDatabase(path, 20);
  /** The rows of the cloud's copy, read from its bytes alone. */
  const cloudRows = async () => {
    const copy = join(fx.dir, ".qfieldcloud", "cloud-copy.gpkg");
    await downloadFile(fx.core, fx.projectId, "data.gpkg", copy, { forceDownload: true });
    const db = new DatabaseSync(copy);
    try {
      return (db.prepare("SELECT count(*) AS n FROM trees").get() as { n: number }).n;
    } finally {
      db.close();
      await Deno.remove(copy);
    }
  };
  try {
    await t.step("the first push carries the rows QGIS keeps in the -wal", async () => {
      const report = await run(fx, { direction: "push" });
      expect(outcome(report.results)).toEqual({ "data.gpkg": "upload SUCCESS" });
      expect(await cloudRows()).toBe(20);
    });
    await t.step("new frames count as a local change, in a plan that touches nothing", async () => {
      const insert = qgis.prepare("INSERT INTO trees (name) VALUES (?)");
      for (let i = 0; i < 5; i++) insert.run(`late ${i}`);
      const before = await Deno.readFile(path);
      const plan = await planSync(fx.core, fx.projectId, fx.dir, { direction: "push" });
      expect(plan.actions.map((a) => `${a.kind} ${a.name}`)).toEqual(["upload data.gpkg"]);
      expect(await Deno.readFile(path)).toEqual(before);
      const pull = await planSync(fx.core, fx.projectId, fx.dir, { direction: "pull" });
      expect(pull.actions).toEqual([]);
    });
    await t.step(
      "a busy database fails with what to do, and nothing stale is uploaded",
      async () => {
        const reader = new DatabaseSync(path);
        reader.exec("PRAGMA busy_timeout = 0");
        reader.exec("BEGIN");
        reader.prepare("SELECT count(*) FROM trees").get();
        try {
          const report = await run(fx, { direction: "push" });
          expect(outcome(report.results)).toEqual({ "data.gpkg": "upload FAILED" });
          expect(report.results[0].reason).toMatch(/is in use.*close the layer/);
          expect(versions(fx, "data.gpkg")).toBe(1);
        } finally {
          reader.exec("ROLLBACK");
          reader.close();
        }
      },
    );
    await t.step("once free, the next push uploads the checkpointed file", async () => {
      const report = await run(fx, { direction: "push" });
      expect(outcome(report.results)).toEqual({ "data.gpkg": "upload SUCCESS" });
      expect(await cloudRows()).toBe(25);
    });
  } finally {
    qgis.close();
    await fx.close();
  }
});

Deno.test("a push that uploads new and changed files lists the project once", async () => {
  const fx = await transferFixture();
  try {
    await fx.write("kept.txt", "v1");
    await run(fx, { direction: "push" });
    await fx.write("kept.txt", "v2, longer");
    await fx.write("new.txt", "new");
    const before = fx.server.requests.length;
    const report = await run(fx, { direction: "push" });
    expect(report.results.filter((r) => r.status === "SUCCESS").map((r) => r.name).sort())
      .toEqual(["kept.txt", "new.txt"]);
    const sent = fx.server.requests.slice(before);
    const listings = sent.filter((r) =>
      r.method === "GET" && /^\/api\/v1\/files\/[^/]+\/$/.test(r.path)
    );
    expect(listings).toHaveLength(1);
    expect(sent.filter((r) => r.method === "POST")).toHaveLength(2);
  } finally {
    await fx.close();
  }
});
