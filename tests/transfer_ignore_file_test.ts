import { expect } from "expect";
import { join } from "node:path";
import { deleteFiles, downloadProject, loadIgnoreRules, uploadFiles } from "../mod.ts";
import { transferFixture } from "./fixtures/transfer_setup.ts";

Deno.test("upload-files, download-files and delete-files honor .qfieldcloudignore", async (t) => {
  const fx = await transferFixture();
  try {
    await fx.write(".qfieldcloudignore", "*.tmp\nscratch/\n");
    await t.step("uploadFiles leaves ignored local paths out", async () => {
      await fx.write("a.txt", "a");
      await fx.write("b.tmp", "b");
      await fx.write("scratch/c.txt", "c");
      const results = await uploadFiles(fx.core, fx.projectId, fx.dir);
      expect(results.map((r) => r.name)).toEqual(["a.txt"]);
    });
    await t.step("downloadProject leaves ignored cloud files alone", async () => {
      await fx.server.putFile(fx.projectId, "cloud.tmp", "x");
      await fx.server.putFile(fx.projectId, "scratch/d.txt", "y");
      await fx.server.putFile(fx.projectId, "e.txt", "e");
      const results = await downloadProject(fx.core, fx.projectId, fx.dir);
      expect(results.map((r) => `${r.name} ${r.status}`).sort()).toEqual([
        "a.txt SKIPPED",
        "e.txt SUCCESS",
      ]);
      await expect(Deno.stat(join(fx.dir, "cloud.tmp"))).rejects.toThrow();
    });
    await t.step("deleteFiles with the folder's rules skips the ignored matches", async () => {
      const results = await deleteFiles(fx.core, fx.projectId, ["*"], {
        ignore: await loadIgnoreRules(fx.dir),
      });
      expect(results.map((r) => `${r.name} ${r.status} ${r.reason ?? ""}`.trim()).sort()).toEqual([
        "a.txt SUCCESS",
        "cloud.tmp SKIPPED Ignored by .qfieldcloudignore",
        "e.txt SUCCESS",
        "scratch/d.txt SKIPPED Ignored by .qfieldcloudignore",
      ]);
    });
  } finally {
    await fx.close();
  }
});
