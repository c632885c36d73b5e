import { expect } from "expect";
import { join } from "node:path";
import { etagOfBytes } from "../src/transfer/etag.ts";
import { executePlan } from "../src/transfer/executor.ts";
import type { TransferPlan } from "../src/transfer/plan.ts";
import { uploadFile, uploadFiles } from "../src/transfer/upload.ts";
import type { FaultSpec } from "../testing/mod.ts";
import { type TransferFixture, transferFixture } from "./fixtures/transfer_setup.ts";

const FILES = 40;
const POST_FILES = /^\/api\/v1\/files\//;

/** A mix of the faults a proxy in front of the app produces, one request each. */
const FAULTS: FaultSpec[] = [
  { status: 502 }, // the proxy could not reach the app: nothing stored
  { status: 503, afterHandling: true }, // the app stored the file, the proxy had given up
  { dropConnection: true }, // a reset before the request was handled
  { truncateAfterBytes: 1 }, // stored, the answer cut off
  { status: 502, afterHandling: true },
  { dropConnection: true, afterHandling: true }, // stored, then a reset
  { status: 503 },
  { status: 504, afterHandling: true },
];

function contentOf(i: number, round: number): string {
  return `file ${i}, round ${round}: ${"x".repeat(100 + i * 37)}`;
}

Deno.test("a test-server fault with afterHandling stores the upload, then answers the error", async () => {
  const f = await transferFixture();
  try {
    await f.write("one/a.txt", "stored anyway");
    f.server.injectFault({ method: "POST", path: POST_FILES, status: 502, afterHandling: true });
    const results = await uploadFiles(f.core, f.projectId, join(f.dir, "one"), {
      retry: { attempts: 1 },
    });
    expect(results[0].status).toBe("FAILED");
    expect(results[0].reason).toMatch(/502/);
    const file = f.server.state.projects.get(f.projectId)!.files.get("a.txt")!;
    expect(file.versions.length).toBe(1);
  } finally {
    await f.close();
  }
});

Deno.test("uploads under 502/503 before or after storing, resets and cut-off answers: every file right, no extra version", async (t) => {
  const f = await transferFixture();
  try {
    const dir = join(f.dir, "faults");
    const versionsOf = (name: string) =>
      f.server.state.projects.get(f.projectId)!.files.get(name)?.versions.length ?? 0;
    for (const round of [1, 2]) {
      await t.step(`round ${round}: ${FILES} files, ${FAULTS.length * 2} faults`, async () => {
        for (let i = 0; i < FILES; i++) await f.write(`faults/f${i}.txt`, contentOf(i, round));
        // Spread over the run: each fault hits the next upload request that comes.
        for (const _ of [1, 2]) {
          for (const fault of FAULTS) {
            f.server.injectFault({ method: "POST", path: POST_FILES, ...fault });
          }
        }
        f.server.clearRequests();
        const results = await uploadFiles(f.core, f.projectId, dir, {
          retry: { attempts: 8, baseDelayMs: 1, maxDelayMs: 5 },
        });
        expect(results.filter((r) => r.status !== "SUCCESS")).toEqual([]);
        const listed = await f.core.list<{ name: string; md5sum: string }>({
          path: ["files", f.projectId],
        });
        const etags = new Map(listed.map((l) => [l.name, l.md5sum]));
        const wrong: string[] = [];
        for (let i = 0; i < FILES; i++) {
          const name = `f${i}.txt`;
          if (etags.get(name) !== etagOfBytes(new TextEncoder().encode(contentOf(i, round)))) {
            wrong.push(`${name}: wrong bytes`);
          }
          if (versionsOf(name) !== round) wrong.push(`${name}: ${versionsOf(name)} versions`);
        }
        expect(wrong).toEqual([]);
        // Each fault met one request; only the tries that stored nothing were sent again.
        const storedNothing = FAULTS.filter((fault) =>
          !fault.afterHandling && fault.truncateAfterBytes === undefined
        ).length * 2;
        const posts = f.server.requests.filter((r) => r.method === "POST").length;
        expect(posts).toBe(FILES + storedNothing);
      });
    }
  } finally {
    await f.close();
  }
});

