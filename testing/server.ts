/**
 * The test server itself: a `Deno.serve` HTTP server behind a small TCP
 * front (which lets injected faults drop a connection without any
 * response), the request log, fault injection and the seeding API.
 *
 * @module
 */
import { PROXY_500_HTML } from "./proxy_500.ts";
import { emptyResponse, type RequestInfo, Router } from "./router.ts";
import { registerRoutes } from "./routes/mod.ts";
import { storeProjectFile } from "./routes/files.ts";
import type { OrganizationRole, Project, ProjectType, User } from "./entities.ts";
import { isProjectRole } from "./project_rules.ts";
import { ServerState } from "./server_state.ts";
import { BlobStorage } from "./storage.ts";
import { failNextJob, JobRunner } from "./jobs.ts";
import { FakeOidcProvider, OIDC_PREFIX } from "./sso_provider.ts";
import { SsoMiddleware } from "./sso_middleware.ts";

/** Options of {@linkcode startTestServer}. */
export interface TestServerOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Address to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** Total time a job takes from pending to finished, in seconds (default 0.2). */
  jobSeconds?: number;
  /** Keep file contents in this directory instead of memory. */
  storageDir?: string;
  /** People to create. */
  users?: TestUserInit[];
  /** Organizations to create (after the users). */
  organizations?: { name: string; owner: string }[];
  /** Token lifetime in hours (default 720). */
  tokenExpirationHours?: number;
  /** File versions kept per file (default 10). */
  keepVersions?: number;
  /** Storage quota per owner in bytes (default unlimited). */
  storageQuotaBytes?: number;
  /** Serve HTTPS with this PEM certificate and key. */
  tls?: { cert: string; key: string };
  /** Do not log unexpected handler errors. */
  quiet?: boolean;
  /**
   * Milliseconds added before answering each request (default 0), as a far server or a
   * slow network would: to see how a client's round trips add up.
   */
  latencyMs?: number;
  /** Single sign-on mode: a fake OpenID Connect provider at `/oidc/` and session logins. */
  sso?: TestSsoOptions;
  /**
   * Keep every request in {@linkcode TestServer.requests} (default true). A server that runs
   * for long in a process of its own (`serve.ts`) turns it off: nobody reads the log there,
   * and it grows by about 1 KiB per request.
   */
  logRequests?: boolean;
}

/** Options of the single sign-on mode (see {@linkcode TestServerOptions.sso}). */
export interface TestSsoOptions {
  /** The user the provider signs in; created without a password if missing. */
  username: string;
  /**
   * The loopback port the provider entry names and the provider allows in its redirect URI.
   * Real servers always say 7070; give each test its own so that tests run side by side.
   */
  redirectPort?: number;
  /** Provider id (`X-QFC-IDP-ID`). Default `test-idp`. */
  providerId?: string;
  /** Require PKCE. Default true. */
  pkce?: boolean;
}

/** The single sign-on parts of a running test server. */
export interface TestSso {
  /** The fake identity provider. */
  readonly provider: FakeOidcProvider;
  /** The sessions and the hand-over. */
  readonly middleware: SsoMiddleware;
}

/** A person to create on the test server. */
export interface TestUserInit {
  /** Username. */
  username: string;
  /** Password. */
  password: string;
  /** E-mail address. */
  email?: string;
  /** Staff flag. */
  isStaff?: boolean;
}

/** A project to create with {@linkcode TestServer.addProject}. */
export interface TestProjectInit {
  /** Project name. */
  name: string;
  /** Owner username (a person or an organization). */
  owner: string;
  /** Description. */
  description?: string;
  /** Public flag. */
  isPublic?: boolean;
  /** `regular` (default), `template` or `shared_datasets`. */
  projectType?: string;
}

/** One logged request. */
export interface LoggedRequest {
  /** HTTP method. */
  method: string;
  /** URL path as received (percent-encoded). */
  path: string;
  /** Query string without `?`. */
  query: string;
  /** Request headers. */
  headers: Headers;
}

