/**
 * The one request core every call goes through: URL building and
 * percent-encoding, authentication, timeouts, retries with backoff, error
 * mapping and pagination. The client's resource methods and the file-transfer
 * engine are thin layers on top of it.
 *
 * @module
 */
import { runPool } from "./pool.ts";
import { QfcException, QfcRequestException } from "./errors.ts";
import { DEFAULT_PAGINATION_LIMIT, type Pagination } from "./pagination.ts";
import { VERSION } from "./version.ts";
import { delay } from "./delay.ts";
import { type Authenticator, TokenAuth } from "./auth.ts";

/** A `fetch`-compatible function; inject one to add TLS options, logging or a test double. */
export type FetchLike = (input: Request | URL | string, init?: RequestInit) => Promise<Response>;

/** A value of a query parameter or form field; `null` and `undefined` are left out. */
export type QueryValue = string | number | boolean | null | undefined;

/** HTTP methods the API uses. */
export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/** How failed idempotent requests are retried. */
export interface RetryOptions {
  /** Tries in total, the first included; 1 turns retries off. Default 4. */
  attempts?: number;
  /** Delay before the first retry, doubled for each further one (with jitter). Default 250 ms. */
  baseDelayMs?: number;
  /** Longest backoff delay. Default 8000 ms. A `Retry-After` up to 60 s is honored as given. */
  maxDelayMs?: number;
}

/** A {@linkcode RetryOptions} with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** Fills in the defaults of {@linkcode RetryOptions}: 4 tries, 250 ms doubling up to 8 s. */
export function resolveRetryPolicy(options?: RetryOptions): RetryPolicy {
  return {
    attempts: Math.max(1, options?.attempts ?? 4),
    baseDelayMs: Math.max(0, options?.baseDelayMs ?? 250),
    maxDelayMs: Math.max(0, options?.maxDelayMs ?? 8_000),
  };
}

/** Delay before try number `attempt + 1`: exponential backoff with jitter. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Options of {@linkcode RequestCore}. */
export interface RequestCoreOptions {
  /** Base URL of the API, such as `https://app.qfield.cloud/api/v1/` (the trailing slash is optional). */
  url: string;
  /** API token sent as `Authorization: Token <token>`. */
  token?: string;
  /** Another way to authenticate, such as a `SessionAuth` after a single sign-on; wins over `token`. */
  auth?: Authenticator;
  /** The `fetch` to use; the global one by default. */
  fetch?: FetchLike;
  /** Appended to the `sdk|ts|<version>` User-Agent, e.g. `my-tool/1.2`. */
  userAgent?: string;
  /** Time allowed until response headers arrive, per try. Default 60 000 ms; 0 for none. */
  timeoutMs?: number;
  /** Retry policy for idempotent requests. */
  retry?: RetryOptions;
  /** Aborts every request of this core. */
  signal?: AbortSignal;
}

/** One request for {@linkcode RequestCore.request}. */
export interface RequestOptions {
  /** HTTP method; GET by default. */
  method?: HttpMethod;
  /**
   * Path segments below the base URL, such as `["files", projectId, "DCIM/a b.jpg"]`. Every
   * `/`-separated piece is percent-encoded and a trailing slash is added, as the server needs.
   */
  path: readonly string[];
  /** Query parameters, in order. Booleans are sent as `1`/`0`. */
  query?: Record<string, QueryValue>;
  /** A form-encoded body. Booleans are sent as `1`/`0`. */
  form?: Record<string, QueryValue>;
  /** A JSON body. */
  json?: unknown;
  /** A body factory, called again for each try so that streams can be rebuilt. */
  body?: () => BodyInit | Promise<BodyInit>;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Sends the credentials (when there are any). Default true. */
  auth?: boolean;
  /**
   * Whether to retry (by default only GET, HEAD, PUT and DELETE are), or a retry policy for
   * this request instead of the core's.
   */
  retry?: boolean | RetryOptions;
  /** Overrides the core's timeout until response headers; 0 for none. */
  timeoutMs?: number;
  /** Aborts this request. */
  signal?: AbortSignal;
  /** Statuses of 300 and above to return instead of throwing, such as 304. */
  acceptStatuses?: readonly number[];
}

