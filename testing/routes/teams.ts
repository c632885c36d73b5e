/**
 * Team routes (opengisch/QFieldCloud `docker-app/qfieldcloud/core/views/teams_views.py`),
 * never paginated:
 * `GET|POST organizations/{org}/teams/`,
 * `GET|PUT|DELETE organizations/{org}/teams/{team}/`,
 * `GET|POST organizations/{org}/teams/{team}/members/` and
 * `DELETE organizations/{org}/teams/{team}/members/{member}/`.
 *
 * Any authenticated user may read; writes need the organization's owner or an
 * `admin` member. An unknown organization or team gives 403. Teams are stored
 * as accounts named `@<org>/<team>`.
 *
 * @module
 */
import { ApiError, type RequestContext, type Router } from "../router.ts";
import { teamShortName, teamUsername, type User } from "../entities.ts";
import type { ServerState } from "../server_state.ts";
import { organizationOf, stringField } from "./project_access.ts";

/**
 * The team JSON of the API: `{"team","organization","members"}`.
 *
 * @example
 * ```ts
 * import { teamJson } from "./teams.ts";
 * import type { ServerState } from "../server_state.ts";
 * import type { User } from "../entities.ts";
 * declare const state: ServerState, team: User;
 * teamJson(state, team).team; // the short name, e.g. "surveyors"
 * ```
 */
export function teamJson(state: ServerState, team: User): Record<string, unknown> {
  return {
    team: teamShortName(team),
    organization: team.organization?.username ?? null,
    members: state.teamMembersOf(team).map((m) => m.member.username),
  };
}

function teamOf(ctx: RequestContext, write: boolean): User {
  const org = organizationOf(ctx, write);
  const team = ctx.state.findTeam(org, ctx.params.team);
  if (!team) throw new ApiError("permission_denied");
  return team;
}

/** A new team name from the body: required, non-blank, and free in the organization. */
async function teamNameFrom(ctx: RequestContext, org: User): Promise<string> {
  const { data } = await ctx.parseBody();
  const name = stringField(data, "team");
  if (name === undefined || name.trim() === "") throw new ApiError("api_error", 400);
  if (ctx.state.findUser(teamUsername(org, name))) throw new ApiError("api_error", 400);
  return name;
}

function listTeams(ctx: RequestContext): Response {
  const org = organizationOf(ctx, false);
  return ctx.json(ctx.state.teamsOf(org).map((t) => teamJson(ctx.state, t)));
}

async function createTeam(ctx: RequestContext): Promise<Response> {
  const org = organizationOf(ctx, true);
  const name = await teamNameFrom(ctx, org);
  const team = ctx.state.addTeam(org, name);
  return ctx.json(teamJson(ctx.state, team), 201);
}

function getTeam(ctx: RequestContext): Response {
  return ctx.json(teamJson(ctx.state, teamOf(ctx, false)));
}

async function renameTeam(ctx: RequestContext): Promise<Response> {
  const team = teamOf(ctx, true);
  const org = team.organization!;
  const { data } = await ctx.parseBody();
  const name = stringField(data, "team");
  if (name === undefined || name.trim() === "") throw new ApiError("api_error", 400);
  if (name !== teamShortName(team)) {
    if (ctx.state.findUser(teamUsername(org, name))) throw new ApiError("api_error", 400);
    team.username = teamUsername(org, name);
  }
  return ctx.json(teamJson(ctx.state, team));
}

function deleteTeam(ctx: RequestContext): Response {
  ctx.state.deleteTeam(teamOf(ctx, true));
  return ctx.empty(204);
}

function listMembers(ctx: RequestContext): Response {
  const team = teamOf(ctx, false);
  return ctx.json(ctx.state.teamMembersOf(team).map((m) => ({ member: m.member.username })));
}

/** `User.objects.fast_search`: a username, else an e-mail (case-insensitive). */
function findPerson(state: ServerState, usernameOrEmail: string): User | undefined {
  const byName = state.findUser(usernameOrEmail);
  if (byName) return byName.type === "person" ? byName : undefined;
  const wanted = usernameOrEmail.toLowerCase();
  for (const u of state.users.values()) {
    if (u.type === "person" && u.email && u.email.toLowerCase() === wanted) return u;
  }
  return undefined;
}

async function addMember(ctx: RequestContext): Promise<Response> {
  const state = ctx.state;
  const team = teamOf(ctx, true);
  const { data } = await ctx.parseBody();
  const value = stringField(data, "member");
  if (value === undefined || value === "") throw new ApiError("api_error", 400);
  const member = findPerson(state, value);
  if (!member) throw new ApiError("api_error", 400);
  // The server's check is not scoped to this team: any team membership counts.
  if (state.teamMembers.some((m) => m.member === member)) throw new ApiError("api_error", 400);
  state.addTeamMember(team, member);
  return ctx.json({ member: member.username }, 201);
}

function removeMember(ctx: RequestContext): Response {
  const state = ctx.state;
  const team = teamOf(ctx, true);
  const member = state.findUser(ctx.params.member);
  const entry = member && state.findTeamMember(team, member);
  if (!entry) throw new ApiError("object_not_found");
  state.removeTeamMember(entry);
  return ctx.empty(204);
}

/**
 * Registers the team routes.
 *
 * @example
 * ```ts
 * import { register } from "./teams.ts";
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  const base = "organizations/<str:organization>/teams/";
  router.add("GET", base, listTeams);
  router.add("POST", base, createTeam);
  router.add("GET", `${base}<str:team>/`, getTeam);
  router.add("PUT", `${base}<str:team>/`, renameTeam);
  router.add("DELETE", `${base}<str:team>/`, deleteTeam);
  router.add("GET", `${base}<str:team>/members/`, listMembers);
  router.add("POST", `${base}<str:team>/members/`, addMember);
  router.add("DELETE", `${base}<str:team>/members/<str:member>/`, removeMember);
}