/** A fault for the next matching requests (see {@linkcode TestServer.injectFault}). */
export interface FaultSpec {
  /** Only requests with this method (default any). */
  method?: string;
  /** Only requests whose path (as received, percent-encoded) matches. */
  path?: RegExp;
  /** Answer with this status instead of handling the request. */
  status?: number;
  /** Response body (default: the proxy's HTML 500 page for 5xx, else empty). */
  body?: string;
  /** Content-Type of `body` (default `text/html` for the HTML page). */
  contentType?: string;
  /** Number of matching requests affected (default 1). */
  times?: number;
  /** Close the connection without any response. */
  dropConnection?: boolean;
  /** Send the headers and this many body bytes of the real response, then abort. */
  truncateAfterBytes?: number;
  /** `Retry-After` header of the fault response. */
  retryAfter?: string;
  /**
   * Send the headers and this many body bytes of the real response, then
   * nothing more, keeping the connection open (a stalled body).
   */
  stallAfterBytes?: number;
  /**
   * Change the byte at this offset of the real response's body (the last byte
   * when the body is shorter), keeping its length: a server that lies about
   * the bytes. Applies to bodies sent with `Content-Length`.
   */
  corruptByteAt?: number;
  /**
   * Chance (0 to 1, default 1) that a matching request is affected; `times`
   * counts the affected ones.
   */
  probability?: number;
  /**
   * Handle the request first, then answer with `status` (or drop the connection) instead of the
   * real response: as nginx does when the app answers after the proxy gave up waiting, so that an
   * upload is stored although the client sees a 502/503 or a reset.
   */
  afterHandling?: boolean;
}

/** A running test server; `await using` closes it. */
export interface TestServer extends AsyncDisposable {
  /** API base URL, e.g. `http://127.0.0.1:8000/api/v1/`. */
  readonly url: string;
  /** The server's state, for direct inspection and changes. */
  readonly state: ServerState;
  /** Stops the server and its timers and removes the blobs it wrote. */
  close(): Promise<void>;
  /** Adds a person. */
  addUser(user: TestUserInit): void;
  /** Adds an organization owned by an existing person. */
  addOrganization(org: { name: string; owner: string }): void;
  /** Adds a person to an organization (default role `member`). */
  addOrganizationMember(org: string, username: string, role?: OrganizationRole): void;
  /** Adds a team (`@org/team`) with optional members. */
  addTeam(org: string, team: string, members?: string[]): void;
  /** Adds a project and returns its id. */
  addProject(project: TestProjectInit): { id: string };
  /** Adds a collaborator (person or `@org/team`) with a role. */
  addCollaborator(projectId: string, username: string, role: string): void;
  /** Stores a file as an upload by the project owner would, without HTTP. */
  putFile(projectId: string, name: string, content: Uint8Array | string): Promise<void>;
  /** Creates a valid token without HTTP (client type from the User-Agent). */
  createToken(username: string, userAgent?: string): string;
  /**
   * Makes the next job of a project fail with this message as its feedback
   * (see `failNextJob` of `jobs.ts`).
   */
  failNextJob(projectId: string, message: string): void;
  /** Every request received, oldest first (none when `logRequests` is false). */
  readonly requests: LoggedRequest[];
  /** Empties {@linkcode TestServer.requests}. */
  clearRequests(): void;
  /** Makes the next `times` (default 1) matching requests fail. */
  injectFault(fault: FaultSpec): void;
  /** The single sign-on mode's provider and sessions, when it is on. */
  readonly sso: TestSso | undefined;
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
}

/** A fault applied by the relay to the body of the next response on a connection. */
interface BodyFault {
  /** Cut the connection, stop sending while keeping it open, or change one byte. */
  kind: "truncate" | "stall" | "corrupt";
  /** Body offset where the fault strikes. */
  at: number;
  /** Body bytes passed so far. */
  passed: number;
  /** Response head bytes seen so far (until the blank line). */
  head: Uint8Array;
  /** Whether the head has passed. */
  inBody: boolean;
  /** The body's `Content-Length`, once the head has passed. */
  length?: number;
  /** A stall has begun: nothing more reaches the client. */
  stalled?: boolean;
}

