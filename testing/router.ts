/**
 * HTTP plumbing of the test server: Django-like routing on the decoded path,
 * DRF-like authentication, error bodies, JSON responses and pagination.
 *
 * How route code uses it:
 * - A route file exports `register(router: Router, state: ServerState)` and
 *   calls `router.add(method, pattern, handler, options?)`. Patterns are
 *   relative to `/api/v1/`, end in `/`, and take `:name` (one segment) or
 *   Django converters: `<uuid:name>` (lower-case UUID, anything else is a
 *   Django HTML 404), `<path:name>` (one or more segments), `<pk:name>` (DRF
 *   router lookup `[^/.]+`), `<str:name>`. Params arrive decoded in `ctx.params`.
 * - Routes require an authenticated user unless `{ allowAnonymous: true }`;
 *   authentication always runs first (a bad token is a 401 everywhere).
 * - Throw `new ApiError("object_not_found")` (status and message come from the
 *   {@linkcode ERRORS} table) or `new ApiError("api_error", 405)`; any other exception
 *   becomes `500 unknown_error`.
 * - Answer with `ctx.json(data, status?)`, `ctx.empty(status?)` (no
 *   Content-Type), or `ctx.paginate(items)` for paginated lists.
 * - Bodies: `await ctx.parseBody()` gives `{ data, files }` for JSON, form or
 *   multipart requests (files buffered); `ctx.multipart()` streams parts.
 *
 * @module
 */
import { multipartBoundary, type MultipartPart, parseMultipart } from "./multipart.ts";
import type { AuthToken, User } from "./entities.ts";
import type { ServerState } from "./server_state.ts";

/**
 * Error codes with their message and status, as the server's exception handler answers them
 * (opengisch/QFieldCloud `docker-app/qfieldcloud/core/rest_utils.py` and `core/exceptions.py`).
 */
export const ERRORS = {
  authentication_failed: ["Authentication failed", 401],
  token_authentication_failed: ["Token authentication failed", 401],
  not_authenticated: ["Not authenticated", 401],
  too_many_failed_login_attempts: ["Too many failed login attempts!", 401],
  permission_denied: ["Permission denied", 403],
  restricted_project_modification: ["Restricted project modification", 403],
  inactive_subscription: ["Permission denied because the subscription is inactive", 403],
  permission_denied_plan_insufficient: [
    "Permission denied because the useraccount's plan is insufficient",
    403,
  ],
  permission_denied_inactive: ["Permission denied because the useraccount is inactive", 403],
  organization_has_max_number_of_members: [
    "Cannot add new organization members, account limit has been reached.",
    403,
  ],
  object_not_found: ["Object not found", 404],
  validation_error: ["Validation error", 400],
  empty_content: ["Empty content", 400],
  multiple_contents: ["Multiple contents", 400],
  explicit_deletion_of_last_version: [
    "Explicit deletion of last file version is not allowed!",
    400,
  ],
  invalid_qgis_project_file: ["Invalid QGIS project file", 400],
  multiple_projects: ["Multiple projects", 400],
  invalid_deltafile: ["Invalid deltafile", 400],
  no_deltas_to_apply: ["No deltas to apply", 400],
  no_qgis_project: ["The project does not contain a valid QGIS project file", 400],
  invalid_job: ["Invalid job", 400],
  project_already_exists: ["This user already owns a project with the same name.", 400],
  qgis_project_file_not_allowed: ["QGIS project files are not allowed in this project.", 400],
  not_cloneable_project: ["This project cannot be cloned.", 400],
  operation_not_allowed_for_template_project: [
    "This operation is not allowed on a template project.",
    400,
  ],
  over_quota: ["Quota error", 402],
  invalid_http_range: ["The provided HTTP range header is invalid.", 416],
  api_error: ["API Error", 400],
  unexpected_project_collaborator: ["Project creator is already a project collaborator.", 500],
  unknown_error: ["QFieldcloud Unknown Error", 500],
} as const satisfies Record<string, readonly [string, number]>;

/** An error code of the server. */
export type ErrorCode = keyof typeof ERRORS;

