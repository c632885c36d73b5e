import { expect } from "expect";
import { join } from "node:path";
import { IGNORE_FILE_NAME, IgnoreRules, loadIgnoreRules } from "../src/transfer/ignore_rules.ts";

Deno.test("IgnoreRules follows gitignore syntax", async (t) => {
  const rules = new IgnoreRules(
    ["# comment", "*.tmp", "!keep.tmp", "scratch/", "**/cache/**", "/root-only.txt", ""].join("\n"),
  );
  const cases: [string, boolean][] = [
    ["a.tmp", true],
    ["deep/down/b.tmp", true],
    ["keep.tmp", false],
    ["scratch/notes.txt", true],
    ["x/scratch/notes.txt", true],
    ["scratch", false],
    ["a/cache/b/c.bin", true],
    ["root-only.txt", true],
    ["sub/root-only.txt", false],
    ["data.gpkg", false],
  ];
  for (const [name, expected] of cases) {
    await t.step(`${name} -> ${expected}`, () => expect(rules.ignores(name)).toBe(expected));
  }
});

Deno.test("IgnoreRules keeps a file of an ignored folder ignored despite a negation", () => {
  const rules = new IgnoreRules("build/\n!build/keep.txt\n");
  expect(rules.ignores("build/keep.txt")).toBe(true);
  expect(rules.ignoresFolder("build")).toBe(true);
  expect(rules.ignoresFolder("src")).toBe(false);
});

Deno.test("loadIgnoreRules reads the file at the folder's root, or returns undefined", async () => {
  const dir = await Deno.makeTempDir();
  try {
    expect(await loadIgnoreRules(dir)).toBeUndefined();
    await Deno.writeTextFile(join(dir, IGNORE_FILE_NAME), "*.log\n");
    const rules = await loadIgnoreRules(dir);
    expect(rules?.ignores("a/b.log")).toBe(true);
    expect(rules?.ignores("a/b.txt")).toBe(false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
