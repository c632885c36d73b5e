/**
 * Nothing wrong under a final name: a server that changes a byte, a body that stalls, a file
 * that changes while it is uploaded. Each case is played against the test server's faults.
 */
import { expect } from "expect";
import { join } from "node:path";
import { downloadProject, etagOfBytes, uploadFiles } from "../mod.ts";
import { executePlan } from "../src/transfer/executor.ts";
import type { TransferPlan } from "../src/transfer/plan.ts";
import type { TransferResult } from "../src/transfer/types.ts";
import { bytesOf, sameBytes } from "./fixtures/bytes.ts";
import { transferFixture } from "./fixtures/transfer_setup.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

async function hiddenFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".")) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

const statusOf = (results: TransferResult[]) =>
  Object.fromEntries(results.map((r) => [r.name, r.status]));

Deno.test("a server that changes one byte: retried, then FAILED, never put in place", async (t) => {
  const f = await transferFixture();
  try {
    const big = bytesOf(33 * MiB, 7);
    await f.server.putFile(f.projectId, "big.tif", big);
    const small = bytesOf(64 * KiB, 8);
    await f.server.putFile(f.projectId, "small.csv", small);
    const gets = (name: string) =>
      f.server.requests.filter((r) => r.method === "GET" && r.path.includes(name)).length;

    await t.step("a file of 33 MiB with a changed byte is fetched again and right", async () => {
      const out = join(f.dir, "once");
      f.server.clearRequests();
      f.server.injectFault({ path: /big\.tif/, corruptByteAt: 20 * MiB + 3 });
      const results = await downloadProject(f.core, f.projectId, out);
      expect(statusOf(results)).toEqual({ "big.tif": "SUCCESS", "small.csv": "SUCCESS" });
      expect(sameBytes(await Deno.readFile(join(out, "big.tif")), big)).toBe(true);
      expect(gets("big.tif")).toBe(2);
      expect(await hiddenFiles(out)).toEqual([]);
    });

    await t.step("changed on every try: FAILED after the tries, the old file kept", async () => {
      const out = join(f.dir, "always");
      await Deno.mkdir(out);
      await Deno.writeTextFile(join(out, "big.tif"), "the local copy");
      f.server.clearRequests();
      f.server.injectFault({ path: /big\.tif/, corruptByteAt: 30 * MiB, times: 100 });
      const results = await downloadProject(f.core, f.projectId, out, {
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
      });
      const failed = results.find((r) => r.name === "big.tif")!;
      expect(failed.status).toBe("FAILED");
      expect(failed.reason).toMatch(/etag "[0-9a-f]{32}-5" but "[0-9a-f]{32}-5" was expected/);
      expect(gets("big.tif")).toBe(3);
      expect(await Deno.readTextFile(join(out, "big.tif"))).toBe("the local copy");
      expect(await hiddenFiles(out)).toEqual([]);
    });

    await t.step(
      'verify: "size" is the explicit opt-out: the changed byte gets through',
      async () => {
        const out = join(f.dir, "size");
        f.server.injectFault({ path: /small\.csv/, corruptByteAt: 1000 });
        const results = await downloadProject(f.core, f.projectId, out, {
          verify: "size",
          filter: "small.csv",
        });
        expect(statusOf(results)).toEqual({ "small.csv": "SUCCESS" });
        expect(sameBytes(await Deno.readFile(join(out, "small.csv")), small)).toBe(false);
      },
    );
  } finally {
    await f.close();
  }
});

Deno.test("20% of bodies with a changed byte: every file in place is right", async () => {
  const f = await transferFixture();
  try {
    const files = new Map<string, Uint8Array>();
    for (let i = 0; i < 40; i++) files.set(`f${i}.bin`, bytesOf(64 * KiB, 100 + i));
    files.set("big.gpkg", bytesOf(33 * MiB, 99));
    for (const [name, bytes] of files) await f.server.putFile(f.projectId, name, bytes);
    f.server.injectFault({
      method: "GET",
      path: /\/files\/[^/]+\/.+/,
      corruptByteAt: 5000,
      probability: 0.2,
      times: 1000,
    });
    const out = join(f.dir, "out");
    const results = await downloadProject(f.core, f.projectId, out);
    expect(results.map((r) => r.name).sort()).toEqual([...files.keys()].sort());
    // Some 200 bodies are read (retries included), about 40 of them changed: each mismatch was
    // caught and retried, so a file fails only after four changed bodies in a row.
    expect(results.filter((r) => r.status === "FAILED").length).toBeLessThanOrEqual(2);
    for (const result of results) {
      const bytes = await Deno.readFile(join(out, result.name)).catch(() => undefined);
      if (result.status === "SUCCESS") {
        expect(sameBytes(bytes!, files.get(result.name)!)).toBe(true);
      } else {
        // Four changed bodies in a row (one chance in 625): reported, and nothing put in place.
        expect(result.status).toBe("FAILED");
        expect(bytes).toBeUndefined();
      }
    }
    expect(await hiddenFiles(out)).toEqual([]);
  } finally {
    await f.close();
  }
});

