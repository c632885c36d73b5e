// The S3-style etag of contract section 5, computed the same way by the server and the SDK.
import { expect } from "expect";
import { ETAG_PART_SIZE, EtagHasher, etagOfBytes, etagOfFile } from "../mod.ts";
import { availableParallelism } from "node:os";
import { EtagWorker } from "../src/transfer/etag_worker.ts";

const MiB = 1024 * 1024;
const text = (s: string) => new TextEncoder().encode(s);

Deno.test("etag vectors of the contract", async (t) => {
  await t.step('"Hello!" is its plain MD5', () => {
    expect(etagOfBytes(text("Hello!"))).toBe("952d2c56d0485958336747bcdd98590d");
  });
  await t.step("an empty file is the MD5 of nothing", () => {
    expect(etagOfBytes(new Uint8Array(0))).toBe("d41d8cd98f00b204e9800998ecf8427e");
  });
  await t.step('"x" * 10,000,000 has two 8 MiB parts', () => {
    expect(etagOfBytes(text("x".repeat(10_000_000)))).toBe("1e762c1c6ca960a51ce95942752cf1f6-2");
  });
});

Deno.test("a file of exactly 8 MiB is one plain MD5, one byte more makes two parts", () => {
  const exact = new Uint8Array(8 * MiB);
  expect(etagOfBytes(exact)).toMatch(/^[0-9a-f]{32}$/);
  expect(etagOfBytes(new Uint8Array(8 * MiB + 1))).toMatch(/^[0-9a-f]{32}-2$/);
});

Deno.test("EtagHasher gives the same etag whatever the chunking", () => {
  const bytes = new Uint8Array(17 * MiB + 123).map((_, i) => (i * 31) % 251);
  const whole = etagOfBytes(bytes);
  for (const chunk of [1000, 64 * 1024, 3 * MiB, 8 * MiB]) {
    const hasher = new EtagHasher();
    for (let offset = 0; offset < bytes.length; offset += chunk) {
      hasher.update(bytes.subarray(offset, offset + chunk));
    }
    expect(hasher.size).toBe(bytes.length);
    expect(hasher.digest()).toBe(whole);
  }
  expect(whole).toMatch(/-3$/);
});

Deno.test("etagOfFile streams a file from disk", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "x".repeat(10_000_000));
    expect(await etagOfFile(path)).toBe("1e762c1c6ca960a51ce95942752cf1f6-2");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("etagOfFile reads a small file whole, with the same etag as the bytes", async () => {
  const path = await Deno.makeTempFile();
  try {
    for (const size of [0, 1, 16 * 1024, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff);
      await Deno.writeFile(path, bytes);
      expect([size, await etagOfFile(path)]).toEqual([size, etagOfBytes(bytes)]);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("etagOfFile splits a large file's parts among threads, same etag", async (t) => {
  // Worker threads are used only when there is a core to spare.
  expect(availableParallelism()).toBeGreaterThan(1);
  const dir = await Deno.makeTempDir();
  const part = ETAG_PART_SIZE;
  // Pseudo-random bytes, so that a part hashed twice or out of order changes the etag.
  const bytes = new Uint8Array(5 * part + 3);
  for (let i = 0, x = 7; i < bytes.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  try {
    for (const size of [4 * part, 4 * part + 1, 5 * part - 1, 5 * part + 3]) {
      await t.step(`${size} bytes`, async () => {
        const path = `${dir}/f${size}`;
        await Deno.writeFile(path, bytes.subarray(0, size));
        let settled = false;
        const etag = etagOfFile(path).finally(() => (settled = true));
        let sawWorker = false;
        while (!settled && !sawWorker) {
          sawWorker = EtagWorker.inUse > 0;
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        expect(sawWorker).toBe(true);
        expect(await etag).toBe(etagOfBytes(bytes.subarray(0, size)));
      });
    }
    await t.step("the workers are free again afterwards", () => {
      expect(EtagWorker.inUse).toBe(0);
    });
    await t.step("a worker that finds the file shorter than planned fails the etag", async () => {
      const worker = EtagWorker.tryStart()!;
      try {
        await Deno.writeFile(`${dir}/short`, bytes.subarray(0, part));
        await expect(worker.partDigests(`${dir}/short`, 0, 2 * part)).rejects.toThrow(
          /shorter than 16777216 bytes/,
        );
      } finally {
        await worker.terminate();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
