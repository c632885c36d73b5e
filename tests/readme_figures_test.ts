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
  const prose = README.replace(/\s+/g, " ");
  expect(prose).toContain(`\`listProjects()\` took ${now} instead of ${before} page after page`);
});