Deno.test("a stalled body is given up after the idle timeout and resumed with Range", async (t) => {
  const f = await transferFixture();
  try {
    const content = bytesOf(5 * MiB, 3);
    await f.server.putFile(f.projectId, "data.gpkg", content);
    const ranges = () =>
      f.server.requests.filter((r) => r.path.includes("data.gpkg"))
        .map((r) => r.headers.get("range"));

    await t.step("one stall: the download resumes where it stopped and finishes", async () => {
      const out = join(f.dir, "once");
      f.server.clearRequests();
      f.server.injectFault({ path: /data\.gpkg/, stallAfterBytes: MiB });
      const [result] = await downloadProject(f.core, f.projectId, out, { idleTimeoutMs: 1000 });
      expect(result.status).toBe("SUCCESS");
      expect(sameBytes(await Deno.readFile(join(out, "data.gpkg")), content)).toBe(true);
      // (A pause of the loaded machine longer than the timeout would add a resume: allowed.)
      expect(ranges().slice(0, 2)).toEqual([null, `bytes=${MiB}-`]);
      expect(await hiddenFiles(out)).toEqual([]);
    });

    await t.step("stalls on every try: FAILED naming the stall; the next run resumes", async () => {
      const out = join(f.dir, "always");
      f.server.clearRequests();
      f.server.injectFault({ path: /data\.gpkg/, stallAfterBytes: MiB, times: 2 });
      const [failed] = await downloadProject(f.core, f.projectId, out, {
        idleTimeoutMs: 1000,
        retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      });
      expect(failed.status).toBe("FAILED");
      expect(failed.reason).toMatch(/no data received for 1 s/);
      await expect(Deno.stat(join(out, "data.gpkg"))).rejects.toThrow(Deno.errors.NotFound);
      // The bytes received are kept, and the next run starts from them.
      f.server.clearRequests();
      const [again] = await downloadProject(f.core, f.projectId, out);
      expect(again.status).toBe("SUCCESS");
      expect(sameBytes(await Deno.readFile(join(out, "data.gpkg")), content)).toBe(true);
      expect(ranges()[0]).toMatch(/^bytes=[1-9]\d*-$/);
    });

    await t.step("an idle timeout that is not a positive number is refused", async () => {
      await expect(downloadProject(f.core, f.projectId, join(f.dir, "bad"), { idleTimeoutMs: 0 }))
        .rejects.toThrow(RangeError);
    });
  } finally {
    await f.close();
  }
});

Deno.test("a file overwritten while it is uploaded: FAILED, the cloud keeps no mix", async (t) => {
  const f = await transferFixture();
  try {
    const original = bytesOf(32 * MiB, 5);
    const src = join(f.dir, "src");
    await Deno.mkdir(src);
    const path = join(src, "data.gpkg");
    /** Overwrites 1 MiB behind the upload's position and 1 MiB ahead of it, in place. */
    const overwriteAt = (position: number) => {
      const file = Deno.openSync(path, { write: true });
      try {
        for (const at of [position - 4 * MiB, position + 8 * MiB]) {
          file.seekSync(at, Deno.SeekMode.Start);
          file.writeSync(new Uint8Array(MiB).fill(0xee));
        }
      } finally {
        file.close();
      }
    };
    const uploadOf = (etag: string): TransferPlan => ({
      actions: [{
        kind: "upload",
        name: "data.gpkg",
        localPath: path,
        size: original.byteLength,
        etag,
        reason: "changed locally",
      }],
      settled: [],
    });
    const storedEtag = () =>
      f.server.state.projects.get(f.projectId)!.files.get("data.gpkg")?.versions.at(-1)?.etag;

    for (const planned of [false, true]) {
      await t.step(
        planned
          ? "with the etag the plan decided on (executePlan): onSettled gets FAILED"
          : "uploadFiles, no etag known: caught by the file's size and time",
        async () => {
          await Deno.writeFile(path, original);
          const before = storedEtag();
          let overwritten = false;
          const onProgress = (e: { type: string; fileBytes: number }) => {
            // From the stream that reads the file: the overwrite lands between two reads.
            if (e.type === "file-bytes" && !overwritten && e.fileBytes >= 16 * MiB) {
              overwritten = true;
              overwriteAt(e.fileBytes);
              // A clock coarser than the writes must not hide them (the etag check does not
              // need this; the size-and-time check does).
              if (!planned) Deno.utimeSync(path, new Date(Date.now() + 5000), new Date());
            }
          };
          let results: TransferResult[];
          const settled: [string, string][] = [];
          if (planned) {
            results = await executePlan(f.core, f.projectId, uploadOf(etagOfBytes(original)), {
              onProgress,
              onSettled: (a, r) => {
                settled.push([a.name, r.status]);
              },
            });
            expect(settled).toEqual([["data.gpkg", "FAILED"]]);
          } else {
            results = await uploadFiles(f.core, f.projectId, src, { onProgress, force: true });
          }
          expect(overwritten).toBe(true);
          expect(results.map((r) => [r.name, r.status])).toEqual([["data.gpkg", "FAILED"]]);
          expect(results[0].reason).toBe(`File "${path}" changed while uploading: run again`);
          // The server stored nothing: no mix of old and new bytes, no new version.
          expect(storedEtag()).toBe(before);
          // Sent once: a changed file is not sent again within the run.
          const posts = f.server.requests.filter((r) => r.method === "POST");
          expect(posts.length).toBe(1);
          f.server.clearRequests();
        },
      );
    }

    await t.step(
      "changed after the plan, before the upload: FAILED, nothing sent whole",
      async () => {
        await Deno.writeFile(path, original);
        const before = storedEtag();
        const stale = uploadOf(etagOfBytes(new Uint8Array([1, 2, 3])));
        const [result] = await executePlan(f.core, f.projectId, stale);
        expect(result.status).toBe("FAILED");
        expect(result.reason).toMatch(/changed while uploading: run again/);
        expect(storedEtag()).toBe(before);
      },
    );

    await t.step("unchanged: uploaded, and the stored etag is the planned one", async () => {
      await Deno.writeFile(path, original);
      const [result] = await executePlan(f.core, f.projectId, uploadOf(etagOfBytes(original)));
      expect(result.status).toBe("SUCCESS");
      expect(storedEtag()).toBe(etagOfBytes(original));
    });
  } finally {
    await f.close();
  }
});
