import { expect } from "expect";
import { fnmatch, fnmatchAny } from "../src/transfer/fnmatch.ts";

/**
 * [name, pattern, expected]: every expected value was produced by Python 3.11's
 * `fnmatch.fnmatch(name, pattern)` on Linux.
 */
const PYTHON_CASES: [string, string, boolean][] = [
  ["DCIM/photo 1.jpg", "*.jpg", true],
  ["a/b/c.txt", "*", true],
  ["a/b/c.txt", "a/*", true],
  ["a/b/c.txt", "*/c.txt", true],
  ["c.txt", "*/c.txt", false],
  ["data.gpkg", "*.GPKG", false],
  ["DATA.GPKG", "*.GPKG", true],
  ["abc", "a?c", true],
  ["ac", "a?c", false],
  ["a/c", "a?c", true],
  ["abc", "[abc]bc", true],
  ["dbc", "[abc]bc", false],
  ["dbc", "[!abc]bc", true],
  ["abc", "[!abc]bc", false],
  ["?", "[?]", true],
  ["a", "[?]", false],
  ["*", "[*]", true],
  ["ab", "[*]b", false],
  ["a[1", "a[1", true],
  ["[", "[", true],
  ["a[!", "a[!", true],
  ["a[!]", "a[!]", true],
  ["[]", "[]", true],
  ["]", "[]]", true],
  ["a]", "[]]", false],
  ["!", "[!]]", true],
  ["a", "[!]]", true],
  ["b", "[a-c]", true],
  ["d", "[a-c]", false],
  ["-", "[a-]", true],
  ["a", "[a-]", true],
  ["-", "[-a]", true],
  ["b", "[!a-c]", false],
  ["z", "[!a-c]", true],
  ["a", "[z-a]", false],
  ["-", "[z-a]", false],
  ["x", "[!z-a]", true],
  ["!", "[z-a!]", true],
  ["q", "[z-a!]", true],
  ["-", "[z-a!-c]", false],
  ["b", "[z-a!-c]", true],
  ["c", "[z-a!-c]", false],
  ["\\", "\\", true],
  ["a\\b", "a\\b", true],
  ["a", "\\a", false],
  ["\\", "[\\]", true],
  ["b", "[\\]", false],
  ["\\", "[\\-b]", true],
  ["a", "[\\-b]", true],
  ["^", "[^]", true],
  ["a", "[^a]", true],
  ["^", "[^a]", true],
  ["&", "[&&]", true],
  ["~", "[~]", true],
  ["|", "[|]", true],
  ["", "*", true],
  ["", "?", false],
  ["", "", true],
  ["a", "", false],
  ["abc", "a**c", true],
  ["a\nb", "a*b", true],
  ["a\nb", "a?b", true],
  ["é.jpg", "?.jpg", true],
  ["😀", "?", true],
  ["😀x", "[😀]x", true],
  ["ab/cd", "ab[/]cd", true],
  ["photo.JPG", "*.jpg", false],
  ["x.qgs", "*.qg[sz]", true],
  ["x.qgz", "*.qg[sz]", true],
  ["x.qgd", "*.qg[sz]", false],
  ["a-b", "a[--b]b", true],
  ["a-b", "a[+--]b", true],
  ["a,b", "a[+--]b", true],
];

Deno.test("fnmatch() agrees with Python's fnmatch.fnmatch", async (t) => {
  for (const [name, pattern, expected] of PYTHON_CASES) {
    await t.step(`${JSON.stringify(name)} vs ${JSON.stringify(pattern)} -> ${expected}`, () => {
      expect(fnmatch(name, pattern)).toBe(expected);
    });
  }
});

Deno.test("fnmatch() semantics that matter for filters", async (t) => {
  await t.step("* crosses / and matches the empty string", () => {
    expect(fnmatch("DCIM/2024/a.jpg", "*.jpg")).toBe(true);
    expect(fnmatch(".jpg", "*.jpg")).toBe(true);
  });
  await t.step("matching is case-sensitive, as on POSIX", () => {
    expect(fnmatch("A.JPG", "*.jpg")).toBe(false);
  });
  await t.step("the whole name must match", () => {
    expect(fnmatch("a.jpg.bak", "*.jpg")).toBe(false);
    expect(fnmatch("xa.jpg", "a*")).toBe(false);
  });
  await t.step("long names with many stars stay fast", () => {
    const name = "a".repeat(5000);
    const start = performance.now();
    expect(fnmatch(name, "*a*a*a*a*a*b")).toBe(false);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

Deno.test("fnmatchAny() matches any pattern, and everything without patterns", () => {
  expect(fnmatchAny("DCIM/a.jpg", ["*.png", "DCIM/*"])).toBe(true);
  expect(fnmatchAny("data.gpkg", ["*.png", "DCIM/*"])).toBe(false);
  expect(fnmatchAny("data.gpkg", [])).toBe(true);
  expect(fnmatchAny("data.gpkg", undefined)).toBe(true);
});