/** Statuses worth another try: too many requests, and the 5xx of a busy server or its proxy. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
const IDEMPOTENT = new Set<HttpMethod>(["GET", "HEAD", "PUT", "DELETE"]);
const MAX_RETRY_AFTER_MS = 60_000;
/** Page size used when a list call follows pages by itself. */
export const AUTO_PAGE_SIZE = 100;
/**
 * Pages a list call fetches at once once the first page's `X-Total-Count` told how many
 * there are: enough to hide most of the round trips, few enough not to load the server.
 */
export const LIST_PAGE_CONCURRENCY = 8;

/**
 * Sends requests to one QFieldCloud server with one token.
 *
 * @example Read a project through the core
 * ```ts
 * import { RequestCore } from "./http.ts";
 * const core = new RequestCore({ url: "https://app.qfield.cloud/api/v1/", token: "…" });
 * const project = await core.json({ path: ["projects", "5f0c…"] });
 * ```
 */
export class RequestCore {
  /** Base URL, always ending in `/`. */
  readonly baseUrl: string;
  /** How requests authenticate; `undefined` for anonymous calls. */
  auth: Authenticator | undefined;
  /** The `fetch` every request goes through (single sign-on uses it to reach the identity provider). */
  readonly fetch: FetchLike;
  #userAgent: string;
  #timeoutMs: number;
  #retry: RetryPolicy;
  #signal?: AbortSignal;

