/**
 * Figures the README quotes in prose are the ones its benchmark tables measured.
 */

import { expect } from "expect";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));

/** The median time of the row of the "Listing a large account" table that starts with `way`. */
function listingTime(way: string): string {
  const row = README.split("\n").find((line) => line.startsWith(`| ${way}`));
  if (row === undefined) throw new Error(`No table row for "${way}"`);
  return row.split("|")[2].trim();
}

Deno.test("the README quotes the listing benchmark's figures", () => {
  const before = listingTime("before: 100 a page, one after the other");
  const now = listingTime("`listProjects()`: 100 a page, 8 at a time");
  const quoted = README.replace(/\s+/g, " ").match(
    /`listProjects\(\)` (?:takes|took) ([\d.]+ s) instead of ([\d.]+ s) page after page/,
  );
  expect(quoted?.slice(1)).toEqual([now, before]);
});