/**
 * An API error, answered as `{"code","message"}` with the code's status.
 *
 * @example
 * ```ts
 * import { ApiError } from "./router.ts";
 * throw new ApiError("object_not_found"); // 404 {"code":"object_not_found","message":"Object not found"}
 * ```
 */
export class ApiError extends Error {
  /** The error code. */
  readonly code: ErrorCode;
  /** The HTTP status. */
  readonly status: number;
  /** Extra response headers. */
  readonly headers: Record<string, string>;

  /**
   * Creates the error; `status` overrides the table (DRF errors carried as
   * `api_error`), `message` overrides the class constant (only the delta
   * project-id mismatch does that on the real server).
   */
  constructor(
    code: ErrorCode,
    status?: number,
    message?: string,
    headers: Record<string, string> = {},
  ) {
    super(message ?? ERRORS[code][0]);
    this.name = new.target.name;
    this.code = code;
    this.status = status ?? ERRORS[code][1];
    this.headers = headers;
  }
}

/** HTTP methods the router knows. */
export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/** A route handler. */
export type Handler = (ctx: RequestContext) => Response | Promise<Response>;

/** Options of {@linkcode Router.add}. */
export interface RouteOptions {
  /** Let anonymous requests through (DRF `AllowAny`); default false (`IsAuthenticated`). */
  allowAnonymous?: boolean;
}

/** A buffered file part of a multipart body. */
export interface UploadedFile {
  /** Field name. */
  field: string;
  /** Part filename. */
  filename: string;
  /** Part Content-Type, or empty. */
  contentType: string;
  /** The bytes. */
  content: Uint8Array;
}

/** What {@linkcode RequestContext.parseBody} returns. */
export interface ParsedBody {
  /**
   * The fields: a JSON object's members, or the last value of each form or
   * multipart field (as strings).
   */
  data: Record<string, unknown>;
  /** File parts of a multipart body (parts with a non-empty filename). */
  files: UploadedFile[];
}

const JSON_HEADERS = { "content-type": "application/json", "vary": "Accept" };

/**
 * A compact JSON response (`Content-Type: application/json`, no charset).
 *
 * @example
 * ```ts
 * import { jsonResponse } from "./router.ts";
 * jsonResponse({ a: 1 }, 201).headers.get("content-type"); // "application/json"
 * ```
 */
export function jsonResponse(
  data: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(data), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/**
 * An empty response without Content-Type (204, delta push 200).
 *
 * @example
 * ```ts
 * import { emptyResponse } from "./router.ts";
 * emptyResponse().status; // 204
 * ```
 */
export function emptyResponse(status = 204, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers });
}

/** The error body of an {@linkcode ApiError}. */
export function errorResponse(error: ApiError): Response {
  return jsonResponse({ code: error.code, message: error.message }, error.status, error.headers);
}

const NOT_FOUND_HTML = `<!doctype html>
<html lang="en">
<head>
  <title>Not Found</title>
</head>
<body>
  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>
</body>
</html>
`;

/** Django's default HTML 404 page (DEBUG off, no `handler404`). */
export function htmlNotFound(): Response {
  return new Response(NOT_FOUND_HTML, {
    status: 404,
    headers: { "content-type": "text/html; charset=utf-8" },
  });
}

/** Python `quote_plus` (safe: alphanumerics and `_.-~`; space becomes `+`). */
function quotePlus(value: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.\-~]/.test(c)) out += c;
    else if (byte === 32) out += "+";
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Python `parse_qs(query, keep_blank_values=True)`, keeping key order of first appearance. */
function parseQs(query: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const piece of query.split(/[&]/)) {
    if (!piece) continue;
    const eq = piece.indexOf("=");
    const rawKey = eq === -1 ? piece : piece.slice(0, eq);
    const rawValue = eq === -1 ? "" : piece.slice(eq + 1);
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, " "));
      } catch {
        return s.replace(/\+/g, " ");
      }
    };
    const key = decode(rawKey);
    out.set(key, [...(out.get(key) ?? []), decode(rawValue)]);
  }
  return out;
}