  /** The retry policy of this core (its `retry` option with the defaults filled in). */
  get retryPolicy(): Required<RetryOptions> {
    return { ...this.#retry };
  }

  /** Creates a core; an unusable URL is a {@linkcode QfcException} that names it. */
  constructor(options: RequestCoreOptions) {
    this.baseUrl = normalizeBaseUrl(options.url);
    this.auth = options.auth ?? (options.token ? new TokenAuth(options.token) : undefined);
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#userAgent = `sdk|ts|${VERSION}` + (options.userAgent ? ` ${options.userAgent}` : "");
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#retry = resolveRetryPolicy(options.retry);
    this.#signal = options.signal;
  }

  /** The token sent with requests, when a token authenticates them. */
  get token(): string | undefined {
    return this.auth instanceof TokenAuth ? this.auth.token : undefined;
  }

  /** Authenticates later requests with this token (or with nothing). */
  set token(token: string | undefined) {
    this.auth = token ? new TokenAuth(token) : undefined;
  }

  /** Builds the URL of a path below the base URL, each piece percent-encoded, with the trailing slash. */
  buildUrl(path: readonly string[], query?: Record<string, QueryValue>): URL {
    let text = this.baseUrl;
    for (const segment of path) {
      for (const piece of segment.split("/")) {
        if (piece !== "") text += `${encodeURIComponent(piece)}/`;
      }
    }
    const url = new URL(text);
    for (const [key, value] of Object.entries(query ?? {})) {
      const text = toParam(value);
      if (text !== undefined) url.searchParams.append(key, text);
    }
    return url;
  }

  /**
   * Sends a request and returns the response, whose body the caller must read or cancel.
   * A status of 300 or more (not in `acceptStatuses`) becomes a {@linkcode QfcRequestException};
   * idempotent requests are retried on network errors, 429, 500, 502, 503 and 504. A 401 lets
   * the authenticator renew its credentials once (an expired session), then the request is resent.
   */
  async request(options: RequestOptions): Promise<Response> {
    const method = options.method ?? "GET";
    const url = this.buildUrl(options.path, options.query);
    const policy = typeof options.retry === "object"
      ? resolveRetryPolicy(options.retry)
      : this.#retry;
    const retries = options.retry === undefined ? IDEMPOTENT.has(method) : options.retry !== false;
    const attempts = retries ? policy.attempts : 1;
    const auth = options.auth ?? true ? this.auth : undefined;
    let renewed = false;
    for (let attempt = 1;; attempt++) {
      let response: Response;
      let sent: Headers;
      try {
        ({ response, sent } = await this.#send(method, url, options, auth));
      } catch (error) {
        this.#throwIfAborted(options.signal);
        if (attempt < attempts) {
          await delay(backoffMs(policy, attempt), options.signal, this.#signal);
          continue;
        }
        throw new QfcRequestException({ method, url: url.href, cause: error });
      }
      if (response.status < 300 || options.acceptStatuses?.includes(response.status)) {
        return response;
      }
      if (response.status === 401 && auth?.renew && !renewed) {
        renewed = true;
        const refused = await errorFromResponse(method, url, response);
        if (!(await auth.renew(sent))) throw refused;
        attempt--; // a renewal is not a retry
        continue;
      }
      if (attempt < attempts && RETRY_STATUSES.has(response.status)) {
        const wait = retryAfterMs(response.headers.get("retry-after")) ??
          backoffMs(policy, attempt);
        await response.body?.cancel();
        await delay(wait, options.signal, this.#signal);
        continue;
      }
      throw await errorFromResponse(method, url, response);
    }
  }

  /** Sends a request and parses the JSON answer; an empty body gives `undefined`. */
  async json<T>(options: RequestOptions): Promise<T> {
    const response = await this.request(options);
    const text = await response.text();
    if (text === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new QfcRequestException({
        method: options.method ?? "GET",
        url: response.url || this.buildUrl(options.path, options.query).href,
        status: response.status,
        serverMessage: `Expected JSON but got: ${oneLine(text)}`,
        cause: error,
      });
    }
  }

  /**
   * Lists items. With a non-empty `pagination`, exactly that page; otherwise every item in
   * pages of `pageSize` (0: ask for everything at once, and still follow `X-Next-Page` if
   * the server pages anyway). Once the first page's `X-Total-Count` is known, the other
   * pages are fetched {@linkcode LIST_PAGE_CONCURRENCY} at a time, and the items keep the
   * server's order; a list that grew meanwhile is followed to its end page by page.
   */
  async list<T>(
    options: RequestOptions,
    pagination?: Pagination,
    pageSize: number = AUTO_PAGE_SIZE,
  ): Promise<T[]> {
    if (pagination && !pagination.isEmpty) {
      const limit = pagination.limit ?? DEFAULT_PAGINATION_LIMIT;
      const response = await this.request(withPage(options, limit, pagination.offset ?? 0));
      return await readList<T>(response, options);
    }
    const first = await this.#page<T>(options, pageSize > 0 ? pageSize : undefined, 0);
    const items = first.items;
    let last = first;
    const total = Number(first.total ?? NaN);
    if (first.next && Number.isSafeInteger(total)) {
      const { limit } = first.next;
      const offsets: number[] = [];
      for (let offset = first.next.offset; offset < total; offset += limit) offsets.push(offset);
      const pages = await runPool(
        offsets,
        LIST_PAGE_CONCURRENCY,
        (offset) => this.#page<T>(options, limit, offset),
      );
      for (const page of pages) items.push(...page.items);
      last = pages.at(-1) ?? first;
    }
    while (last.next) {
      last = await this.#page<T>(options, last.next.limit, last.next.offset);
      items.push(...last.items);
    }
    return items;
  }

  /**
   * Yields a list page by page, following the server's `X-Next-Page` header; for large
   * accounts, where holding everything at once is not wanted.
   */
  async *pages<T>(
    options: RequestOptions,
    pageSize: number = AUTO_PAGE_SIZE,
  ): AsyncGenerator<T[], void, undefined> {
    let page = await this.#page<T>(options, pageSize > 0 ? pageSize : undefined, 0);
    yield page.items;
    while (page.next) {
      page = await this.#page<T>(options, page.next.limit, page.next.offset);
      yield page.items;
    }
  }

  /**
   * Fetches one page (the whole list without a `limit`) with the server's `X-Total-Count`
   * and the `limit` and `offset` of its `X-Next-Page`, which must move forward.
   */
  async #page<T>(options: RequestOptions, limit: number | undefined, offset: number): Promise<{
    items: T[];
    total: string | null;
    next?: { limit: number; offset: number };
  }> {
    const response = await this.request(
      limit === undefined ? options : withPage(options, limit, offset),
    );
    const total = response.headers.get("x-total-count");
    const next = response.headers.get("x-next-page");
    const items = await readList<T>(response, options);
    if (!next) return { items, total };
    const nextUrl = new URL(next, this.baseUrl);
    const nextLimit = Number(nextUrl.searchParams.get("limit"));
    const nextOffset = Number(nextUrl.searchParams.get("offset") ?? 0);
    if (!(nextLimit > 0) || !(nextOffset > offset)) {
      throw new QfcException(`Cannot follow the next page "${next}": it does not move forward`);
    }
    return { items, total, next: { limit: nextLimit, offset: nextOffset } };
  }

  async #send(
    method: HttpMethod,
    url: URL,
    options: RequestOptions,
    auth: Authenticator | undefined,
  ): Promise<{ response: Response; sent: Headers }> {
    const headers = new Headers(options.headers);
    headers.set("User-Agent", this.#userAgent);
    if (!headers.has("Accept")) headers.set("Accept", "application/json");
    auth?.apply(headers, method, url);
    let body: BodyInit | undefined;
    if (options.form) {
      const form = new URLSearchParams();
      for (const [key, value] of Object.entries(options.form)) {
        const text = toParam(value);
        if (text !== undefined) form.append(key, text);
      }
      body = form;
    } else if (options.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(options.json);
    } else if (options.body) {
      body = await options.body();
    }
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const timeout = timeoutMs > 0 ? new AbortController() : undefined;
    const timer = timeout
      ? setTimeout(
        () => timeout.abort(new DOMException(`No response within ${timeoutMs} ms`, "TimeoutError")),
        timeoutMs,
      )
      : undefined;
    const signals = [timeout?.signal, options.signal, this.#signal].filter((s) => s !== undefined);
    // A plain record for fetch: a `Headers` object goes through fetch's conversion as an
    // iterable, which cost some 50 µs and 10 KiB of garbage per request (Deno 2.9).
    const record: Record<string, string> = {};
    headers.forEach((value, name) => record[name] = value);
    try {
      const response = await this.fetch(url, {
        method,
        headers: record,
        body,
        // One signal as it is: a signal of `AbortSignal.any` stays tied to its sources until a full
        // garbage collection, and memory grew with each request of a long transfer.
        signal: signals.length <= 1 ? signals[0] : AbortSignal.any(signals),
        // GET may follow the server's slash redirects; a write must never be replayed elsewhere.
        redirect: method === "GET" || method === "HEAD" ? "follow" : "manual",
        // Needed by fetch for streamed request bodies.
        ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
      } as RequestInit);
      auth?.observe?.(response);
      return { response, sent: headers }; // what was sent, for a renewal after a 401
    } finally {
      clearTimeout(timer);
    }
  }

  #throwIfAborted(signal?: AbortSignal): void {
    signal?.throwIfAborted();
    this.#signal?.throwIfAborted();
  }
}

function normalizeBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(
      `Cannot use the server URL "${url}": it is not an absolute URL such as https://app.qfield.cloud/api/v1/`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(`Cannot use the server URL "${url}": only http and https are supported`);
  }
  if (parsed.username || parsed.password) {
    // Credentials in a URL end up in logs and error messages: refuse them, without echoing them.
    parsed.username = "";
    parsed.password = "";
    throw new TypeError(
      `Cannot use the server URL "${parsed.href}" with a user name or password in it: ` +
        "log in with login() or pass a token",
    );
  }
  parsed.search = "";
  parsed.hash = "";
  return parsed.href.endsWith("/") ? parsed.href : `${parsed.href}/`;
}

function toParam(value: QueryValue): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value ? "1" : "0";
  return String(value);
}

function withPage(options: RequestOptions, limit: number, offset: number): RequestOptions {
  return { ...options, query: { ...options.query, limit, offset } };
}

async function readList<T>(response: Response, options: RequestOptions): Promise<T[]> {
  const body = await response.json();
  if (!Array.isArray(body)) {
    throw new QfcException(
      `The answer to ${options.method ?? "GET"} "${response.url}" is not a list: it is ${
        oneLine(JSON.stringify(body))
      }`,
    );
  }
  return body as T[];
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds, capped at a minute. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

async function errorFromResponse(
  method: string,
  url: URL,
  response: Response,
): Promise<QfcRequestException> {
  const text = await response.text().catch(() => "");
  let code: string | undefined;
  let serverMessage: string | undefined;
  try {
    const body = JSON.parse(text);
    if (body && typeof body === "object") {
      code = typeof body.code === "string" ? body.code : undefined;
      serverMessage = typeof body.message === "string"
        ? body.message
        : typeof body.detail === "string"
        ? body.detail
        : undefined;
    }
  } catch {
    serverMessage = text ? summarizeNonJson(text) : undefined;
  }
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get("location");
    serverMessage = `unexpected redirect${location ? ` to ${location}` : ""}`;
  }
  return new QfcRequestException({
    method,
    url: response.url || url.href,
    status: response.status,
    code,
    serverMessage: serverMessage ?? (response.statusText || undefined),
  });
}

/** Turns an HTML error page (a proxy's 502, Django's 404) into one line: its title or first heading. */
function summarizeNonJson(text: string): string {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1] ??
    /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(text)?.[1];
  const raw = title ?? (/<[a-z!]/i.test(text) ? "an HTML error page" : text);
  return oneLine(raw.replace(/<[^>]+>/g, " "));
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}
