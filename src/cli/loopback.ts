/**
 * The loopback listener of `login --sso`: the identity provider sends the
 * browser to `http://localhost:7070/?code=…&state=…` (the address the server's
 * provider entry names), and this small HTTP server catches that request. As
 * `localhost` resolves to 127.0.0.1 in some browsers and to ::1 in others, it
 * listens on both when the host is `localhost`. An address it cannot bind is
 * reported (another program, QGIS for one, may hold the port there), except ::1
 * on a machine without IPv6.
 *
 * @module
 */

/** A redirect caught by the listener. */
export interface CaughtRedirect {
  /** The full redirect URL, with its `code` (or `error`) and `state`. */
  url: string;
  /** Call with the outcome to answer the browser; until then its tab waits. */
  answer(outcome: { ok: boolean; message: string }): void;
}

/** A running listener. */
export interface LoopbackListener {
  /** Resolves with the first redirect that carries the expected `state`. */
  readonly redirect: Promise<CaughtRedirect>;
  /** The addresses it listens on, such as `127.0.0.1:7070` and `[::1]:7070`. */
  readonly addresses: string[];
  /** The addresses it could not listen on, and why (`AddrInUse`: another program holds the port). */
  readonly unbound: { address: string; error: Error }[];
  /** Stops listening. */
  close(): Promise<void>;
}

const PAGE_TIMEOUT_MS = 60_000;

function page(title: string, message: string): string {
  const escape = (text: string) =>
    text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body style="font-family: sans-serif; margin: 3em auto; max-width: 36em">
<h1>${escape(title)}</h1><p>${escape(message)}</p>
</body></html>
`;
}

function loopbackHosts(host: string): string[] {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  return bare === "localhost" ? ["127.0.0.1", "::1"] : [bare];
}

/**
 * Listens on the loopback for the provider's redirect. Fails with `AddrInUse` when no
 * address could be bound (another program, such as QGIS, may hold the port).
 *
 * @example
 * ```ts ignore
 * const listener = await listenForRedirect("localhost", 7070, "/", state);
 * const caught = await listener.redirect;
 * caught.answer({ ok: true, message: "You can close this tab." });
 * await listener.close();
 * ```
 */
export function listenForRedirect(
  host: string,
  port: number,
  path: string,
  state: string,
): Promise<LoopbackListener> {
  let resolve!: (redirect: CaughtRedirect) => void;
  const redirect = new Promise<CaughtRedirect>((r) => resolve = r);
  let caught = false;
  const wantedPath = `/${path.replace(/^\/+/, "")}`;
  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const hasOutcome = url.searchParams.has("code") || url.searchParams.has("error");
    if (request.method !== "GET" || url.pathname !== wantedPath || !hasOutcome) {
      return new Response("Not found", { status: 404 });
    }
    if (caught || url.searchParams.get("state") !== state) {
      return new Response(
        page(
          "Not this sign-in",
          "This link belongs to another or an earlier sign-in. Return to the terminal.",
        ),
        { status: 400, headers: { "content-type": "text/html; charset=utf-8" } },
      );
    }
    caught = true;
    // The URL the browser was sent to, with the host it used (127.0.0.1, [::1] or localhost).
    const full = new URL(url.pathname + url.search, `http://${host}:${port}`).href;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await new Promise<{ ok: boolean; message: string }>((answer) => {
      resolve({ url: full, answer });
      timer = setTimeout(
        () => answer({ ok: false, message: "Return to the terminal to see how it went." }),
        PAGE_TIMEOUT_MS,
      );
    });
    clearTimeout(timer);
    const title = outcome.ok ? "Signed in to QFieldCloud" : "Sign-in failed";
    return new Response(page(title, outcome.message), {
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  };
  const servers: Deno.HttpServer[] = [];
  const addresses: string[] = [];
  const unbound: { address: string; error: Error }[] = [];
  for (const hostname of loopbackHosts(host)) {
    const address = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
    try {
      servers.push(Deno.serve({ hostname, port, onListen() {}, handler }));
      addresses.push(address);
    } catch (error) {
      // No IPv6 on this machine: 127.0.0.1 is enough, and nothing to report.
      if (hostname === "::1" && error instanceof Deno.errors.AddrNotAvailable) continue;
      unbound.push({ address, error: error as Error });
    }
  }
  if (servers.length === 0) {
    return Promise.reject(unbound[0]?.error ?? new Deno.errors.AddrNotAvailable(host));
  }
  return Promise.resolve({
    redirect,
    addresses,
    unbound,
    async close() {
      await Promise.all(servers.map((server) => server.shutdown()));
    },
  });
}
