/**
 * Validates pushed delta files against the server's own JSON schema
 * (`deltafile_01.json`, copied from opengisch/QFieldCloud), with a tiny
 * JSON-schema validator that covers exactly the keywords that schema uses.
 *
 * Like the server (python `jsonschema` without a format checker), `format`
 * (`uuid`, `wkt`) is not asserted.
 *
 * @module
 */
import schema from "./deltafile_01.json" with { type: "json" };

/** A JSON-schema node, limited to the keywords the deltafile schema uses. */
interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  uniqueItems?: boolean;
  $ref?: string;
  definitions?: Record<string, SchemaNode>;
}

/** One delta of a delta file, as the schema requires it (other keys are kept). */
export interface DeltaContent {
  /** Delta id (a UUID). */
  uuid: string;
  /** Primary key in the exported (QField) data. */
  localPk: string;
  /** Primary key in the source data. */
  sourcePk: string;
  /** Layer id in the exported project. */
  localLayerId: string;
  /** Layer id in the source project. */
  sourceLayerId: string;
  /** `create`, `patch` or `delete`. */
  method: "create" | "patch" | "delete";
  /** The device's client id; the server reads it and fails (500) when it is missing. */
  clientId?: string;
  /** Other keys (`old`, `new`, `exportId`, `localLayerCrs`, ...). */
  [key: string]: unknown;
}

/** A delta file that passed {@linkcode validateDeltafile}. */
export interface Deltafile {
  /** Format version, `"1.0"`. */
  version: "1.0";
  /** Project id the deltas were made for. */
  project: string;
  /** Delta file id. */
  id: string;
  /** The deltas. */
  deltas: DeltaContent[];
  /** Attachment files referenced by the deltas. */
  files: string[];
  /** Other top-level keys, allowed by the schema. */
  [key: string]: unknown;
}

/**
 * The parsed deltafile schema (`deltafile_01.json`).
 *
 * @example
 * ```ts
 * import { DELTAFILE_SCHEMA } from "./deltafile.ts";
 * console.log((DELTAFILE_SCHEMA as { required: string[] }).required);
 * ```
 */
export const DELTAFILE_SCHEMA: unknown = schema;

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(value: unknown, expected: string): boolean {
  const actual = typeOf(value);
  return actual === expected || (expected === "number" && actual === "integer");
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeOf(a) !== typeOf(b) || typeof a !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ka = Object.keys(a as object);
  const ob = b as Record<string, unknown>;
  return ka.length === Object.keys(ob).length &&
    ka.every((k) => k in ob && deepEqual((a as Record<string, unknown>)[k], ob[k]));
}

function resolveRef(root: SchemaNode, ref: string): SchemaNode {
  const match = /^#\/definitions\/(.+)$/.exec(ref);
  const node = match ? root.definitions?.[match[1]] : undefined;
  if (!node) throw new Error(`Unsupported schema reference "${ref}"`);
  return node;
}

/**
 * Checks a value against a schema node; returns the first error message, or
 * null when valid. Messages name the JSON path at fault.
 */
function check(root: SchemaNode, node: SchemaNode, value: unknown, path: string): string | null {
  if (node.$ref) return check(root, resolveRef(root, node.$ref), value, path);
  if (node.type !== undefined) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (!types.some((t) => typeMatches(value, t))) {
      return `${path} is ${typeOf(value)}, expected ${types.join(" or ")}`;
    }
  }
  if (node.enum && !node.enum.some((option) => deepEqual(option, value))) {
    return `${path} is ${JSON.stringify(value)}, expected one of ${JSON.stringify(node.enum)}`;
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of node.required ?? []) {
      if (!(key in obj)) return `${path} lacks the required property "${key}"`;
    }
    for (const [key, item] of Object.entries(obj)) {
      const sub = node.properties?.[key];
      if (sub) {
        const error = check(root, sub, item, `${path}.${key}`);
        if (error) return error;
      } else if (node.additionalProperties === false) {
        return `${path} has the unexpected property "${key}"`;
      } else if (typeof node.additionalProperties === "object") {
        const error = check(root, node.additionalProperties, item, `${path}.${key}`);
        if (error) return error;
      }
    }
  }
  if (Array.isArray(value)) {
    if (node.items) {
      for (let i = 0; i < value.length; i++) {
        const error = check(root, node.items, value[i], `${path}[${i}]`);
        if (error) return error;
      }
    }
    if (node.uniqueItems) {
      for (let i = 0; i < value.length; i++) {
        for (let j = i + 1; j < value.length; j++) {
          if (deepEqual(value[i], value[j])) return `${path} has duplicate items ${i} and ${j}`;
        }
      }
    }
  }
  return null;
}

/**
 * Validates a parsed delta file against the deltafile schema. Returns the
 * first error message (with the JSON path at fault), or null when valid.
 *
 * @example
 * ```ts
 * import { deltafileError } from "./deltafile.ts";
 * deltafileError({ version: "1.0" }); // '$ lacks the required property "project"'
 * ```
 */
export function deltafileError(value: unknown): string | null {
  const root = schema as SchemaNode;
  return check(root, root, value, "$");
}

/**
 * Parses the text of a delta file and validates it against the schema.
 *
 * @throws {SyntaxError} when the text is not JSON.
 * @throws {TypeError} when the JSON does not follow the schema; the message names the path.
 * @example
 * ```ts
 * import { validateDeltafile } from "./deltafile.ts";
 * const file = validateDeltafile(JSON.stringify({
 *   version: "1.0", project: "p", id: "d", deltas: [], files: [],
 * }));
 * console.log(file.deltas.length); // 0
 * ```
 */
export function validateDeltafile(text: string): Deltafile {
  // The server strips NUL bytes from the JSON before parsing it.
  const value: unknown = JSON.parse(text.replaceAll("\\u0000", "").replaceAll("\0", ""));
  const error = deltafileError(value);
  if (error) throw new TypeError(`Deltafile does not follow the schema: ${error}`);
  return value as Deltafile;
}
