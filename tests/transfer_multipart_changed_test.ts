import { expect } from "expect";
import { join } from "node:path";
import { etagOfBytes, QfcException } from "../mod.ts";
import { multipartFileBody, multipartFileBytes } from "../src/transfer/multipart.ts";
import { EtagWorker } from "../src/transfer/etag_worker.ts";

const MiB = 1024 * 1024;

/** Reads a body to its end; returns its bytes, or the error it failed with. */
async function drain(
  stream: ReadableStream<Uint8Array>,
  onChunk?: (read: number) => Promise<void>,
) {
  const reader = stream.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let read = 0;
  try {
    while (true) {
      const next = await reader.read();
      if (next.done) break;
      chunks.push(next.value as Uint8Array<ArrayBuffer>);
      read += next.value.byteLength;
      await onChunk?.(read);
    }
  } catch (error) {
    return { error, bytes: new Uint8Array(await new Blob(chunks).arrayBuffer()) };
  }
  return { bytes: new Uint8Array(await new Blob(chunks).arrayBuffer()) };
}

/** Overwrites 1 MiB in place at each offset, keeping the file's size. */
async function overwriteMiB(path: string, offsets: number[]) {
  const file = await Deno.open(path, { write: true });
  try {
    for (const offset of offsets) {
      await file.seek(offset, Deno.SeekMode.Start);
      await file.write(new Uint8Array(MiB).fill(0xee));
    }
  } finally {
    file.close();
  }
}

const ends = (bytes: Uint8Array, boundary: string) =>
  new TextDecoder().decode(bytes.subarray(-boundary.length - 8)).includes(`--${boundary}--`);

Deno.test("multipartFileBody() holds back the end until the bytes are one version", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "data.gpkg");
    const bytes = new Uint8Array(32 * MiB).map((_, i) => (i * 7) % 253);
    const etag = etagOfBytes(bytes);
    const boundary = "b0undary";

    await t.step("an unchanged file with the expected etag ends normally", async () => {
      await Deno.writeFile(path, bytes);
      const body = multipartFileBody(path, { filename: "d", size: bytes.length, etag, boundary });
      const out = await drain(body.stream);
      expect(out.error).toBeUndefined();
      expect(out.bytes.byteLength).toBe(body.length);
      expect(ends(out.bytes, boundary)).toBe(true);
    });

    await t.step(
      "another etag (changed before the upload began) fails before the end",
      async () => {
        let told: unknown;
        const body = multipartFileBody(path, {
          filename: "d",
          size: bytes.length,
          etag: etagOfBytes(new Uint8Array([1])),
          boundary,
          onChanged: (error) => (told = error),
        });
        const out = await drain(body.stream);
        expect(out.error).toBeInstanceOf(QfcException);
        expect((out.error as Error).message).toBe(
          `File "${path}" changed while uploading: run again`,
        );
        expect(told).toBe(out.error);
        expect(ends(out.bytes, boundary)).toBe(false);
      },
    );

    for (const withEtag of [true, false]) {
      await t.step(
        `overwritten in place behind and ahead of the read position (${
          withEtag ? "etag" : "no etag: size and mtime"
        })`,
        async () => {
          await Deno.writeFile(path, bytes);
          const body = multipartFileBody(path, {
            filename: "d",
            size: bytes.length,
            etag: withEtag ? etag : undefined,
            boundary,
          });
          let overwritten = false;
          const out = await drain(body.stream, async (read) => {
            if (overwritten || read < 10 * MiB) return;
            overwritten = true;
            // Same size; 1 MiB behind the position (already sent) and 1 MiB ahead of it.
            await overwriteMiB(path, [2 * MiB, 30 * MiB]);
            // Make sure the modification time moves even on a coarse clock.
            const later = new Date(Date.now() + 5_000);
            if (!withEtag) await Deno.utime(path, later, later);
          });
          expect(overwritten).toBe(true);
          expect((out.error as Error)?.message).toMatch(/changed while uploading: run again/);
          expect(ends(out.bytes, boundary)).toBe(false);
        },
      );
    }

    await t.step(
      "no etag, overwritten in the same timestamp tick (size and mtime unchanged)",
      async () => {
        await Deno.writeFile(path, bytes);
        const { mtime } = await Deno.stat(path);
        const body = multipartFileBody(path, { filename: "d", size: bytes.length, boundary });
        let overwritten = false;
        const out = await drain(body.stream, async (read) => {
          if (overwritten || read < 10 * MiB) return;
          overwritten = true;
          await overwriteMiB(path, [2 * MiB]);
          await Deno.utime(path, mtime!, mtime!); // as a coarse clock would leave it
        });
        expect(overwritten).toBe(true);
        expect((out.error as Error)?.message).toMatch(/changed while uploading: run again/);
        expect(ends(out.bytes, boundary)).toBe(false);
      },
    );

    await t.step("a body built for its headers only, never read, holds no worker", async () => {
      await Deno.writeFile(path, bytes);
      const body = multipartFileBody(path, { filename: "d", size: bytes.length, boundary });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(EtagWorker.inUse).toBe(0);
      await body.stream.cancel();
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("multipartFileBytes() sends a small file only as the size and etag announced", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "notes.txt");
    const text = new TextEncoder().encode("field notes, day 1\n");
    const etag = etagOfBytes(text);
    await Deno.writeFile(path, text);
    const options = { filename: "notes.txt", size: text.length, boundary: "b0undary" };

    await t.step("the same bytes as the streamed body, with or without the etag", async () => {
      const streamed = await drain(multipartFileBody(path, options).stream);
      for (const withEtag of [{ ...options, etag }, options]) {
        const small = await multipartFileBytes(path, withEtag);
        expect(small.length).toBe(small.bytes.byteLength);
        expect(small.bytes).toEqual(streamed.bytes);
      }
    });

    await t.step("a file that is not the size announced is refused, unread", async () => {
      for (const size of [text.length - 1, text.length + 1, 0]) {
        let told: unknown;
        const refused = multipartFileBytes(path, {
          ...options,
          size,
          onChanged: (error) => told = error,
        });
        await expect(refused).rejects.toThrow(/changed while uploading/);
        expect(told).toBeInstanceOf(QfcException);
      }
    });

    await t.step("a file of the size but not the etag announced is refused", async () => {
      await expect(multipartFileBytes(path, { ...options, etag: "0".repeat(32) })).rejects
        .toThrow(/changed while uploading/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
