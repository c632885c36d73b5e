/**
 * TLS choices for self-hosted servers, as `fetch` functions the client takes:
 *
 * - `--ca-cert FILE`: trust a private CA in addition to the system roots
 *   (`Deno.createHttpClient({ caCerts })`); verification stays on.
 * - `--no-verify-ssl` (or `QFIELDCLOUD_VERIFY_SSL=0`): a `node:https` adapter
 *   with `rejectUnauthorized: false`, since `Deno.createHttpClient` has no
 *   per-client switch to skip verification.
 *
 * @module
 */

import * as http from "node:http";
import * as https from "node:https";
import { once } from "node:events";
import { Readable } from "node:stream";
import type { FetchLike } from "../../mod.ts";

/** A `fetch` with resources to release when the CLI is done. */
export interface ClosableFetch {
  /** The fetch function. */
  fetch: FetchLike;
  /** Releases connections and clients. */
  close(): void;
}

/**
 * A fetch that trusts the CA certificates in the PEM text, in addition to
 * the built-in roots.
 *
 * @example
 * ```ts ignore
 * import { caCertFetch } from "./tls.ts";
 * const { fetch, close } = caCertFetch(await Deno.readTextFile("ca.pem"));
 * await fetch("https://qfield.example.org/api/v1/status/");
 * close();
 * ```
 */
export function caCertFetch(pem: string): ClosableFetch {
  const client = Deno.createHttpClient({ caCerts: [pem] });
  return {
    fetch: (input, init) => fetch(input, { ...init, client } as RequestInit),
    close: () => client.close(),
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * A fetch that does not verify the server's TLS certificate: a small adapter
 * from `fetch` to `node:https` (streams request and response bodies, honors
 * `signal`, follows redirects like `fetch` does).
 *
 * @example
 * ```ts ignore
 * import { insecureFetch } from "./tls.ts";
 * const { fetch, close } = insecureFetch();
 * const response = await fetch("https://localhost:8443/api/v1/status/");
 * console.log(await response.json());
 * close();
 * ```
 */
export function insecureFetch(): ClosableFetch {
  const agent = new https.Agent({ rejectUnauthorized: false, keepAlive: false });
  const adapter: FetchLike = async (input, init) => {
    let request = new Request(input, init);
    for (let hop = 0;; hop++) {
      const response = await send(request, agent);
      const location = response.headers.get("location");
      if (
        !REDIRECTS.has(response.status) || !location || request.redirect === "manual" || hop >= 20
      ) {
        return response;
      }
      if (request.redirect === "error") {
        await response.body?.cancel();
        throw new TypeError(`Redirect to "${location}" not allowed`);
      }
      const target = new URL(location, request.url);
      const toGet = response.status === 303 ||
        ((response.status === 301 || response.status === 302) && request.method === "POST");
      if (!toGet && request.body !== null) return response; // a streamed body cannot be replayed
      await response.body?.cancel();
      const headers = new Headers(request.headers);
      if (toGet) {
        headers.delete("content-type");
        headers.delete("content-length");
      }
      if (target.origin !== new URL(request.url).origin) headers.delete("authorization");
      request = new Request(target, {
        method: toGet ? "GET" : request.method,
        headers,
        signal: request.signal,
        redirect: request.redirect,
      });
    }
  };
  return { fetch: adapter, close: () => agent.destroy() };
}

function send(request: Request, agent: https.Agent): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const url = new URL(request.url);
    const secure = url.protocol === "https:";
    const headers: Record<string, string> = {};
    request.headers.forEach((value, key) => headers[key] = value);
    const signal = request.signal;
    if (signal.aborted) {
      return reject(signal.reason ?? new DOMException("The request was aborted", "AbortError"));
    }
    const client = (secure ? https : http).request(url, {
      method: request.method,
      headers,
      agent: secure ? agent : undefined,
    }, (incoming) => {
      const responseHeaders = new Headers();
      for (const [key, value] of Object.entries(incoming.headers)) {
        if (Array.isArray(value)) { for (const item of value) responseHeaders.append(key, item); }
        else if (value !== undefined) responseHeaders.set(key, value);
      }
      const status = incoming.statusCode ?? 500;
      let body: ReadableStream<Uint8Array> | null = null;
      if (request.method === "HEAD" || NULL_BODY.has(status)) incoming.resume();
      else body = Readable.toWeb(incoming) as unknown as ReadableStream<Uint8Array>;
      resolve(
        new Response(body, {
          status,
          statusText: incoming.statusMessage,
          headers: responseHeaders,
        }),
      );
    });
    const onAbort = () => {
      const reason = signal.reason ?? new DOMException("The request was aborted", "AbortError");
      client.destroy(reason instanceof Error ? reason : undefined);
      reject(reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    client.on("close", () => signal.removeEventListener("abort", onAbort));
    client.on("error", (error) => {
      // fetch reports transport failures as TypeError; keep the cause for --debug.
      reject(new TypeError(`Request to ${url.origin} failed: ${error.message}`, { cause: error }));
    });
    if (request.body === null) {
      client.end();
    } else {
      pump(request.body, client).catch((error) => client.destroy(error));
    }
  });
}

async function pump(body: ReadableStream<Uint8Array>, target: http.ClientRequest): Promise<void> {
  for await (const chunk of body) {
    if (!target.write(chunk)) await once(target, "drain");
  }
  target.end();
}
