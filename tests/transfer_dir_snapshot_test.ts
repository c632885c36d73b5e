import { expect } from "expect";
import { DirSnapshot } from "../src/transfer/dir_snapshot.ts";

Deno.test("DirSnapshot lists each directory once and rules out only absent names", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/Data.gpkg`, "x");
    await Deno.writeTextFile(`${dir}/caf\u00e9.jpg`, "x"); // NFC on disk
    const snapshot = new DirSnapshot();
    await t.step("present names, also in another case or normalization", async () => {
      expect(await snapshot.mayExist(`${dir}/Data.gpkg`)).toBe(true);
      expect(await snapshot.mayExist(`${dir}/data.GPKG`)).toBe(true);
      expect(await snapshot.mayExist(`${dir}/cafe\u0301.jpg`)).toBe(true); // NFD
    });
    await t.step("absent names and missing directories", async () => {
      expect(await snapshot.mayExist(`${dir}/other.gpkg`)).toBe(false);
      expect(await snapshot.mayExist(`${dir}/missing/Data.gpkg`)).toBe(false);
      expect(await snapshot.mayExist(`${dir}/Data.gpkg/inside`)).toBe(false); // not a directory
      expect(await snapshot.entriesStartingWith(`${dir}/missing`, "")).toEqual([]);
    });
    await t.step("a directory that cannot be read rules nothing out", async () => {
      const unreadable = `${dir}/${"x".repeat(300)}`; // ENAMETOOLONG
      expect(await snapshot.mayExist(`${unreadable}/a.txt`)).toBe(true);
      expect(await snapshot.entriesStartingWith(unreadable, "")).toEqual([]);
    });
    await t.step("the listing is the one taken first: later files are not seen", async () => {
      await Deno.writeTextFile(`${dir}/later.txt`, "x");
      expect(await snapshot.mayExist(`${dir}/later.txt`)).toBe(false);
      expect(await snapshot.entriesStartingWith(dir, "")).toEqual(["Data.gpkg", "caf\u00e9.jpg"]);
      expect(await snapshot.entriesStartingWith(dir, "Da")).toEqual(["Data.gpkg"]);
      expect(await snapshot.entriesStartingWith(dir, ".qfc-")).toEqual([]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DirSnapshot finds the names with a prefix among thousands, as a filter would", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const names: string[] = [];
    for (let i = 0; i < 3000; i++) {
      names.push(`f${i}.bin`, `.qfc-${(i % 50).toString(16)}-${i}.part`);
    }
    names.push("a", "ab", "abc", "b", "\u00e9t\u00e9", "\u{1F600}.txt", "Z");
    for (const name of names) await Deno.writeFile(`${dir}/${name}`, new Uint8Array());
    const snapshot = new DirSnapshot();
    const prefixes = [
      "",
      "a",
      "ab",
      "abc",
      "abcd",
      "f1",
      "f2999",
      ".qfc-",
      ".qfc-1",
      ".qfc-31-",
      "\u00e9",
      "\u{1F600}",
      "~",
    ];
    for (const prefix of prefixes) {
      const expected = names.filter((n) => n.startsWith(prefix)).sort();
      expect((await snapshot.entriesStartingWith(dir, prefix)).sort()).toEqual(expected);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
