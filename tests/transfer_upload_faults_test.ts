import { expect } from "expect";
import { join } from "node:path";
import { etagOfBytes } from "../src/transfer/etag.ts";
import { uploadFiles } from "../src/transfer/upload.ts";
import type { FaultSpec } from "../testing/mod.ts";
import { transferFixture } from "./fixtures/transfer_setup.ts";

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
