/**
 * Authentication routes (opengisch/QFieldCloud `docker-app/qfieldcloud/authentication/views.py`):
 * `auth/login/` (= `auth/token/`),
 * `auth/logout/`, `auth/user/` and `auth/providers/`.
 *
 * @module
 */
import { ApiError, type RequestContext, type Router } from "../router.ts";
import { formatDateTime } from "../dates.ts";
import type { User } from "../entities.ts";

/** The credentials provider every server lists. */
export const CREDENTIALS_PROVIDER = {
  type: "credentials",
  id: "credentials",
  name: "Username / Password",
} as const;

/** The body of `core/serializers.py::TokenSerializer` for a new token. */
function tokenJson(user: User, key: string, expiresAt: Date): Record<string, unknown> {
  return {
    token: key,
    expires_at: formatDateTime(expiresAt),
    username: user.username,
    type: "1",
    email: user.email,
    avatar_url: null,
    first_name: user.firstName,
    last_name: user.lastName,
    full_name: `${user.firstName} ${user.lastName}`.trim(),
  };
}

function field(data: Record<string, unknown>, name: string): string | undefined {
  const value = data[name];
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : String(value);
}

/** Django's EmailValidator, roughly: `local@domain.tld`. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

async function login(ctx: RequestContext): Promise<Response> {
  const state = ctx.state;
  const { data } = await ctx.parseBody();
  const username = field(data, "username");
  const email = field(data, "email");
  const password = field(data, "password");
  // Serializer field validation comes first: a missing or blank password is a 400.
  if (password === undefined || password === "") throw new ApiError("api_error", 400);
  if (email && !EMAIL.test(email)) throw new ApiError("api_error", 400);
  const identifier = email || username;
  if (!identifier) throw new ApiError("authentication_failed");
  // django-axes: a locked-out username is refused even with the right password.
  if (state.isLoginLocked(identifier)) throw new ApiError("too_many_failed_login_attempts");
  const user = email
    ? [...state.users.values()].find((u) => u.email.toLowerCase() === email.toLowerCase())
    : state.findUserForLogin(identifier);
  if (!user || user.type !== "person" || user.password !== password) {
    if (state.recordLoginFailure(identifier)) {
      throw new ApiError("too_many_failed_login_attempts");
    }
    throw new ApiError("authentication_failed");
  }
  if (!user.isActive) throw new ApiError("authentication_failed");
  const token = state.createToken(user, ctx.headers.get("user-agent") ?? "");
  return ctx.json(tokenJson(user, token.key, token.expiresAt));
}

function logout(ctx: RequestContext): Response {
  if (ctx.user) ctx.state.expireTokens(ctx.user);
  return ctx.json({ detail: "Successfully logged out." });
}

function currentUser(ctx: RequestContext): Response {
  const user = ctx.requireUser();
  return ctx.json({
    pk: user.pk,
    username: user.username,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
  });
}

/**
 * Registers the authentication routes.
 *
 * @example
 * ```ts
 * import { Router } from "../router.ts";
 * import { ServerState } from "../server_state.ts";
 * import { register } from "./auth.ts";
 * register(new Router(new ServerState()));
 * ```
 */
export function register(router: Router): void {
  router.add("POST", "auth/login/", login, { allowAnonymous: true });
  router.add("POST", "auth/token/", login, { allowAnonymous: true });
  router.add("GET", "auth/logout/", logout, { allowAnonymous: true });
  router.add("POST", "auth/logout/", logout, { allowAnonymous: true });
  router.add("GET", "auth/user/", currentUser);
  router.add(
    "GET",
    "auth/providers/",
    (ctx) => ctx.json([CREDENTIALS_PROVIDER, ...ctx.state.ssoProviders]),
    { allowAnonymous: true },
  );
}
