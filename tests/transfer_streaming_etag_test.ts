import { expect } from "expect";
import { ETAG_PART_SIZE, etagOfBytes } from "../mod.ts";
import { EtagWorker } from "../src/transfer/etag_worker.ts";
import { bytesOf } from "./fixtures/bytes.ts";
import { STREAMING_WORKER_MIN_SIZE, StreamingEtag } from "../src/transfer/streaming_etag.ts";

const MiB = 1024 * 1024;

async function streamed(bytes: Uint8Array, chunk: number, expectedSize: number) {
  const etag = StreamingEtag.start(expectedSize);
  try {
    for (let at = 0; at < bytes.length; at += chunk) {
      const piece = bytes.slice(at, at + chunk);
      await etag.update(piece);
      piece.fill(0); // the caller may reuse its buffer at once
    }
    expect(etag.size).toBe(bytes.length);
    return { etag: await etag.digest(), onWorkers: etag.onWorkers };
  } finally {
    await etag.close();
  }
}

Deno.test("StreamingEtag gives the etag of the bytes, whatever the size and chunking", async (t) => {
  const big = bytesOf(3 * ETAG_PART_SIZE + 12_345, 11);
  const sizes = [0, 1, ETAG_PART_SIZE - 1, ETAG_PART_SIZE, ETAG_PART_SIZE + 1, 2 * ETAG_PART_SIZE];
  for (const onWorkers of [true, false]) {
    // The size announced up front decides between worker threads and this thread.
    const hint = onWorkers ? STREAMING_WORKER_MIN_SIZE : 0;
    await t.step(onWorkers ? "on worker threads" : "on this thread", async () => {
      for (const size of sizes) {
        const bytes = big.subarray(0, size);
        const result = await streamed(bytes, 300_001, hint);
        expect(result.etag).toBe(etagOfBytes(bytes));
        expect(result.onWorkers).toBe(onWorkers);
      }
      for (const chunk of [65_536, 3 * MiB + 7, 8 * MiB]) {
        expect((await streamed(big, chunk, hint)).etag).toBe(etagOfBytes(big));
      }
    });
  }
  expect(EtagWorker.inUse).toBe(0);
});

Deno.test("StreamingEtag on workers spreads parts over them and frees them", async () => {
  const bytes = bytesOf(3 * ETAG_PART_SIZE + 5, 11);
  const before = EtagWorker.inUse;
  const etag = StreamingEtag.start(STREAMING_WORKER_MIN_SIZE, { maxWorkers: 2 });
  expect(EtagWorker.inUse).toBeGreaterThan(before);
  for (let at = 0; at < bytes.length; at += MiB) await etag.update(bytes.subarray(at, at + MiB));
  expect(await etag.digest()).toBe(etagOfBytes(bytes));
  await etag.close();
  await etag.close();
  expect(EtagWorker.inUse).toBe(before);
});