/** DRF `replace_query_param`/`remove_query_param`: rebuilds the query with sorted keys. */
function rebuildUrl(url: URL, set: Record<string, string>, remove: string[] = []): string {
  const params = parseQs(url.search.slice(1));
  for (const [k, v] of Object.entries(set)) params.set(k, [v]);
  for (const k of remove) params.delete(k);
  const keys = [...params.keys()].sort();
  const query = keys.flatMap((k) => params.get(k)!.map((v) => `${quotePlus(k)}=${quotePlus(v)}`))
    .join("&");
  return `${url.origin}${url.pathname}${query ? `?${query}` : ""}`;
}

/** Python `int()` on a query value, or undefined. */
function pythonInt(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (!/^\s*[+-]?\d+(_\d+)*\s*$/.test(value)) return undefined;
  return Number.parseInt(value.replace(/_/g, "").trim(), 10);
}

/** Decodes a URL path like Django: `%2F` becomes `/`, broken UTF-8 is replaced. */
export function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (c === "%" && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
        bytes.push(Number.parseInt(raw.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(...new TextEncoder().encode(c));
      }
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  }
}

/** Everything a handler needs about one request. */
export class RequestContext {
  /** The server state. */
  readonly state: ServerState;
  /** The request. */
  readonly request: Request;
  /** The request URL, with scheme and host as the client sees them. */
  readonly url: URL;
  /** Route params, decoded. */
  readonly params: Record<string, string>;
  /** The authenticated user, or undefined for anonymous requests. */
  readonly user: User | undefined;
  /** The token that authenticated the request, if any. */
  readonly token: AuthToken | undefined;
  /** The client's address (for login throttling). */
  readonly remoteAddr: string;
  #parsed: Promise<ParsedBody> | undefined;

  /** Creates a context (the router does this). */
  constructor(init: {
    state: ServerState;
    request: Request;
    url: URL;
    params: Record<string, string>;
    user: User | undefined;
    token: AuthToken | undefined;
    remoteAddr: string;
  }) {
    this.state = init.state;
    this.request = init.request;
    this.url = init.url;
    this.params = init.params;
    this.user = init.user;
    this.token = init.token;
    this.remoteAddr = init.remoteAddr;
  }

  /** The query parameters. */
  get query(): URLSearchParams {
    return this.url.searchParams;
  }

  /** The request headers. */
  get headers(): Headers {
    return this.request.headers;
  }

  /** The request method. */
  get method(): string {
    return this.request.method;
  }

  /** Last value of a query parameter (Django's `QueryDict.get`), or null. */
  queryParam(name: string): string | null {
    const all = this.url.searchParams.getAll(name);
    return all.length ? all[all.length - 1] : null;
  }

  /** The authenticated user; throws `401 not_authenticated` for anonymous requests. */
  requireUser(): User {
    if (!this.user) throw new ApiError("not_authenticated");
    return this.user;
  }

  /** A JSON response. */
  json(data: unknown, status = 200, headers: Record<string, string> = {}): Response {
    return jsonResponse(data, status, headers);
  }

  /** An empty response without Content-Type. */
  empty(status = 204, headers: Record<string, string> = {}): Response {
    return emptyResponse(status, headers);
  }

  /**
   * An absolute URL for the current request with some query parameters
   * replaced or removed (DRF `build_absolute_uri` + `replace_query_param`).
   */
  absoluteUrl(set: Record<string, string>, remove: string[] = []): string {
    return rebuildUrl(this.url, set, remove);
  }

  /**
   * A paginated list response (`QfcLimitOffsetPagination`): a bare array; with
   * a valid `limit`, the page plus `X-Total-Count`, `X-Next-Page` and
   * `X-Previous-Page`.
   */
  paginate<T>(items: readonly T[], headers: Record<string, string> = {}): Response {
    const page = paginate(this, items);
    return jsonResponse(page.items, 200, { ...headers, ...page.headers });
  }

  /**
   * Parses a JSON, form or multipart body (DRF `request.data`), once. Files of
   * a multipart body are buffered. Unsupported content types give
   * `415 api_error`, malformed bodies `400 api_error`.
   */
  parseBody(): Promise<ParsedBody> {
    this.#parsed ??= this.#parse();
    return this.#parsed;
  }

