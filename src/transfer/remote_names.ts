/**
 * Rules for remote file names: the server's own validation (so a bad name is
 * refused before any byte is sent) and the safe mapping of an untrusted listed
 * name to a path inside a local directory.
 *
 * @module
 */
import { isAbsolute, relative, resolve, sep } from "node:path";

/** Longest remote name the server accepts, in characters (whole path). */
export const MAX_REMOTE_NAME_LENGTH = 255;

// deno-lint-ignore no-control-regex -- control characters are exactly what the server forbids
const FORBIDDEN_CHARS = /[<>:"/\\|?*\u0000-\u001f]/u;
const RESERVED_NAMES = /^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])$/i;

/**
 * Checks a remote name against the server's filename rules (QFieldCloud's
 * `validate_filename`): the name must be non-empty, not wrapped in whitespace,
 * at most 255 characters long, and each `/`-separated part must be 1 to 255
 * characters without `<>:"/\|?*` or control characters, must not be a Windows
 * reserved name (CON, PRN, AUX, NUL, COM0-9, LPT0-9) and must not end in a dot
 * or whitespace. Empty parts (`a//b`) and `.` parts are refused too: they
 * name the same file as a shorter path.
 *
 * @example
 * ```ts
 * import { remoteNameProblem } from "./remote_names.ts";
 * remoteNameProblem("DCIM/photo 1.jpg"); // undefined
 * remoteNameProblem("NUL/file.name"); // 'Part "NUL" is a reserved Windows name'
 * ```
 *
 * @param name A POSIX-style relative name, e.g. `DCIM/photo.jpg`.
 * @returns A sentence naming the rule the name breaks, or `undefined` if it is valid.
 */
export function remoteNameProblem(name: string): string | undefined {
  if (name.length === 0) return "Name must not be empty";
  if (name.trim() !== name) return "Name must not start or end with whitespace";
  const length = Array.from(name).length;
  if (length > MAX_REMOTE_NAME_LENGTH) {
    return `Name is ${length} characters long, the limit is ${MAX_REMOTE_NAME_LENGTH}`;
  }
  if (name.startsWith("/")) return "Name must be relative, not start with /";
  for (const part of name.split("/")) {
    if (part === "") return "Name must not contain empty path parts (//) or end with /";
    if (part === "." || part === "..") return `Part "${part}" is not allowed`;
    const bad = FORBIDDEN_CHARS.exec(part);
    if (bad) {
      const shown = bad[0].charCodeAt(0) < 0x20
        ? `control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, "0")}`
        : `"${bad[0]}"`;
      return `Part "${part}" contains the forbidden ${shown} (not allowed: <>:"\\|?* and control characters)`;
    }
    if (RESERVED_NAMES.test(part)) return `Part "${part}" is a reserved Windows name`;
    if (/[\s.]$/u.test(part)) return `Part "${part}" must not end with a dot or whitespace`;
  }
  return undefined;
}

/**
 * Maps an untrusted remote name (as listed by the server) to an absolute path
 * inside `localDir`, or explains why it must not be written. Refused: empty
 * names, absolute names, names with a backslash, a drive letter, a NUL or a
 * control character, `.`, `..` or empty parts, and anything that would
 * resolve outside `localDir`.
 *
 * @example
 * ```ts
 * import { resolveLocalPath } from "./remote_names.ts";
 * resolveLocalPath("/data/project", "DCIM/a.jpg"); // { path: "/data/project/DCIM/a.jpg" }
 * resolveLocalPath("/data/project", "../etc/passwd"); // { problem: 'Remote name "../etc/passwd" ...' }
 * ```
 *
 * @param localDir The directory everything must stay in.
 * @param name The remote name, `/`-separated.
 */
export function resolveLocalPath(
  localDir: string,
  name: string,
): { path: string; problem?: undefined } | { path?: undefined; problem: string } {
  const refuse = (why: string) => ({
    problem: `Refused remote name ${JSON.stringify(name)}: ${why}`,
  });
  if (typeof name !== "string" || name.length === 0) return refuse("it is empty");
  if (name.includes("\0")) return refuse("it contains a NUL character");
  // deno-lint-ignore no-control-regex -- refusing control characters is the point
  if (/[\u0001-\u001f]/u.test(name)) return refuse("it contains a control character");
  if (name.includes("\\")) return refuse("it contains a backslash");
  if (name.startsWith("/") || isAbsolute(name)) return refuse("it is an absolute path");
  const parts = name.split("/");
  for (const part of parts) {
    if (/^[A-Za-z]:/.test(part)) return refuse("it contains a drive letter");
    if (part === "..") return refuse('it contains a ".." part');
    if (part === "." || part === "") return refuse("it is not a normalized relative path");
  }
  const root = resolve(localDir);
  const path = resolve(root, ...parts);
  const rel = relative(root, path);
  const inside = rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) &&
    path.startsWith(root.endsWith(sep) ? root : root + sep);
  if (!inside) return refuse(`it resolves outside ${JSON.stringify(root)}`);
  return { path };
}
