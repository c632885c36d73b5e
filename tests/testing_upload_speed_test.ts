// Guards against the causes of slow chunked uploads to the test server,
// without timing anything: the multipart parser reads each chunk once and
// never grows a buffer, and a blob goes to disk in a few large synchronous
// writes (an awaited async write per chunk stalled Deno.serve's chunked
// request bodies by ~2 ms a read).
import { expect } from "expect";
import { parseMultipart } from "../testing/multipart.ts";
import { BlobStorage } from "../testing/storage.ts";

const CHUNK = 64 * 1024;

/** File bytes full of CR/LF and boundary look-alikes, the parser's worst case. */
function trickyChunk(): Uint8Array<ArrayBuffer> {
  const unit = "\r\n--bound\r\n-\r\r\n--boun";
  const text = unit.repeat(Math.ceil(CHUNK / unit.length));
  return new TextEncoder().encode(text).slice(0, CHUNK);
}

Deno.test("parseMultipart() reads each chunk once and keeps no growing buffer", async (t) => {
  const boundary = "boundary";
  const enc = new TextEncoder();
  const content = trickyChunk();
  // The body arrives in chunks that do not line up with the part.
  const whole = new Uint8Array(
    await new Blob([
      enc.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n`,
      ),
      ...Array.from({ length: 200 }, () => content),
      enc.encode(`\r\n--${boundary}--\r\n`),
    ]).arrayBuffer(),
  );
  const step = CHUNK - 7;
  let reads = 0;
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      reads++;
      if (offset >= whole.byteLength) return c.close();
      c.enqueue(whole.slice(offset, offset + step));
      offset += step;
    },
  }, { highWaterMark: 0 });
  const inputChunks = Math.ceil(whole.byteLength / step);
  let size = 0;
  let outputChunks = 0;
  let largestBacking = 0;
  let same = true;
  for await (const part of parseMultipart(body, boundary)) {
    for await (const chunk of part.body) {
      for (let i = 0; i < chunk.byteLength && same; i += 4099) {
        same = chunk[i] === content[(size + i) % CHUNK];
      }
      size += chunk.byteLength;
      outputChunks++;
      largestBacking = Math.max(largestBacking, chunk.buffer.byteLength);
    }
  }
  await t.step("every byte comes through", () => {
    expect(size).toBe(200 * CHUNK);
    expect(same).toBe(true);
  });
  await t.step("each chunk is read once, and passed on in about as many pieces", () => {
    expect(reads).toBeLessThanOrEqual(inputChunks + 1);
    expect(outputChunks).toBeLessThanOrEqual(inputChunks + 1);
  });
  await t.step("no buffer outgrows one read plus a delimiter", () => {
    expect(largestBacking).toBeLessThanOrEqual(step + 64);
  });
});

Deno.test("BlobStorage.put() on disk writes in large synchronous batches", async () => {
  const dir = await Deno.makeTempDir();
  const proto = Deno.FsFile.prototype;
  const writeSync = proto.writeSync;
  const sizes: number[] = [];
  proto.writeSync = function (this: Deno.FsFile, p: Uint8Array): number {
    sizes.push(p.byteLength);
    return writeSync.call(this, p);
  };
  const storage = new BlobStorage({ dir });
  try {
    const chunk = new Uint8Array(16 * 1024 + 9).fill(7);
    const count = 300; // ~4.7 MiB in odd-sized chunks
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ === count) return c.close();
        c.enqueue(chunk);
      },
    });
    const blob = await storage.put("k", stream);
    const total = chunk.byteLength * count;
    expect(blob.size).toBe(total);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
    // At most one write per MiB, not one per chunk.
    expect(sizes.length).toBeLessThanOrEqual(Math.ceil(total / (1024 * 1024)) + 1);
    expect((await storage.readAll("k")).every((b) => b === 7)).toBe(true);
  } finally {
    proto.writeSync = writeSync;
    await storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});