  async #parse(): Promise<ParsedBody> {
    const type = (this.request.headers.get("content-type") ?? "").split(";")[0].trim()
      .toLowerCase();
    const body = this.request.body;
    if (type === "multipart/form-data") {
      const data: Record<string, unknown> = {};
      const files: UploadedFile[] = [];
      for await (const part of this.multipart()) {
        const content = new Uint8Array(await new Response(part.body).arrayBuffer());
        if (part.filename !== undefined) {
          if (part.filename === "") continue; // Django skips file parts without a name
          files.push({
            field: part.name,
            filename: part.filename,
            contentType: part.headers.get("content-type") ?? "",
            content,
          });
        } else {
          data[part.name] = new TextDecoder().decode(content);
        }
      }
      return { data, files };
    }
    const bytes = body ? new Uint8Array(await new Response(body).arrayBuffer()) : new Uint8Array();
    if (bytes.byteLength === 0) return { data: {}, files: [] };
    if (type === "application/json" || type.endsWith("+json")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        throw new ApiError("api_error", 400);
      }
      const data = parsed && typeof parsed === "object" && !Array.isArray(parsed)
        ? parsed as Record<string, unknown>
        : {};
      return { data, files: [] };
    }
    if (type === "application/x-www-form-urlencoded") {
      const data: Record<string, unknown> = {};
      for (const [k, v] of parseQs(new TextDecoder().decode(bytes))) data[k] = v[v.length - 1];
      return { data, files: [] };
    }
    throw new ApiError("api_error", 415);
  }

  /**
   * Streams the parts of a multipart body. A request that is not
   * multipart/form-data yields nothing; a malformed one throws `400 api_error`.
   */
  async *multipart(): AsyncGenerator<MultipartPart> {
    const boundary = multipartBoundary(this.request.headers.get("content-type"));
    if (!boundary || !this.request.body) return;
    try {
      yield* parseMultipart(this.request.body, boundary);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw new ApiError("api_error", 400, undefined);
    }
  }
}

/** The page of a list and its headers. */
export interface Page<T> {
  /** The items of the page (all items when not paginated). */
  items: T[];
  /** `X-Total-Count`, `X-Next-Page`, `X-Previous-Page` when paginated. */
  headers: Record<string, string>;
}

/**
 * DRF `LimitOffsetPagination` as QFieldCloud configures it (opengisch/QFieldCloud
 * `docker-app/qfieldcloud/core/pagination.py`):
 * opt-in by a strictly positive `limit`; `offset` without `limit` is ignored.
 *
 * @example
 * ```ts
 * import { paginate } from "./router.ts";
 * declare const ctx: import("./router.ts").RequestContext;
 * const { items, headers } = paginate(ctx, [1, 2, 3]);
 * ```
 */
export function paginate<T>(ctx: RequestContext, items: readonly T[]): Page<T> {
  const limit = pythonInt(ctx.queryParam("limit"));
  if (limit === undefined || limit <= 0) return { items: [...items], headers: {} };
  let offset = pythonInt(ctx.queryParam("offset")) ?? 0;
  if (offset < 0) offset = 0;
  const count = items.length;
  const page = count === 0 || offset > count ? [] : items.slice(offset, offset + limit);
  const headers: Record<string, string> = { "X-Total-Count": String(count) };
  if (offset + limit < count) {
    headers["X-Next-Page"] = ctx.absoluteUrl({
      limit: String(limit),
      offset: String(offset + limit),
    });
  }
  if (offset > 0) {
    headers["X-Previous-Page"] = offset - limit <= 0
      ? ctx.absoluteUrl({ limit: String(limit) }, ["offset"])
      : ctx.absoluteUrl({ limit: String(limit), offset: String(offset - limit) });
  }
  return { items: page, headers };
}

interface Converter {
  regex: string;
}

