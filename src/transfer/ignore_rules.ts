/**
 * The `.qfieldcloudignore` file at the root of a project folder: paths that
 * no transfer touches, on either side, in gitignore syntax (negation with
 * `!`, folder patterns ending in `/`, `**`). Matching is done by the `ignore`
 * package, the matcher that eslint and prettier use, rather than by hand.
 *
 * @module
 */
import ignore from "ignore";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** The name of the ignore file, looked for at the root of a local project folder. */
export const IGNORE_FILE_NAME = ".qfieldcloudignore";

/**
 * Compiled ignore rules.
 *
 * @example
 * ```ts
 * import { IgnoreRules } from "@qfieldcloud/sdk";
 * const rules = new IgnoreRules("*.tmp\n!keep.tmp\nscratch/\n");
 * rules.ignores("a/b.tmp"); // true
 * rules.ignores("keep.tmp"); // false
 * rules.ignores("scratch/notes.txt"); // true
 * ```
 */
export class IgnoreRules {
  #matcher: ReturnType<typeof ignore>;

  /** Compiles the text of an ignore file. */
  constructor(text: string) {
    this.#matcher = ignore().add(text);
  }

  /**
   * Whether the `/`-separated relative file name is ignored (or lies in an ignored folder).
   * A name that is not relative (`/abs.txt`, `../up.txt`) is not ignored: the name checks
   * of each transfer refuse it.
   */
  ignores(name: string): boolean {
    if (!ignore.isPathValid(name)) return false;
    if (this.#matcher.ignores(name)) return true;
    // A file inside an ignored folder is ignored even when a later rule would re-include it.
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      if (this.#matcher.ignores(`${parts.slice(0, i).join("/")}/`)) return true;
    }
    return false;
  }

  /** Whether the `/`-separated relative folder name is ignored as a whole (a walk skips it). */
  ignoresFolder(name: string): boolean {
    if (!ignore.isPathValid(name)) return false;
    return this.#matcher.ignores(name.endsWith("/") ? name : `${name}/`);
  }
}

/**
 * Reads `localDir/.qfieldcloudignore`. Returns `undefined` when the folder has
 * none; any other read error is thrown (ignoring nothing could upload or delete
 * what the user meant to keep out).
 *
 * @example
 * ```ts
 * import { loadIgnoreRules } from "@qfieldcloud/sdk";
 * const rules = await loadIgnoreRules("./my-project");
 * if (rules?.ignores("scratch/a.txt")) console.log("left alone");
 * ```
 */
export async function loadIgnoreRules(localDir: string): Promise<IgnoreRules | undefined> {
  let text: string;
  try {
    text = await readFile(join(localDir, IGNORE_FILE_NAME), "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
  return new IgnoreRules(text);
}
