/**
 * `POST users/`: staff users create person accounts (opengisch/QFieldCloud#1506).
 *
 * Verified in public sources: the route is the existing `users/` one, it
 * requires `is_staff` (the PR's description), and the official SDK posts the
 * form fields `username`, `password` and `email`. The view's source (now public as
 * opengisch/QFieldCloud `docker-app/qfieldcloud/core/views/users_views.py`) was not
 * available when this was written, so the rest follows Django/DRF behavior and is
 * marked [inf] (inferred):
 * missing or invalid fields give `400 api_error`, a taken username gives
 * `409` (what HOT field-tm, the endpoint's author, handles as "already
 * exists"), a taken e-mail `400 api_error` (e-mails are unique), and the
 * answer is `201` with the new user.
 *
 * @module
 */
import { ApiError, type RequestContext, type Router } from "../router.ts";
import type { User } from "../entities.ts";

/** Django's `UnicodeUsernameValidator` and the 150-character limit of `username` [inf]. */
const USERNAME_RE = /^[\p{L}\p{N}_.@+-]{1,150}$/u;

/** Django's `EmailValidator`, simplified: something@domain.tld [inf]. */
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function field(data: Record<string, unknown>, name: string): string | undefined {
  const value = data[name];
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : String(value);
}

function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The answer for a created user (fields of `CompleteUserSerializer` that a new user has) [inf]. */
function createdUserJson(user: User): Record<string, unknown> {
  return {
    username: user.username,
    type: 1,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
  };
}

async function createUser(ctx: RequestContext): Promise<Response> {
  const caller = ctx.requireUser();
  if (!caller.isStaff) throw new ApiError("permission_denied");
  const { data } = await ctx.parseBody();
  const username = field(data, "username");
  const password = field(data, "password");
  const email = field(data, "email") ?? "";
  if (!username || !password || !USERNAME_RE.test(username)) {
    throw new ApiError("api_error", 400);
  }
  if (email !== "" && !EMAIL_RE.test(email)) throw new ApiError("api_error", 400);
  const users = [...ctx.state.users.values()];
  if (users.some((u) => sameText(u.username, username))) throw new ApiError("api_error", 409);
  if (email !== "" && users.some((u) => u.email !== "" && sameText(u.email, email))) {
    throw new ApiError("api_error", 400);
  }
  const user = ctx.state.addUser({ username, password, email });
  return ctx.json(createdUserJson(user), 201);
}

/**
 * Registers `POST users/` (authenticated staff only).
 *
 * @example
 * ```ts
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * import { register } from "./users.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("POST", "users/", createUser);
}