const CONVERTERS: Record<string, Converter> = {
  str: { regex: "[^/]+" },
  uuid: { regex: "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}" },
  path: { regex: ".+" },
  pk: { regex: "[^/.]+" },
  slug: { regex: "[-a-zA-Z0-9_]+" },
  int: { regex: "[0-9]+" },
};

interface RouteEntry {
  pattern: string;
  regex: RegExp;
  names: string[];
  handlers: Map<string, { handler: Handler; options: RouteOptions }>;
}

function compilePattern(pattern: string): { regex: RegExp; names: string[] } {
  if (pattern.startsWith("/")) {
    throw new TypeError(`Route pattern "${pattern}" must be relative to /api/v1/`);
  }
  const names: string[] = [];
  let source = "";
  const token = /<(\w+):(\w+)>|:(\w+)/g;
  let last = 0;
  for (const m of pattern.matchAll(token)) {
    source += pattern.slice(last, m.index).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const conv = m[1] ?? "str";
    const name = m[2] ?? m[3];
    const converter = CONVERTERS[conv];
    if (!converter) throw new TypeError(`Unknown converter "${conv}" in route "${pattern}"`);
    names.push(name);
    source += `(${converter.regex})`;
    last = m.index + m[0].length;
  }
  source += pattern.slice(last).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return { regex: new RegExp(`^${source}$`), names };
}

const METHOD_ORDER = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/** What the server tells the router about the connection. */
export interface RequestInfo {
  /** The client's address. */
  remoteAddr: string;
  /** The scheme the client used (default: the request URL's). */
  scheme?: "http" | "https";
}

/** Options of {@linkcode Router}. */
export interface RouterOptions {
  /** Do not log unexpected handler errors to the console. */
  quiet?: boolean;
}

/**
 * Session authentication in front of the routes (the single sign-on mode's
 * `SsoMiddleware`): runs before token authentication, as Django middleware does.
 */
export interface SessionLayer {
  /** Finds the request's session user or logs one in; `response` replaces the whole answer. */
  process(request: Request): Promise<{ user?: User; setCookies: string[]; response?: Response }>;
  /** Throws `403 permission_denied` when an unsafe request lacks a matching CSRF token. */
  enforceCsrf(request: Request, url: URL): void;
}

/** The API prefix every route lives under. */
export const API_PREFIX = "/api/v1/";

/**
 * Routes requests to handlers, Django style: the first pattern that matches
 * the decoded path wins, then the method is looked up on it.
 *
 * @example
 * ```ts
 * import { Router } from "./router.ts";
 * import { ServerState } from "./server_state.ts";
 * const router = new Router(new ServerState());
 * router.add("GET", "ping/", (ctx) => ctx.json({ pong: true }), { allowAnonymous: true });
 * const res = await router.handle(new Request("http://127.0.0.1/api/v1/ping/"));
 * ```
 */
export class Router {
  /** The state handed to handlers. */
  readonly state: ServerState;
  /** Session authentication, when single sign-on is on. */
  sessions?: SessionLayer;
  #routes: RouteEntry[] = [];
  #quiet: boolean;

  /** Creates a router over a state. */
  constructor(state: ServerState, options: RouterOptions = {}) {
    this.state = state;
    this.#quiet = options.quiet ?? false;
  }

  /**
   * Registers a handler for a method and a pattern (relative to `/api/v1/`,
   * ending in `/`). Registering the same pattern again adds methods to it.
   */
  add(method: Method, pattern: string, handler: Handler, options: RouteOptions = {}): void {
    let entry = this.#routes.find((r) => r.pattern === pattern);
    if (!entry) {
      const { regex, names } = compilePattern(pattern);
      entry = { pattern, regex, names, handlers: new Map() };
      this.#routes.push(entry);
    }
    if (entry.handlers.has(method)) {
      throw new TypeError(`Route ${method} "${pattern}" is already registered`);
    }
    entry.handlers.set(method, { handler, options });
  }

