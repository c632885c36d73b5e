import { expect } from "expect";
import { join } from "node:path";
import { utimesSync } from "node:fs";
import { etagOfBytes } from "../src/transfer/etag.ts";
import { HashCache, isRacy } from "../src/transfer/hash_cache.ts";
import { IgnoreRules } from "../src/transfer/ignore_rules.ts";
import { scanLocalFiles } from "../src/transfer/local_scan.ts";
import { STATE_DIR_NAME } from "../src/transfer/sync_state.ts";

const encode = (text: string) => new TextEncoder().encode(text);

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "qfc-hash-" });
  try {
    Deno.mkdirSync(join(dir, STATE_DIR_NAME));
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes a file and sets its mtime an hour back, out of the racy window. */
function writeOld(dir: string, name: string, text: string, secondsAgo = 3600) {
  const path = join(dir, name);
  Deno.mkdirSync(join(path, ".."), { recursive: true });
  Deno.writeTextFileSync(path, text);
  const when = new Date(Date.now() - secondsAgo * 1000 + 123);
  utimesSync(path, when, when);
}

Deno.test("HashCache: an unchanged file is not read again after a save and load", () =>
  withDir(async (dir) => {
    writeOld(dir, "a.txt", "alpha");
    writeOld(dir, "sub/b.txt", "beta");
    const first = HashCache.load(dir);
    const files = await scanLocalFiles(dir);
    for (const file of files) await first.etag(file);
    expect(first.hashed).toBe(2);
    first.save(files.map((f) => f.name));

    const second = HashCache.load(dir);
    const again = await scanLocalFiles(dir);
    const etags = Object.fromEntries(
      await Promise.all(again.map(async (f) => [f.name, await second.etag(f)])),
    );
    expect(second.hashed).toBe(0);
    expect(etags).toEqual({
      "a.txt": etagOfBytes(encode("alpha")),
      "sub/b.txt": etagOfBytes(encode("beta")),
    });
  }));

Deno.test("HashCache: a change of size or mtime is hashed again", () =>
  withDir(async (dir) => {
    writeOld(dir, "a.txt", "alpha");
    const cache = HashCache.load(dir);
    await cache.etag((await scanLocalFiles(dir))[0]);
    writeOld(dir, "a.txt", "alphabet"); // size changes
    expect(await cache.etag((await scanLocalFiles(dir))[0])).toBe(etagOfBytes(encode("alphabet")));
    writeOld(dir, "a.txt", "ALPHABET", 1800); // same size, other mtime
    expect(await cache.etag((await scanLocalFiles(dir))[0])).toBe(etagOfBytes(encode("ALPHABET")));
    expect(cache.hashed).toBe(3);
  }));

Deno.test("HashCache: a file modified just before its hashing is hashed again next time (racy git)", () =>
  withDir(async (dir) => {
    Deno.writeTextFileSync(join(dir, "fresh.txt"), "now");
    const cache = HashCache.load(dir);
    const [file] = await scanLocalFiles(dir);
    await cache.etag(file);
    expect(cache.lookup(file)).toBeUndefined();
    await cache.etag(file);
    expect(cache.hashed).toBe(2);
  }));

Deno.test("isRacy: within the granularity of the hashing time", () => {
  expect(isRacy(10_000.5, 10_020)).toBe(true);
  expect(isRacy(10_000.5, 10_100)).toBe(false);
  // Whole seconds: a 2 s file system.
  expect(isRacy(10_000, 11_500)).toBe(true);
  expect(isRacy(10_000, 12_500)).toBe(false);
});

Deno.test("HashCache: a corrupt cache is empty, and save drops vanished files", () =>
  withDir(async (dir) => {
    Deno.writeTextFileSync(join(dir, STATE_DIR_NAME, "hash-cache.json"), "][");
    writeOld(dir, "a.txt", "alpha");
    writeOld(dir, "b.txt", "beta");
    const cache = HashCache.load(dir);
    for (const file of await scanLocalFiles(dir)) await cache.etag(file);
    cache.save(["a.txt"]);
    const text = Deno.readTextFileSync(join(dir, STATE_DIR_NAME, "hash-cache.json"));
    expect(Object.keys(JSON.parse(text).files)).toEqual(["a.txt"]);
  }));

Deno.test("scanLocalFiles: skips dot files, sidecars and what .qfieldcloudignore names", () =>
  withDir(async (dir) => {
    for (
      const name of [
        "a.txt",
        "data.gpkg",
        "data.gpkg-wal",
        ".hidden",
        "scratch/x.txt",
        "keep.log",
        "b.log",
        "z/a~",
      ]
    ) {
      writeOld(dir, name, name);
    }
    const rules = new IgnoreRules("scratch/\n*.log\n!keep.log\n");
    const names = (await scanLocalFiles(dir, rules)).map((f) => f.name).sort();
    expect(names).toEqual(["a.txt", "data.gpkg", "keep.log"]);
    expect(await scanLocalFiles(join(dir, "missing"))).toEqual([]);
  }));
