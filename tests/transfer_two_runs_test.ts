/**
 * Two download runs into one folder at the same moment (a cron job overlapping a manual run):
 * no file may end up with wrong bytes under its final name.
 */
import { expect } from "expect";
import { basename, join } from "node:path";
import { downloadProject, etagOfBytes, RequestCore } from "../mod.ts";
import { claimPartial, partialPrefix } from "../src/transfer/partial_file.ts";
import { startTestServer } from "../testing/mod.ts";
import { runCliProcess } from "./cli_harness.ts";
import { bytesOf, sameBytes } from "./fixtures/bytes.ts";
import { deadPid } from "./fixtures/dead_pid.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

Deno.test("two download-files runs into one folder never leave wrong bytes", async (t) => {
  await using server = await startTestServer({
    users: [{ username: "u1", password: "pw" }],
    quiet: true,
  });
  const { id } = server.addProject({ name: "p", owner: "u1" });
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < 100; i++) files.set(`small/f${i}.bin`, bytesOf(64 * KiB, i + 1));
  files.set("big.tif", bytesOf(20 * MiB, 1000));
  for (const [name, bytes] of files) await server.putFile(id, name, bytes);
  const env = { QFIELDCLOUD_URL: server.url, QFIELDCLOUD_TOKEN: server.createToken("u1") };

  /** Leaves the first 8 MiB of the big file as a run killed mid-download would: both runs want it. */
  const seedAbandonedPartial = async (dir: string) => {
    const target = join(dir, "big.tif");
    const prefix = partialPrefix(target, etagOfBytes(files.get("big.tif")!));
    const scratch = await claimPartial(dir, prefix, []);
    scratch.release();
    const name = basename(scratch.path).replace(`.${Deno.pid}-`, `.${await deadPid()}-`);
    await Deno.writeFile(join(dir, name), files.get("big.tif")!.subarray(0, 8 * MiB));
  };
  const partialsLeft = async (dir: string) => {
    const left: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.endsWith(".part")) left.push(entry.name);
    }
    return left;
  };

  for (let trial = 1; trial <= 3; trial++) {
    await t.step(`trial ${trial}: two CLI processes both succeed, every file right`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "qfc-two-runs-" });
      try {
        if (trial > 1) await seedAbandonedPartial(dir);
        server.clearRequests();
        const runs = await Promise.all(
          [1, 2].map(() => runCliProcess(["--json", "download-files", id, dir], { env })),
        );
        expect(await wrongFiles(dir)).toEqual([]);
        for (const run of runs) {
          expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
        }
        for (const [name] of files) await Deno.stat(join(dir, name));
        expect(await partialsLeft(dir)).toEqual([]);
        // The abandoned partial was resumed by exactly one run; the other started its own.
        expect(resumes()).toEqual(trial > 1 ? ["bytes=8388608-"] : []);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }

  await t.step("two library calls in one process, with an abandoned partial", async () => {
    const dir = await Deno.makeTempDir({ prefix: "qfc-two-runs-" });
    try {
      await seedAbandonedPartial(dir);
      server.clearRequests();
      const cores = [1, 2].map(() =>
        new RequestCore({ url: server.url, token: env.QFIELDCLOUD_TOKEN })
      );
      const results = await Promise.all(cores.map((core) => downloadProject(core, id, dir)));
      for (const run of results) expect(run).toHaveLength(files.size);
      for (const r of results.flat()) expect(r.status).not.toBe("FAILED");
      for (const [name] of files) await Deno.stat(join(dir, name));
      expect(await wrongFiles(dir)).toEqual([]);
      expect(await partialsLeft(dir)).toEqual([]);
      expect(resumes()).toEqual(["bytes=8388608-"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  function resumes() {
    return server.requests.filter((r) => r.path.includes("big.tif") && r.headers.has("range"))
      .map((r) => r.headers.get("range"));
  }

  async function wrongFiles(dir: string) {
    const wrong: string[] = [];
    for (const [name, bytes] of files) {
      const got = await Deno.readFile(join(dir, name)).catch(() => undefined);
      if (got !== undefined && !sameBytes(got, bytes)) wrong.push(name);
    }
    return wrong;
  }
});
