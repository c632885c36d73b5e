/**
 * Organization member routes (opengisch/QFieldCloud
 * `docker-app/qfieldcloud/core/views/members_views.py`): `GET|POST members/{org}/` and
 * `GET|PUT|PATCH|DELETE members/{org}/{username}/`. Any authenticated user may
 * read the members of an organization; writes need the organization's owner
 * or an `admin` member. An account that does not exist or is not an
 * organization gives 403.
 *
 * @module
 */
import { ApiError, type RequestContext, type Router } from "../router.ts";
import type { OrganizationMember, OrganizationRole, User } from "../entities.ts";
import { organizationOf, stringField } from "./project_access.ts";

/**
 * The member JSON of the API.
 *
 * @example
 * ```ts
 * import { memberJson } from "./members.ts";
 * import type { OrganizationMember } from "../entities.ts";
 * declare const m: OrganizationMember;
 * memberJson(m).member;
 * ```
 */
export function memberJson(m: OrganizationMember): Record<string, unknown> {
  return {
    organization: m.organization.username,
    member: m.member.username,
    role: m.role,
    is_public: m.isPublic,
  };
}

function isOrganizationRole(value: unknown): value is OrganizationRole {
  return value === "admin" || value === "member";
}

const TRUE_VALUES = new Set([
  "t",
  "T",
  "y",
  "Y",
  "yes",
  "Yes",
  "YES",
  "true",
  "True",
  "TRUE",
  "on",
  "On",
  "ON",
  "1",
]);
const FALSE_VALUES = new Set([
  "f",
  "F",
  "n",
  "N",
  "no",
  "No",
  "NO",
  "false",
  "False",
  "FALSE",
  "off",
  "Off",
  "OFF",
  "0",
]);

/** DRF `BooleanField`: the usual spellings, else `400 api_error`. */
function drfBoolean(value: unknown): boolean {
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  if (typeof value === "string" && TRUE_VALUES.has(value)) return true;
  if (typeof value === "string" && FALSE_VALUES.has(value)) return false;
  throw new ApiError("api_error", 400);
}

function membershipOf(ctx: RequestContext, org: User): OrganizationMember {
  const user = ctx.state.findUser(ctx.params.username);
  const membership = user && ctx.state.findMember(org, user);
  if (!membership) throw new ApiError("object_not_found");
  return membership;
}

function list(ctx: RequestContext): Response {
  const org = organizationOf(ctx, false);
  return ctx.paginate(ctx.state.membersOf(org).map(memberJson));
}

async function add(ctx: RequestContext): Promise<Response> {
  const state = ctx.state;
  const org = organizationOf(ctx, true);
  const { data } = await ctx.parseBody();
  const username = stringField(data, "member");
  if (username === undefined) throw new ApiError("unknown_error"); // request.data["member"]: KeyError
  const member = state.findUser(username);
  if (!member) throw new ApiError("object_not_found");
  const role = data["role"] ?? "member";
  if (!isOrganizationRole(role)) throw new ApiError("api_error", 400);
  const isPublic = data["is_public"] === undefined ? false : drfBoolean(data["is_public"]);
  // `OrganizationMember.save` → `full_clean`.
  if (!state.mayJoinOrganization(org, member)) throw new ApiError("validation_error");
  const membership = state.addOrganizationMember(org, member, role, isPublic);
  return ctx.json(memberJson(membership), 201);
}

function get(ctx: RequestContext): Response {
  const org = organizationOf(ctx, false);
  return ctx.json(memberJson(membershipOf(ctx, org)));
}

async function update(ctx: RequestContext): Promise<Response> {
  const org = organizationOf(ctx, true);
  const membership = membershipOf(ctx, org);
  const { data } = await ctx.parseBody();
  const role = data["role"];
  if (role === undefined && ctx.method === "PUT") throw new ApiError("api_error", 400);
  if (role !== undefined && !isOrganizationRole(role)) throw new ApiError("api_error", 400);
  const isPublic = data["is_public"] === undefined ? undefined : drfBoolean(data["is_public"]);
  if (role !== undefined) membership.role = role;
  if (isPublic !== undefined) membership.isPublic = isPublic;
  membership.updatedAt = ctx.state.now();
  return ctx.json(memberJson(membership));
}

function remove(ctx: RequestContext): Response {
  const org = organizationOf(ctx, true);
  ctx.state.removeOrganizationMember(membershipOf(ctx, org));
  return ctx.empty(204);
}

/**
 * Registers the organization member routes.
 *
 * @example
 * ```ts
 * import { register } from "./members.ts";
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("GET", "members/<str:organization>/", list);
  router.add("POST", "members/<str:organization>/", add);
  router.add("GET", "members/<str:organization>/<str:username>/", get);
  router.add("PUT", "members/<str:organization>/<str:username>/", update);
  router.add("PATCH", "members/<str:organization>/<str:username>/", update);
  router.add("DELETE", "members/<str:organization>/<str:username>/", remove);
}