interface ConnPair {
  client: Deno.Conn;
  upstream: Deno.Conn;
  closed: boolean;
  bodyFault?: BodyFault;
  /** Requests being answered on this connection. */
  active: number;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Asks the HTTP server to close the connection after this response. */
function closeAfter(response: Response): void {
  try {
    response.headers.set("connection", "close");
  } catch {
    // immutable headers: the connection stays open
  }
}

const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.byteLength <= haystack.byteLength; i++) {
    for (let j = 0; j < needle.byteLength; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/** The relay's part of a fault, if it has one. */
function bodyFaultOf(spec: FaultSpec): BodyFault | undefined {
  const fresh = { passed: 0, head: new Uint8Array(), inBody: false };
  if (spec.truncateAfterBytes !== undefined) {
    return { kind: "truncate", at: spec.truncateAfterBytes, ...fresh };
  }
  if (spec.stallAfterBytes !== undefined) {
    return { kind: "stall", at: spec.stallAfterBytes, ...fresh };
  }
  if (spec.corruptByteAt !== undefined) {
    return { kind: "corrupt", at: spec.corruptByteAt, ...fresh };
  }
  return undefined;
}

/** Applies a body fault to the next bytes of a response; returns what reaches the client. */
function applyBodyFault(fault: BodyFault, chunk: Uint8Array): Uint8Array {
  if (fault.stalled) return chunk.subarray(0, 0);
  let bodyStart = 0;
  if (!fault.inBody) {
    const head = new Uint8Array(fault.head.byteLength + chunk.byteLength);
    head.set(fault.head);
    head.set(chunk, fault.head.byteLength);
    const end = indexOfBytes(head, CRLFCRLF);
    if (end === -1) {
      fault.head = head;
      return chunk;
    }
    fault.inBody = true;
    bodyStart = end + 4 - fault.head.byteLength;
    const headText = new TextDecoder().decode(head.subarray(0, end));
    const length = /^content-length:\s*(\d+)\s*$/im.exec(headText);
    if (length) fault.length = Number(length[1]);
  }
  const body = chunk.byteLength - bodyStart;
  if (fault.kind === "corrupt") {
    // Without a Content-Length (chunked), changing a byte could break the framing: leave it.
    const length = fault.length ?? 0;
    const at = Math.min(fault.at, length - 1) - fault.passed;
    fault.passed += body;
    if (at < 0 || at >= body) return chunk;
    const changed = chunk.slice();
    changed[bodyStart + at] ^= 0xff;
    return changed;
  }
  const pass = Math.max(0, Math.min(body, fault.at - fault.passed));
  fault.passed += pass;
  if (fault.kind === "stall" && fault.passed >= fault.at) fault.stalled = true;
  return chunk.subarray(0, bodyStart + pass);
}

class TestServerImpl implements TestServer {
  readonly state: ServerState;
  readonly requests: LoggedRequest[] = [];
  readonly router: Router;
  #faults: ActiveFault[] = [];
  #url = "";
  #inner: Deno.HttpServer<Deno.NetAddr> | undefined;
  #listener: Deno.Listener | undefined;
  #pairs = new Map<number, ConnPair>();
  #connTasks = new Set<Promise<void>>();
  #acceptTask: Promise<void> | undefined;
  #runner: JobRunner;
  #tls: boolean;
  #latencyMs: number;
  #logRequests: boolean;
  #closed = false;
  sso: TestSso | undefined;

  constructor(options: TestServerOptions) {
    this.state = new ServerState({
      tokenExpirationHours: options.tokenExpirationHours,
      keepVersions: options.keepVersions,
      storageQuotaBytes: options.storageQuotaBytes,
      jobSeconds: options.jobSeconds,
      storage: new BlobStorage({ dir: options.storageDir }),
    });
    this.router = new Router(this.state, { quiet: options.quiet });
    registerRoutes(this.router);
    this.#runner = new JobRunner(this.state, { jobSeconds: this.state.jobSeconds });
    this.#tls = options.tls !== undefined;
    const latencyMs = options.latencyMs ?? 0;
    if (!Number.isFinite(latencyMs) || latencyMs < 0) {
      throw new RangeError(`Cannot use latencyMs ${latencyMs}: it must be a non-negative number`);
    }
    this.#latencyMs = latencyMs;
    this.#logRequests = options.logRequests ?? true;
  }

  get url(): string {
    return this.#url;
  }

  async enableSso(options: TestSsoOptions, quiet: boolean): Promise<void> {
    const provider = await FakeOidcProvider.create(options);
    if (!this.state.findUser(options.username)) {
      this.state.addUser({ username: options.username, password: "" });
    }
    const middleware = new SsoMiddleware(this.state, provider, { quiet });
    this.router.sessions = middleware;
    this.sso = { provider, middleware };
  }

  async start(options: TestServerOptions): Promise<void> {
    const hostname = options.hostname ?? "127.0.0.1";
    this.#inner = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
    }, (request, info) => this.#handle(request, info));
    try {
      this.#listener = options.tls
        ? Deno.listenTls({
          hostname,
          port: options.port ?? 0,
          cert: options.tls.cert,
          key: options.tls.key,
        })
        : Deno.listen({ hostname, port: options.port ?? 0 });
    } catch (e) {
      await this.#inner.shutdown();
      throw e;
    }
    const addr = this.#listener.addr as Deno.NetAddr;
    const host = hostname === "0.0.0.0"
      ? "127.0.0.1"
      : hostname.includes(":")
      ? `[${hostname}]`
      : hostname;
    this.#url = `${this.#tls ? "https" : "http"}://${host}:${addr.port}/api/v1/`;
    if (this.sso) {
      this.sso.provider.setOrigin(new URL(this.#url).origin);
      this.state.ssoProviders.push(this.sso.provider.providerEntry());
    }
    this.#acceptTask = this.#accept();
    this.#runner.start();
  }

  async #accept(): Promise<void> {
    const listener = this.#listener!;
    const innerPort = this.#inner!.addr.port;
    while (true) {
      let client: Deno.Conn;
      try {
        client = await listener.accept();
      } catch {
        return; // listener closed
      }
      const task = this.#pipe(client, innerPort);
      this.#connTasks.add(task);
      task.finally(() => this.#connTasks.delete(task));
    }
  }

  async #pipe(client: Deno.Conn, innerPort: number): Promise<void> {
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: innerPort });
    } catch {
      closeQuietly(client);
      return;
    }
    // As nginx does (tcp_nodelay): without it, the tail of a response waits for the client's
    // delayed ACK (up to 40 ms) whenever the relay writes a response in more than one piece.
    try {
      (client as Partial<Deno.TcpConn>).setNoDelay?.(true);
      (upstream as Deno.TcpConn).setNoDelay(true);
    } catch {
      // The client is already gone; the pipe below ends at once.
    }
    const key = (upstream.localAddr as Deno.NetAddr).port;
    const pair: ConnPair = { client, upstream, closed: false, active: 0 };
    this.#pairs.set(key, pair);
    try {
      await Promise.allSettled([
        client.readable.pipeTo(upstream.writable),
        this.#pipeDown(pair),
      ]);
    } finally {
      this.#pairs.delete(key);
      this.#closePair(pair);
    }
  }

  /** Copies the server's bytes to the client, applying a pending body fault. */
  async #pipeDown(pair: ConnPair): Promise<void> {
    const reader = pair.upstream.readable.getReader();
    const writer = pair.client.writable.getWriter();
    try {
      while (true) {
        const r = await reader.read();
        if (r.done) break;
        const fault = pair.bodyFault;
        if (!fault) {
          await writer.write(r.value);
          continue;
        }
        const out = applyBodyFault(fault, r.value);
        if (out.byteLength > 0) await writer.write(out);
        if (!fault.inBody) continue;
        if (fault.kind === "truncate" && fault.passed >= fault.at) {
          this.#closePair(pair);
          return;
        }
        if (fault.kind === "corrupt" && !(fault.passed < (fault.length ?? 0))) {
          pair.bodyFault = undefined;
        }
      }
      // A stalled body leaves the client waiting until it gives up (or the server closes).
      if (!pair.bodyFault?.stalled) await writer.close();
    } catch {
      // the connection went away
    } finally {
      reader.releaseLock();
      writer.releaseLock();
    }
  }

  #closePair(pair: ConnPair): void {
    if (pair.closed) return;
    pair.closed = true;
    closeQuietly(pair.client);
    closeQuietly(pair.upstream);
  }

  #clientAddress(info: Deno.ServeHandlerInfo<Deno.NetAddr>): string {
    const pair = this.#pairs.get(info.remoteAddr.port);
    const addr = pair?.client.remoteAddr as Deno.NetAddr | undefined;
    return addr?.hostname ?? info.remoteAddr.hostname;
  }

  async #handle(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    const pair = this.#pairs.get(info.remoteAddr.port);
    if (pair) {
      pair.active++;
      info.completed.finally(() => pair.active--).catch(() => {});
    }
    const response = await this.#respond(request, info);
    if (pair?.bodyFault && pair.bodyFault.kind !== "corrupt") closeAfter(response);
    // A dropped pooled connection is retried by fetch clients (Deno's among
    // them) without telling the caller; while a drop is pending, no
    // connection is reused, so the drop reaches the client.
    if (this.#faults.some((f) => f.spec.dropConnection)) closeAfter(response);
    return response;
  }

  async #respond(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Promise<Response> {
    const url = new URL(request.url);
    if (this.#logRequests) {
      this.requests.push({
        method: request.method,
        path: url.pathname,
        query: url.search.slice(1),
        headers: new Headers(request.headers),
      });
    }
    if (this.#latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#latencyMs));
    const fault = this.#takeFault(request.method, url.pathname);
    const bodyFault = fault && bodyFaultOf(fault);
    if (bodyFault) {
      const pair = this.#pairs.get(info.remoteAddr.port);
      if (pair) pair.bodyFault = bodyFault;
    }
    const context: RequestInfo = {
      remoteAddr: this.#clientAddress(info),
      scheme: this.#tls ? "https" : "http",
    };
    if (fault?.afterHandling) {
      const handled = await this.#dispatch(request, url, context);
      await handled.body?.cancel().catch(() => {});
    }
    if (fault?.dropConnection) {
      const pair = this.#pairs.get(info.remoteAddr.port);
      if (pair) this.#closePair(pair);
      return emptyResponse(500);
    }
    if (fault && fault.status !== undefined) {
      if (request.body && !request.bodyUsed) {
        await request.body.pipeTo(new WritableStream()).catch(() => {});
      }
      const headers: Record<string, string> = {};
      let body = fault.body;
      if (body === undefined && fault.status >= 500) {
        body = PROXY_500_HTML;
        headers["content-type"] = fault.contentType ?? "text/html";
      } else if (body !== undefined && fault.contentType) {
        headers["content-type"] = fault.contentType;
      }
      if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
      const response = new Response(body ?? null, { status: fault.status, headers });
      return response;
    }
    return await this.#dispatch(request, url, context);
  }

  /** Hands a request to the fake identity provider (its paths) or to the API's routes. */
  #dispatch(request: Request, url: URL, context: RequestInfo): Promise<Response> {
    return this.sso && url.pathname.startsWith(OIDC_PREFIX)
      ? this.sso.provider.handle(request, url)
      : this.router.handle(request, context);
  }

  #takeFault(method: string, path: string): FaultSpec | undefined {
    for (const f of this.#faults) {
      if (f.remaining <= 0) continue;
      if (f.spec.method && f.spec.method.toUpperCase() !== method) continue;
      if (f.spec.path) {
        f.spec.path.lastIndex = 0;
        if (!f.spec.path.test(path)) continue;
      }
      if (f.spec.probability !== undefined && Math.random() >= f.spec.probability) continue;
      f.remaining--;
      this.#faults = this.#faults.filter((x) => x.remaining > 0);
      return f.spec;
    }
    return undefined;
  }

  injectFault(fault: FaultSpec): void {
    if (
      fault.status === undefined && !fault.dropConnection && bodyFaultOf(fault) === undefined
    ) {
      throw new TypeError(
        "A fault needs a status, dropConnection, truncateAfterBytes, stallAfterBytes or corruptByteAt",
      );
    }
    if (fault.afterHandling && fault.status === undefined && !fault.dropConnection) {
      throw new TypeError("A fault with afterHandling needs a status or dropConnection");
    }
    const probability = fault.probability ?? 1;
    if (!(probability >= 0 && probability <= 1)) {
      throw new RangeError(`Fault probability must be between 0 and 1, got "${fault.probability}"`);
    }
    const times = fault.times ?? 1;
    if (!Number.isInteger(times) || times < 1) {
      throw new RangeError(`Fault times must be a positive integer, got "${fault.times}"`);
    }
    this.#faults.push({ spec: fault, remaining: times });
    if (fault.dropConnection) {
      // Idle keep-alive connections would be reused, and a drop on a reused
      // connection is retried silently by fetch: close them now.
      for (const pair of this.#pairs.values()) if (pair.active === 0) this.#closePair(pair);
    }
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  #user(username: string): User {
    const user = this.state.findUser(username);
    if (!user) throw new RangeError(`User "${username}" does not exist`);
    return user;
  }

  #organization(name: string): User {
    const org = this.state.findOrganization(name);
    if (!org) throw new RangeError(`Organization "${name}" does not exist`);
    return org;
  }

  #project(id: string): Project {
    const project = this.state.findProject(id);
    if (!project) throw new RangeError(`Project "${id}" does not exist`);
    return project;
  }

  addUser(user: TestUserInit): void {
    this.state.addUser(user);
  }

  addOrganization(org: { name: string; owner: string }): void {
    this.state.addOrganization(org.name, this.#user(org.owner));
  }

  addOrganizationMember(org: string, username: string, role: OrganizationRole = "member"): void {
    if (role !== "admin" && role !== "member") {
      throw new RangeError(`Organization role must be "admin" or "member", got "${role}"`);
    }
    const organization = this.#organization(org);
    const member = this.#user(username);
    if (member.type !== "person") throw new RangeError(`User "${username}" is not a person`);
    if (organization.owner === member) {
      throw new RangeError(`User "${username}" owns organization "${org}"`);
    }
    const existing = this.state.findMember(organization, member);
    if (!existing) {
      this.state.addOrganizationMember(organization, member, role);
      return;
    }
    existing.role = role;
    existing.updatedAt = this.state.now();
  }

  addTeam(org: string, team: string, members: string[] = []): void {
    const organization = this.#organization(org);
    const teamUser = this.state.findTeam(organization, team) ??
      this.state.addTeam(organization, team);
    for (const name of members) {
      const member = this.#user(name);
      if (!this.state.findTeamMember(teamUser, member)) {
        this.state.addTeamMember(teamUser, member);
      }
    }
  }

  addProject(project: TestProjectInit): Project {
    const owner = this.#user(project.owner);
    if (owner.type === "team") throw new RangeError(`A team cannot own project "${project.name}"`);
    const type = project.projectType ?? "regular";
    if (!["regular", "template", "shared_datasets"].includes(type)) {
      throw new RangeError(`Unknown project type "${type}"`);
    }
    return this.state.addProject({
      name: project.name,
      owner,
      description: project.description,
      isPublic: project.isPublic,
      projectType: type as ProjectType,
    });
  }

  addCollaborator(projectId: string, username: string, role: string): void {
    const project = this.#project(projectId);
    const collaborator = this.#user(username);
    if (!isProjectRole(role)) throw new RangeError(`Unknown project role "${role}"`);
    const existing = this.state.findCollaborator(project, collaborator);
    if (!existing) {
      this.state.addCollaborator(project, collaborator, role);
      return;
    }
    existing.role = role;
    existing.updatedAt = this.state.now();
  }

  async putFile(projectId: string, name: string, content: Uint8Array | string): Promise<void> {
    const project = this.#project(projectId);
    const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
    const uploader = project.owner.type === "organization" ? project.owner.owner! : project.owner;
    await storeProjectFile(this.state, project, name, bytes, uploader);
  }

  failNextJob(projectId: string, message: string): void {
    this.#project(projectId);
    failNextJob(this.state, projectId, message);
  }

  createToken(username: string, userAgent = ""): string {
    return this.state.createToken(this.#user(username), userAgent).key;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#runner.stop();
    try {
      this.#listener?.close();
    } catch {
      // already closed
    }
    await this.#acceptTask;
    for (const pair of this.#pairs.values()) this.#closePair(pair);
    await Promise.allSettled([...this.#connTasks]);
    await this.#inner?.shutdown();
    await this.state.storage.close();
  }
}

/**
 * Starts an in-memory QFieldCloud server on 127.0.0.1.
 *
 * @example
 * ```ts
 * import { startTestServer } from "./server.ts";
 * await using server = await startTestServer({ users: [{ username: "alice", password: "pw" }] });
 * const res = await fetch(`${server.url}status/`);
 * console.log(await res.json());
 * ```
 */
export async function startTestServer(
  options: TestServerOptions = {},
): Promise<TestServer> {
  const server = new TestServerImpl(options);
  for (const u of options.users ?? []) server.addUser(u);
  for (const o of options.organizations ?? []) server.addOrganization(o);
  if (options.sso) await server.enableSso(options.sso, options.quiet ?? false);
  await server.start(options);
  return server;
}
