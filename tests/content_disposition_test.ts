import { expect } from "expect";
import { fileNameFromContentDisposition } from "../src/content_disposition.ts";
import { DISPOSITION_CASES } from "./content_disposition_cases.ts";

for (const [what, header, expected] of DISPOSITION_CASES) {
  Deno.test(`fileNameFromContentDisposition(): ${what}`, () => {
    expect(fileNameFromContentDisposition(header, "xlsform")).toBe(expected);
  });
}

Deno.test("fileNameFromContentDisposition(): a long name is cut to 200 characters", () => {
  const name = fileNameFromContentDisposition(`attachment; filename="${"a".repeat(300)}"`, "f");
  expect(name).toBe("a".repeat(200));
});
