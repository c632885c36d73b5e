import { expect } from "expect";
import {
  fastStat,
  MetadataTimer,
  renamePath,
  setFileTimes,
  writeWholeFile,
} from "../src/transfer/fast_fs.ts";

Deno.test("fast_fs writes, dates and renames files, and fails with the codes of node:fs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const part = `${dir}/a.part`;
    await writeWholeFile(part, new TextEncoder().encode("hello"));
    const mtime = new Date(Date.UTC(2024, 1, 29, 12, 30, 5));
    await setFileTimes(part, new Date(), mtime);
    await renamePath(part, `${dir}/a.txt`);
    expect(await Deno.readTextFile(`${dir}/a.txt`)).toBe("hello");
    const info = fastStat(`${dir}/a.txt`);
    expect(info).toMatchObject({ isFile: true, isDirectory: false, size: 5 });
    expect(info.mtimeMs).toBe(mtime.getTime());
    await expect(renamePath(part, `${dir}/b.txt`)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(setFileTimes(part, mtime, mtime)).rejects.toMatchObject({ code: "ENOENT" });
    await Deno.mkdir(`${dir}/folder/inner`, { recursive: true });
    await expect(renamePath(`${dir}/a.txt`, `${dir}/folder`)).rejects.toMatchObject({
      code: "EISDIR",
    });
    await expect(writeWholeFile(`${dir}/missing/x`, new Uint8Array(1))).rejects.toMatchObject({
      code: "ENOENT",
    });
    expect(() => fastStat(`${dir}/missing`)).toThrow();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MetadataTimer stops inline calls on a slow file system, not for one slow call", () => {
  let now = 0;
  const timer = (durations: number[]) => {
    const t = new MetadataTimer(() => now);
    for (const ms of durations) t.time(() => now += ms);
    return t.inline;
  };
  expect(timer([])).toBe(true);
  expect(timer(Array(100).fill(0.05))).toBe(true); // a local disk
  expect(timer([5, ...Array(20).fill(0.05)])).toBe(true); // one call held up by the scheduler
  expect(timer(Array(7).fill(2))).toBe(true); // too few calls to tell
  expect(timer(Array(8).fill(2))).toBe(false); // a network share: 2 ms each
  expect(timer([40, 8, ...Array(20).fill(0.05)])).toBe(true); // long hiccups, but few
  expect(timer([0.05, 2, 0.05, 2, 2, 0.05, 2, 2])).toBe(false); // most calls slow
  expect(timer([60])).toBe(false); // one call this slow is enough
  // A call that throws is timed too, and the error is the caller's.
  const t = new MetadataTimer(() => now);
  expect(() =>
    t.time(() => {
      now += 60;
      throw new Error("boom");
    })
  ).toThrow("boom");
  expect(t.inline).toBe(false);
});

Deno.test("MetadataTimer notices a slow file system late in a long run of fast calls", () => {
  let now = 0;
  const timer = new MetadataTimer(() => now);
  for (let i = 0; i < 10_000; i++) timer.time(() => now += 0.05); // a local disk, for long
  let slowCalls = 0;
  while (timer.inline && slowCalls < 1000) {
    timer.time(() => now += 5); // then a network share
    slowCalls++;
  }
  expect(timer.inline).toBe(false);
  expect(slowCalls).toBeLessThanOrEqual(64);
});
