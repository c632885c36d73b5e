/**
 * Shared lookups of the job, package, delta and collaborator routes: UUID
 * parsing as Python's `uuid.UUID`, project lookup with the server's error
 * codes, and role checks (opengisch/QFieldCloud
 * `docker-app/qfieldcloud/core/permissions_utils.py`).
 *
 * @module
 */
import { ApiError, type RequestContext } from "../router.ts";
import type { Project, ProjectRole, User } from "../entities.ts";
import { projectRole, roleAtLeast } from "../project_rules.ts";
import type { ServerState } from "../server_state.ts";

/**
 * Parses a UUID as Python's `uuid.UUID(str)` does (hyphens, braces and a
 * `urn:uuid:` prefix optional, any case) and returns its canonical lower-case
 * form, or undefined.
 *
 * @example
 * ```ts
 * import { parseUuid } from "./project_access.ts";
 * parseUuid("{0F8FAD5B-D9CB-469F-A165-70867728950E}"); // "0f8fad5b-d9cb-469f-a165-70867728950e"
 * ```
 */
export function parseUuid(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const hex = value.replace(/^urn:/i, "").replace(/^uuid:/i, "").replace(/^\{|\}$/g, "")
    .replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Looks a project up by an id coming from a query or a body field, as
 * `Project.objects.get(id=…)`: missing or unknown → `404 object_not_found`,
 * not a UUID → `400 validation_error`.
 *
 * @example
 * ```ts
 * import { projectById } from "./project_access.ts";
 * import type { RequestContext } from "../router.ts";
 * declare const ctx: RequestContext;
 * const project = projectById(ctx.state, ctx.queryParam("project_id"));
 * ```
 */
export function projectById(state: ServerState, value: unknown): Project {
  if (value === undefined || value === null || value === "") throw new ApiError("object_not_found");
  const id = parseUuid(typeof value === "number" ? String(value) : value);
  if (!id) throw new ApiError("validation_error");
  const project = state.findProject(id);
  if (!project) throw new ApiError("object_not_found");
  return project;
}

/**
 * The caller's role on a project, or `403 permission_denied` when it is
 * missing or below `minimum`.
 *
 * @example
 * ```ts
 * import { requireRole } from "./project_access.ts";
 * import type { RequestContext } from "../router.ts";
 * import type { Project } from "../entities.ts";
 * declare const ctx: RequestContext, project: Project;
 * requireRole(ctx.state, ctx.user, project, "reporter");
 * ```
 */
export function requireRole(
  state: ServerState,
  user: User | undefined,
  project: Project,
  minimum: ProjectRole = "reader",
): ProjectRole {
  const role = projectRole(state, user, project)?.role;
  if (!role || !roleAtLeast(role, minimum)) throw new ApiError("permission_denied");
  return role;
}

/**
 * Parses a form/JSON value as Python's `bool(int(value))`; anything `int()`
 * rejects (e.g. `"true"`) is a `500 unknown_error`, as on the server.
 *
 * @example
 * ```ts
 * import { pythonBoolInt } from "./project_access.ts";
 * pythonBoolInt(" 1 "); // true
 * ```
 */
export function pythonBoolInt(value: unknown, fallback = false): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value)) return Math.trunc(value) !== 0;
  if (typeof value === "string" && /^\s*[+-]?\d+(_\d+)*\s*$/.test(value)) {
    return Number.parseInt(value.replaceAll("_", "").trim(), 10) !== 0;
  }
  throw new ApiError("unknown_error");
}

/**
 * A body field as a string (form values are strings already), or undefined.
 *
 * @example
 * ```ts
 * import { stringField } from "./project_access.ts";
 * stringField({ role: "editor" }, "role"); // "editor"
 * ```
 */
export function stringField(data: Record<string, unknown>, name: string): string | undefined {
  const value = data[name];
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : String(value);
}

/**
 * The organization named in the URL (`:organization`). Missing accounts, accounts that are not
 * organizations, and (with `write`) callers who are not its admins all get 403, as on the server.
 *
 * @example
 * ```ts ignore
 * const org = organizationOf(ctx, true);
 * ```
 */
export function organizationOf(ctx: RequestContext, write: boolean): User {
  const org = ctx.state.findOrganization(ctx.params.organization);
  if (!org) throw new ApiError("permission_denied");
  if (write && !ctx.state.isOrganizationAdmin(org, ctx.user)) {
    throw new ApiError("permission_denied");
  }
  return org;
}