const versionsOf = (f: TransferFixture, name: string) =>
  f.server.state.projects.get(f.projectId)!.files.get(name)?.versions.length ?? 0;
const listings = (f: TransferFixture) =>
  f.server.requests.filter((r) => r.method === "GET" && /^\/api\/v1\/files\/[^/]+\/$/.test(r.path))
    .length;

Deno.test("forced uploads under a 502 after storing: no extra version, SUCCESS", async (t) => {
  const f = await transferFixture();
  try {
    await t.step("upload-files --force of bytes the cloud already holds", async () => {
      await f.write("forced/a.txt", "same bytes");
      await f.server.putFile(f.projectId, "a.txt", "same bytes");
      f.server.injectFault({ method: "POST", path: POST_FILES, status: 502, afterHandling: true });
      const [result] = await uploadFiles(f.core, f.projectId, join(f.dir, "forced"), {
        force: true,
      });
      expect(result).toMatchObject({ status: "SUCCESS", reason: expect.stringMatching(/earlier/) });
      expect(versionsOf(f, "a.txt")).toBe(2); // the one before, and the forced one
    });
    await t.step("uploadFile() of a new name", async () => {
      const path = await f.write("one.txt", "one");
      f.server.injectFault({ method: "POST", path: POST_FILES, status: 502, afterHandling: true });
      const result = await uploadFile(f.core, f.projectId, path, "one.txt");
      expect(result.status).toBe("SUCCESS");
      expect(versionsOf(f, "one.txt")).toBe(1);
    });
    await t.step(
      "the listing before the first send fails: sent after all, not taken as stored",
      async () => {
        // An upload with its etag and no version known: the executor lists before sending.
        const path = await f.write("again/a.txt", "same bytes");
        f.server.injectFault({
          method: "GET",
          path: /^\/api\/v1\/files\/[^/]+\/$/,
          status: 503,
          times: 4,
        });
        f.server.clearRequests();
        const [result] = await executePlan(f.core, f.projectId, {
          actions: [{
            kind: "upload",
            name: "a.txt",
            localPath: path,
            size: 10,
            etag: etagOfBytes(new TextEncoder().encode("same bytes")),
            reason: "test",
          }],
          settled: [],
        }, { retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 } });
        expect(result.status).toBe("SUCCESS");
        expect(result.reason ?? "").not.toMatch(/earlier/);
        expect(f.server.requests.filter((r) => r.method === "POST").length).toBe(1);
        expect(versionsOf(f, "a.txt")).toBe(3);
      },
    );
    await t.step("a 502 before storing is sent again", async () => {
      const path = await f.write("two.txt", "two");
      f.server.injectFault({ method: "POST", path: POST_FILES, status: 502 });
      const result = await uploadFile(f.core, f.projectId, path, "two.txt");
      expect(result.status).toBe("SUCCESS");
      expect(result.reason ?? "").not.toMatch(/earlier/);
      expect(versionsOf(f, "two.txt")).toBe(1);
    });
  } finally {
    await f.close();
  }
});

