/**
 * The file name a `Content-Disposition` header offers, made safe to write.
 *
 * @module
 */

/**
 * The file name of a `Content-Disposition` header (`filename*=` preferred over `filename=`),
 * reduced to one safe path component: directory parts, control characters and characters
 * Windows forbids are removed, and reserved Windows names get a `_` prefix. Returns `fallback`
 * when the header is missing or nothing usable is left.
 *
 * @example
 * ```ts
 * import { fileNameFromContentDisposition } from "./content_disposition.ts";
 * fileNameFromContentDisposition('attachment; filename="../form.xlsx"', "xlsform"); // "form.xlsx"
 * fileNameFromContentDisposition(null, "xlsform"); // "xlsform"
 * ```
 *
 * @param header The header's value, or `null` when absent.
 * @param fallback The name to use when the header gives none.
 */
export function fileNameFromContentDisposition(header: string | null, fallback: string): string {
  let name = "";
  for (const [key, value] of dispositionParams(header ?? "")) {
    if (key === "filename*") {
      const m = /^([^']*)'[^']*'(.*)$/.exec(value);
      if (!m) continue;
      try {
        name = m[1].toLowerCase() === "utf-8"
          ? decodeURIComponent(m[2])
          : m[2].replace(/%([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
        break;
      } catch {
        continue; // a broken encoding: fall back to filename=
      }
    }
    if (key === "filename" && !name) name = value;
  }
  name = name.split(/[/\\]/).pop() ?? "";
  // deno-lint-ignore no-control-regex -- control characters are what is being removed
  name = name.replace(/[\u0000-\u001f\u007f]/g, "").replace(/[<>:"|?*]/g, "_");
  name = name.replace(/^[\s.]+|[\s.]+$/g, "").slice(0, 200);
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(name)) name = `_${name}`;
  return name || fallback;
}

/** The `key=value` parameters of a Content-Disposition header, keys lower-cased. */
function dispositionParams(header: string): [string, string][] {
  const params: [string, string][] = [];
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (const m of header.matchAll(re)) {
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "").trim();
    params.push([m[1].toLowerCase(), value]);
  }
  return params;
}