  #match(path: string): { entry: RouteEntry; params: Record<string, string> } | undefined {
    for (const entry of this.#routes) {
      const m = entry.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      entry.names.forEach((name, i) => params[name] = m[i + 1]);
      return { entry, params };
    }
    return undefined;
  }

  /**
   * Authenticates a request (DRF `TokenAuthentication`, opengisch/QFieldCloud
   * `docker-app/qfieldcloud/authentication/authentication.py`):
   * undefined for anonymous requests, or throws the 401 error.
   */
  authenticate(request: Request): AuthToken | undefined {
    const header = request.headers.get("authorization");
    if (!header) return undefined;
    const parts = header.split(/\s+/).filter((p) => p !== "");
    if (parts.length === 0 || parts[0].toLowerCase() !== "token") return undefined;
    if (parts.length !== 2) throw new ApiError("authentication_failed");
    const token = this.state.tokens.get(parts[1]);
    const now = new Date();
    if (!token || token.expiresAt <= now || !token.user.isActive) {
      throw new ApiError("token_authentication_failed");
    }
    token.lastUsedAt = now;
    return token;
  }

  /** Handles one request. */
  async handle(
    request: Request,
    info: RequestInfo = { remoteAddr: "127.0.0.1" },
  ): Promise<Response> {
    const url = new URL(request.url);
    if (info.scheme) url.protocol = `${info.scheme}:`;
    const forwardedProto = request.headers.get("x-forwarded-proto");
    if (forwardedProto === "https" || forwardedProto === "http") {
      url.protocol = `${forwardedProto}:`;
    }
    const decoded = decodePath(url.pathname);
    const match = decoded.startsWith(API_PREFIX)
      ? this.#match(decoded.slice(API_PREFIX.length))
      : undefined;
    if (!match) {
      // CommonMiddleware/APPEND_SLASH: a missing slash is a 301 when the
      // slashed path would match (for any method with DEBUG off).
      if (!decoded.endsWith("/")) {
        const slashed = `${decoded}/`;
        if (slashed.startsWith(API_PREFIX) && this.#match(slashed.slice(API_PREFIX.length))) {
          return new Response(null, {
            status: 301,
            headers: {
              "location": `${url.pathname}/${url.search}`,
              "content-type": "text/html; charset=utf-8",
            },
          });
        }
      }
      return htmlNotFound();
    }
    const { entry, params } = match;
    let route = entry.handlers.get(request.method);
    let stripBody = false;
    if (!route && request.method === "HEAD") {
      route = entry.handlers.get("GET");
      stripBody = true;
    }
    const allow = METHOD_ORDER.filter((m) =>
      entry.handlers.has(m) || (m === "HEAD" && entry.handlers.has("GET")) || m === "OPTIONS"
    ).join(", ");
    let response: Response;
    const session = await this.sessions?.process(request);
    if (session?.response) return session.response;
    try {
      const token = this.authenticate(request);
      let user = token?.user;
      // DRF's SessionAuthentication comes after the token and checks CSRF.
      if (!user && session?.user) {
        this.sessions!.enforceCsrf(request, url);
        user = session.user;
      }
      const allowAnonymous = route
        ? route.options.allowAnonymous
        : [...entry.handlers.values()].every((h) => h.options.allowAnonymous);
      if (!user && !allowAnonymous) throw new ApiError("not_authenticated");
      if (!route) throw new ApiError("api_error", 405);
      const ctx = new RequestContext({
        state: this.state,
        request,
        url,
        params,
        user,
        token,
        remoteAddr: info.remoteAddr,
      });
      response = await route.handler(ctx);
    } catch (e) {
      response = errorResponse(
        e instanceof ApiError ? e : new ApiError("unknown_error"),
      );
      if (!(e instanceof ApiError) && !this.#quiet) console.error(e);
    }
    // Like nginx buffering the upload: the body is read in full before answering.
    if (request.body && !request.body.locked) {
      await request.body.pipeTo(new WritableStream()).catch(() => {});
    }
    if (response.headers.get("content-type") === "application/json") {
      response.headers.set("allow", allow);
    }
    for (const cookie of session?.setCookies ?? []) response.headers.append("set-cookie", cookie);
    if (stripBody) {
      await response.body?.cancel();
      return new Response(null, { status: response.status, headers: response.headers });
    }
    return response;
  }
}
