/**
 * Folders created for downloads stay inside the download folder, symbolic
 * links followed: a link in the tree must not let a download write elsewhere.
 *
 * @module
 */
import { mkdir, realpath, stat } from "node:fs/promises";
import { dirname, isAbsolute, relative, sep } from "node:path";
import { QfcException } from "../errors.ts";

/**
 * Creates `dir` (inside `root`) and makes sure that, symbolic links followed,
 * it is still inside `root`. Each directory is checked once per `checked` map.
 */
export async function mkdirInside(
  root: string,
  dir: string,
  checked: Map<string, Promise<void>>,
): Promise<void> {
  let check = checked.get(dir);
  if (!check) {
    check = (async () => {
      await mkdir(root, { recursive: true });
      const realRoot = await realpath(root);
      // Check the deepest existing ancestor before creating anything below it.
      let existing = dir;
      while (!(await stat(existing).catch(() => undefined))) existing = dirname(existing);
      assertInside(realRoot, await realpath(existing), dir);
      await mkdir(dir, { recursive: true });
      assertInside(realRoot, await realpath(dir), dir);
    })();
    checked.set(dir, check);
  }
  await check;
}

/**
 * Throws unless the existing folder `dir`, symbolic links followed, is inside `root`: a
 * link in the tree must not let an action change files elsewhere.
 */
export async function assertRealInside(root: string, dir: string): Promise<void> {
  assertInside(await realpath(root), await realpath(dir), dir);
}

function assertInside(realRoot: string, realDir: string, dir: string) {
  const rel = relative(realRoot, realDir);
  if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel) && realDir.startsWith(realRoot))) {
    return;
  }
  throw new QfcException(
    `Refused to write into "${dir}": it resolves to "${realDir}", outside "${realRoot}${sep}"`,
  );
}
