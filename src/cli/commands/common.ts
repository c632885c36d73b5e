/**
 * Printing helpers shared by the command groups.
 *
 * @module
 */

import type { Project } from "../../../mod.ts";
import type { Column, Output } from "../output.ts";

/** The columns of a project table. */
export const PROJECT_COLUMNS: readonly Column<Project>[] = [
  { header: "ID", value: (p) => p.id },
  { header: "OWNER", value: (p) => p.owner },
  { header: "NAME", value: (p) => p.name },
  { header: "PUBLIC", value: (p) => p.is_public ? "yes" : "no" },
  { header: "STATUS", value: (p) => p.status ?? "" },
  { header: "ROLE", value: (p) => p.user_role ?? "" },
];

/** Formats a value for a key/value listing. */
function show(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * Prints an object as `key  value` lines, keys in the given order or sorted.
 *
 * @example
 * ```ts ignore
 * printRecord(out, { id: "1", name: "p" });
 * ```
 */
export function printRecord(out: Output, record: object, keys?: readonly string[]): void {
  const data = record as Record<string, unknown>;
  const names = keys ?? Object.keys(data);
  out.table(names.map((key) => [key, show(data[key])] as const), [
    { header: "FIELD", value: (row) => row[0] },
    { header: "VALUE", value: (row) => row[1] },
  ]);
}

/** The order in which `get-project` shows a project's fields. */
export const PROJECT_FIELDS = [
  "id",
  "name",
  "owner",
  "description",
  "project_type",
  "is_public",
  "status",
  "user_role",
  "user_role_origin",
  "created_at",
  "updated_at",
  "data_last_packaged_at",
  "data_last_updated_at",
  "needs_repackaging",
  "can_repackage",
  "the_qgis_file_name",
  "file_storage_bytes",
  "is_shared_datasets_project",
  "shared_datasets_project_id",
  "has_restricted_projectfiles",
  "is_attachment_download_on_demand",
  "overwrite_conflicts",
  "is_featured",
] as const;