Deno.test("upload retry checks share listings; a 429 lists nothing; a failing listing is retried", async (t) => {
  const f = await transferFixture();
  try {
    const retry = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };
    await t.step(
      "20 uploads failing at once after storing: far fewer listings than failures",
      async () => {
        for (let i = 0; i < 20; i++) await f.write(`many/f${i}.txt`, `file ${i}`);
        f.server.injectFault({
          method: "POST",
          path: POST_FILES,
          status: 502,
          afterHandling: true,
          times: 20,
        });
        f.server.clearRequests();
        const results = await uploadFiles(f.core, f.projectId, join(f.dir, "many"), {
          concurrency: 20,
          retry,
        });
        expect(results.filter((r) => r.status !== "SUCCESS")).toEqual([]);
        for (let i = 0; i < 20; i++) expect(versionsOf(f, `f${i}.txt`)).toBe(1);
        // One listing to plan, and the checks share the ones started after their failures.
        expect(listings(f)).toBeLessThanOrEqual(4);
      },
    );
    await t.step("a 429 is retried without a listing", async () => {
      await f.write("limited/l.txt", "limited");
      f.server.injectFault({ method: "POST", path: POST_FILES, status: 429 });
      f.server.clearRequests();
      const [result] = await uploadFiles(f.core, f.projectId, join(f.dir, "limited"), { retry });
      expect(result.status).toBe("SUCCESS");
      expect(listings(f)).toBe(1); // the plan's
    });
    const LISTING = /^\/api\/v1\/files\/[^/]+\/$/;
    const uploadOf = (name: string, localPath: string, size: number): TransferPlan => ({
      actions: [{ kind: "upload", name, localPath, size, reason: "test", cloudVersion: null }],
      settled: [],
    });
    await t.step("the listing of the check fails once: tried again, no extra version", async () => {
      const path = await f.write("x.txt", "x bytes");
      f.server.injectFault({ method: "POST", path: POST_FILES, status: 502, afterHandling: true });
      // Every try of the core's listing request fails once.
      f.server.injectFault({ method: "GET", path: LISTING, status: 503, times: 4 });
      const [result] = await executePlan(f.core, f.projectId, uploadOf("x.txt", path, 7), {
        retry,
      });
      expect(result).toMatchObject({ status: "SUCCESS", reason: expect.stringMatching(/earlier/) });
      expect(versionsOf(f, "x.txt")).toBe(1);
    });
    await t.step("the listing of the check keeps failing: FAILED, never sent blindly", async () => {
      const path = await f.write("y.txt", "y bytes");
      f.server.injectFault({ method: "POST", path: POST_FILES, status: 502, afterHandling: true });
      f.server.injectFault({ method: "GET", path: LISTING, status: 503, times: 100 });
      f.server.clearRequests();
      const [result] = await executePlan(f.core, f.projectId, uploadOf("y.txt", path, 7), {
        retry,
      });
      expect(result).toMatchObject({ status: "FAILED", reason: expect.stringMatching(/503/) });
      expect(f.server.requests.filter((r) => r.method === "POST").length).toBe(1);
      expect(versionsOf(f, "y.txt")).toBe(1);
    });
  } finally {
    await f.close();
  }
});

Deno.test("a file changed between plan and send is FAILED, nothing stored; the check uses the plan's etag", async (t) => {
  const f = await transferFixture();
  try {
    const retry = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };
    const planned = (name: string, localPath: string, content: string): TransferPlan => ({
      actions: [{
        kind: "upload",
        name,
        localPath,
        size: content.length,
        etag: etagOfBytes(new TextEncoder().encode(content)),
        reason: "test",
        cloudVersion: null,
      }],
      settled: [],
    });
    for (const size of [10, 2 * 1024 * 1024]) {
      await t.step(`${size} bytes, same size, other bytes`, async () => {
        const content = "a".repeat(size);
        const path = await f.write(`changed-${size}.bin`, "b".repeat(size));
        f.server.clearRequests();
        const [result] = await executePlan(
          f.core,
          f.projectId,
          planned(`changed-${size}.bin`, path, content),
          { retry },
        );
        expect(result).toMatchObject({
          status: "FAILED",
          reason: expect.stringMatching(/changed while uploading/),
        });
        expect(versionsOf(f, `changed-${size}.bin`)).toBe(0);
      });
    }
    await t.step("stored by a try, then changed: the check finds the plan's bytes", async () => {
      const path = await f.write("then.txt", "planned bytes");
      const plan = planned("then.txt", path, "planned bytes");
      // Its own path: an aborted request of a step before may reach the server late.
      f.server.injectFault({ method: "POST", path: /then\.txt/, status: 502, afterHandling: true });
      // The file changes as soon as the first try has failed.
      const request = f.core.request.bind(f.core);
      f.core.request = async (options) => {
        try {
          return await request(options);
        } catch (error) {
          if (options.method === "POST") await Deno.writeTextFile(path, "later, other bytes");
          throw error;
        }
      };
      const running = executePlan(f.core, f.projectId, plan, { retry });
      const [result] = await running;
      expect(result).toMatchObject({ status: "SUCCESS", reason: expect.stringMatching(/earlier/) });
      expect(versionsOf(f, "then.txt")).toBe(1);
    });
  } finally {
    await f.close();
  }
});
