// The request core against small real HTTP servers: encoding, headers, errors, retries,
// timeouts and pagination. The test server's own fidelity is proven in testing_*_test.ts.
import { expect } from "expect";
import { createServer, type Socket } from "node:net";
import {
  AUTO_PAGE_SIZE,
  Client,
  LIST_PAGE_CONCURRENCY,
  Pagination,
  QfcException,
  QfcRequestException,
  RequestCore,
  VERSION,
} from "../mod.ts";
import { PROXY_500_HTML } from "../testing/proxy_500.ts";

type Handler = (request: Request) => Response | Promise<Response>;

/** Serves `handler` on a free port for the duration of `fn`. */
async function withHandler(handler: Handler, fn: (base: string) => Promise<void>): Promise<void> {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/api/v1/`);
  } finally {
    await server.shutdown();
  }
}

/** Awaits a promise that must reject with a QfcRequestException, and returns the error. */
async function failure(promise: Promise<unknown>): Promise<QfcRequestException> {
  const error = await promise.then(() => undefined, (e) => e);
  expect(error).toBeInstanceOf(QfcRequestException);
  return error;
}

const noRetryDelay = { baseDelayMs: 1, maxDelayMs: 2 };
const proxyPage = PROXY_500_HTML;

Deno.test("RequestCore builds URLs", async (t) => {
  await t.step("adds the trailing slash to the base URL and to every path", () => {
    const a = new RequestCore({ url: "https://example.org/api/v1" });
    const b = new RequestCore({ url: "https://example.org/api/v1/" });
    expect(a.baseUrl).toBe("https://example.org/api/v1/");
    expect(a.buildUrl(["projects"]).href).toBe("https://example.org/api/v1/projects/");
    expect(b.buildUrl(["projects", "p1"]).href).toBe("https://example.org/api/v1/projects/p1/");
    // Empty pieces are dropped; no piece at all is the base URL itself, with one slash.
    expect(b.buildUrl(["/projects//", "", "p1/"]).href).toBe(
      "https://example.org/api/v1/projects/p1/",
    );
    expect(b.buildUrl([]).href).toBe("https://example.org/api/v1/");
    expect(b.buildUrl(["", "/"]).href).toBe("https://example.org/api/v1/");
  });

  await t.step("percent-encodes every piece and keeps subfolders", () => {
    const core = new RequestCore({ url: "https://example.org/api/v1/" });
    const url = core.buildUrl(["files", "p", "DCIM/a b#1?%20é.jpg"], { version: "v1" });
    expect(url.href).toBe(
      "https://example.org/api/v1/files/p/DCIM/a%20b%231%3F%2520%C3%A9.jpg/?version=v1",
    );
  });

  await t.step("sends booleans as 1/0 and drops null and undefined", () => {
    const core = new RequestCore({ url: "https://example.org/api/v1/" });
    const url = core.buildUrl(["projects"], { "include-public": true, owner: undefined, x: null });
    expect(url.search).toBe("?include-public=1");
  });

  await t.step("refuses a URL that is not absolute http(s), naming it", () => {
    for (const url of ["app.qfield.cloud", "ftp://example.org/", "https://u:p@example.org/"]) {
      expect(() => new RequestCore({ url })).toThrow(TypeError);
    }
    expect(() => new RequestCore({ url: "app.qfield.cloud" })).toThrow(
      new TypeError(
        'Cannot use the server URL "app.qfield.cloud": it is not an absolute URL such as https://app.qfield.cloud/api/v1/',
      ),
    );
    expect(() => new RequestCore({ url: "ftp://example.org/" })).toThrow(
      new TypeError(
        'Cannot use the server URL "ftp://example.org/": only http and https are supported',
      ),
    );
  });

  await t.step("refuses credentials in the URL without repeating them", () => {
    let message = "";
    try {
      new RequestCore({ url: "https://user:hunter22@example.org/api/v1/" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("with a user name or password in it");
    expect(message).not.toContain("hunter22");
    expect(message).not.toContain("user:");
  });
});

Deno.test("hostile file names reach the server intact", async () => {
  const seen: string[] = [];
  await withHandler((request) => {
    seen.push(decodeURIComponent(new URL(request.url).pathname));
    return Response.json({});
  }, async (base) => {
    const core = new RequestCore({ url: base });
    for (
      const name of ["a b.txt", "x#y.txt", "what?.txt", "100%.txt", "ünï 📷.jpg", "d/e/f.gpkg"]
    ) {
      await core.json({ path: ["files", "p", name] });
    }
  });
  expect(seen).toEqual([
    "/api/v1/files/p/a b.txt/",
    "/api/v1/files/p/x#y.txt/",
    "/api/v1/files/p/what?.txt/",
    "/api/v1/files/p/100%.txt/",
    "/api/v1/files/p/ünï 📷.jpg/",
    "/api/v1/files/p/d/e/f.gpkg/",
  ]);
});

Deno.test("requests carry the token and an sdk|ts User-Agent", async () => {
  let headers = new Headers();
  let body = "";
  await withHandler(async (request) => {
    headers = request.headers;
    body = await request.text();
    return Response.json({ id: "p1" });
  }, async (base) => {
    const client = new Client({ url: base, token: "secret-token" });
    await client.patchProject("p1", { isPublic: false, description: "" });
  });
  expect(headers.get("authorization")).toBe("Token secret-token");
  expect(headers.get("user-agent")).toBe(`sdk|ts|${VERSION}`);
  expect(headers.get("content-type")).toBe("application/x-www-form-urlencoded;charset=UTF-8");
  // Unlike the Python SDK, false and "" are sent.
  expect(body).toBe("description=&is_public=0");
});

Deno.test("errors carry status, code, message, method and URL, never the token", async (t) => {
  await withHandler((request) => {
    const path = new URL(request.url).pathname;
    if (path.includes("json")) {
      return Response.json({ code: "object_not_found", message: "Object not found" }, {
        status: 404,
      });
    }
    if (path.includes("html")) {
      return new Response(proxyPage, { status: 502, headers: { "content-type": "text/html" } });
    }
    return new Response("plain failure", { status: 400 });
  }, async (base) => {
    const core = new RequestCore({ url: base, token: "secret-token", retry: { attempts: 1 } });

    await t.step("JSON error body", async () => {
      const error = await failure(core.json({ path: ["json"] }));
      expect(error).toBeInstanceOf(QfcRequestException);
      expect(error).toBeInstanceOf(QfcException);
      expect(error.status).toBe(404);
      expect(error.code).toBe("object_not_found");
      expect(error.serverMessage).toBe("Object not found");
      expect(error.method).toBe("GET");
      expect(error.url).toBe(`${base}json/`);
      expect(error.message).toBe(`GET ${base}json/ failed: 404 object_not_found Object not found`);
      expect(JSON.stringify({ ...error, message: error.message })).not.toContain("secret-token");
    });

    await t.step("an HTML proxy page becomes one line", async () => {
      const error = await failure(core.json({ path: ["html"] }));
      expect(error.status).toBe(502);
      expect(error.code).toBeUndefined();
      expect(error.serverMessage).toBe("Error 500 - Internal Server Error");
      expect(error.message).not.toContain("\n");
    });

    await t.step("a plain-text body", async () => {
      const error = await failure(core.json({ path: ["text"] }));
      expect(error.serverMessage).toBe("plain failure");
    });
  });
});

Deno.test("a network failure is a QfcRequestException with a cause", async () => {
  // A port that was free a moment ago: nothing listens there.
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const core = new RequestCore({
    url: `http://127.0.0.1:${port}/api/v1/`,
    retry: { attempts: 2, ...noRetryDelay },
  });
  const error = await failure(core.json({ path: ["status"] }));
  expect(error).toBeInstanceOf(QfcRequestException);
  expect(error.status).toBeUndefined();
  expect(error.cause).toBeDefined();
  expect(error.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/status\/ failed: /);
});

Deno.test("retries", async (t) => {
  await t.step("GET is retried on 503 until it succeeds", async () => {
    let calls = 0;
    await withHandler(() => {
      calls++;
      return calls < 3
        ? new Response(proxyPage, { status: 503 })
        : Response.json({ database: "ok", storage: "ok" });
    }, async (base) => {
      const core = new RequestCore({ url: base, retry: noRetryDelay });
      expect(await core.json({ path: ["status"] })).toEqual({ database: "ok", storage: "ok" });
    });
    expect(calls).toBe(3);
  });

  await t.step("attempts are bounded", async () => {
    let calls = 0;
    await withHandler(() => {
      calls++;
      return new Response("busy", { status: 500 });
    }, async (base) => {
      const core = new RequestCore({ url: base, retry: { attempts: 3, ...noRetryDelay } });
      const error = await failure(core.json({ path: ["status"] }));
      expect(error.status).toBe(500);
    });
    expect(calls).toBe(3);
  });

  await t.step("POST and PATCH are never retried", async () => {
    let calls = 0;
    await withHandler(() => {
      calls++;
      return new Response("down", { status: 503 });
    }, async (base) => {
      const client = new Client({ url: base, token: "t", retry: noRetryDelay });
      await expect(client.jobTrigger("p", "package")).rejects.toThrow(QfcRequestException);
      await expect(client.patchProject("p", { name: "x" })).rejects.toThrow(QfcRequestException);
    });
    expect(calls).toBe(2);
  });

  await t.step("a 4xx is not retried", async () => {
    let calls = 0;
    await withHandler(() => {
      calls++;
      return Response.json({ code: "permission_denied", message: "Permission denied" }, {
        status: 403,
      });
    }, async (base) => {
      const core = new RequestCore({ url: base, retry: noRetryDelay });
      await expect(core.json({ path: ["x"] })).rejects.toThrow(/403 permission_denied/);
    });
    expect(calls).toBe(1);
  });

  await t.step("Retry-After is honored on 429", async () => {
    const times: number[] = [];
    await withHandler(() => {
      times.push(performance.now());
      return times.length === 1
        ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } })
        : Response.json([]);
    }, async (base) => {
      const core = new RequestCore({ url: base, retry: noRetryDelay });
      await core.json({ path: ["projects"] });
    });
    expect(times.length).toBe(2);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(950);
  });

  await t.step("a dropped connection is retried for GET", async () => {
    let connections = 0;
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      connections++;
      socket.once("data", () => {
        if (connections === 1) {
          socket.destroy(); // hang up without answering
          return;
        }
        const body = '{"database":"ok","storage":"ok"}';
        socket.end(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
            `Connection: close\r\n\r\n${body}`,
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const core = new RequestCore({ url: `http://127.0.0.1:${port}/`, retry: noRetryDelay });
      expect(await core.json({ path: ["status"] })).toEqual({ database: "ok", storage: "ok" });
      expect(connections).toBe(2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

Deno.test("a slow server times out with a QfcRequestException", async () => {
  let calls = 0;
  await withHandler(async () => {
    calls++;
    await new Promise((resolve) => setTimeout(resolve, 300));
    return Response.json({});
  }, async (base) => {
    const core = new RequestCore({
      url: base,
      timeoutMs: 50,
      retry: { attempts: 2, ...noRetryDelay },
    });
    const error = await failure(core.json({ path: ["status"] }));
    expect(error).toBeInstanceOf(QfcRequestException);
    expect(error.message).toContain("No response within 50 ms");
    // Let the server finish its slow answers before it shuts down.
    await new Promise((resolve) => setTimeout(resolve, 350));
  });
  expect(calls).toBe(2);
});

Deno.test("an aborted signal stops a request without retries", async () => {
  let calls = 0;
  await withHandler(() => {
    calls++;
    return new Response("down", { status: 503 });
  }, async (base) => {
    const controller = new AbortController();
    const core = new RequestCore({ url: base, retry: { attempts: 5, baseDelayMs: 200 } });
    const pending = core.json({ path: ["status"], signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stop")), 50);
    await expect(pending).rejects.toThrow("stop");
  });
  expect(calls).toBe(1);
});

Deno.test("pagination", async (t) => {
  const items = Array.from({ length: 45 }, (_, i) => ({ i }));
  const seen: string[] = [];
  const handler: Handler = (request) => {
    const url = new URL(request.url);
    seen.push(url.search);
    const limit = Number(url.searchParams.get("limit"));
    if (!(limit > 0)) return Response.json(items);
    const offset = Number(url.searchParams.get("offset") ?? 0);
    const headers = new Headers({ "x-total-count": String(items.length) });
    if (offset + limit < items.length) {
      const next = new URL(url);
      next.searchParams.set("offset", String(offset + limit));
      next.searchParams.sort();
      headers.set("x-next-page", next.href);
    }
    return Response.json(items.slice(offset, offset + limit), { headers });
  };

  await t.step("without pagination every page is followed", async () => {
    await withHandler(handler, async (base) => {
      seen.length = 0;
      const core = new RequestCore({ url: base });
      expect(await core.list({ path: ["projects"] }, undefined, 20)).toEqual(items);
      expect(seen[0]).toBe("?limit=20&offset=0");
      expect(seen.slice(1).sort()).toEqual(["?limit=20&offset=20", "?limit=20&offset=40"]);
    });
  });

  await t.step("with a Pagination exactly that page", async () => {
    await withHandler(handler, async (base) => {
      seen.length = 0;
      const client = new Client({ url: base, token: "t" });
      const page = await client.listProjects({
        pagination: new Pagination({ limit: 10, offset: 30 }),
      });
      expect(page).toEqual(items.slice(30, 40));
      expect(seen).toEqual(["?include-public=0&limit=10&offset=30"]);
    });
  });

  await t.step("an offset alone uses the default limit of 20", async () => {
    await withHandler(handler, async (base) => {
      const core = new RequestCore({ url: base });
      const page = await core.list({ path: ["x"] }, new Pagination({ offset: 5 }));
      expect(page).toEqual(items.slice(5, 25));
    });
  });

  await t.step("iterate yields item by item over pages", async () => {
    await withHandler(handler, async (base) => {
      seen.length = 0;
      const client = new Client({ url: base, token: "t" });
      const got = [];
      for await (const project of client.iterateProjects({ pageSize: 15 })) got.push(project);
      expect(got).toEqual(items);
      expect(seen.length).toBe(3);
    });
  });

  await t.step("Pagination validates its numbers", () => {
    expect(new Pagination().isEmpty).toBe(true);
    expect(new Pagination({ limit: 5 }).isEmpty).toBe(false);
    expect(() => new Pagination({ limit: 0 })).toThrow(RangeError);
    expect(() => new Pagination({ offset: -1 })).toThrow(RangeError);
    expect(() => new Pagination({ limit: 0 })).toThrow(
      new RangeError('Cannot use limit "0": it must be a positive integer'),
    );
    expect(() => new Pagination({ offset: -1 })).toThrow(
      new RangeError('Cannot use offset "-1": it must be a non-negative integer'),
    );
  });
});

/** A paginating server over `items`, which may change between requests. */
function pagingServer(
  items: { i: number }[],
  onRequest: (search: string) => void | Promise<void>,
) {
  return async (request: Request) => {
    const url = new URL(request.url);
    await onRequest(url.search);
    const limit = Number(url.searchParams.get("limit"));
    const offset = Number(url.searchParams.get("offset") ?? 0);
    const headers = new Headers({ "x-total-count": String(items.length) });
    if (offset + limit < items.length) {
      const next = new URL(url);
      next.searchParams.set("offset", String(offset + limit));
      headers.set("x-next-page", next.href);
    }
    return Response.json(items.slice(offset, offset + limit), { headers });
  };
}

Deno.test("a long list is fetched a bounded number of pages at a time", async (t) => {
  await t.step("after the first page, the others concurrently, in order", async () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ i }));
    let inFlight = 0;
    let most = 0;
    const seen: string[] = [];
    await withHandler(
      pagingServer(items, async (search) => {
        seen.push(search);
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
      }),
      async (base) => {
        const client = new Client({ url: base, token: "t" });
        expect(await client.listProjects()).toEqual(items);
      },
    );
    expect(seen.length).toBe(1000 / AUTO_PAGE_SIZE);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(LIST_PAGE_CONCURRENCY);
  });

  await t.step("a list that grows meanwhile is followed to its end", async () => {
    const items = Array.from({ length: 45 }, (_, i) => ({ i }));
    await withHandler(
      pagingServer(items, (search) => {
        if (search.endsWith("offset=0")) {
          for (let i = 45; i < 70; i++) items.push({ i });
        }
      }),
      async (base) => {
        const core = new RequestCore({ url: base });
        const got = await core.list<{ i: number }>({ path: ["x"] }, undefined, 20);
        expect(got.map((item) => item.i)).toEqual(items.map((item) => item.i));
        expect(got.length).toBe(70);
      },
    );
  });

  await t.step("a failed page fails the list", async () => {
    const items = Array.from({ length: 100 }, (_, i) => ({ i }));
    await withHandler(async (request) => {
      if (new URL(request.url).searchParams.get("offset") === "50") {
        return Response.json({ code: "api_error", message: "no" }, { status: 400 });
      }
      return await pagingServer(items, () => {})(request);
    }, async (base) => {
      const core = new RequestCore({ url: base, retry: { attempts: 1 } });
      await expect(core.list({ path: ["x"] }, undefined, 10)).rejects.toThrow(/400/);
    });
  });

  await t.step("iterateProjects() still streams: one request per page, as read", async () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ i }));
    const seen: string[] = [];
    await withHandler(
      pagingServer(items, (search) => void seen.push(search)),
      async (base) => {
        const client = new Client({ url: base, token: "t" });
        for await (const project of client.iterateProjects()) {
          expect(project).toEqual({ i: 0 });
          break;
        }
        expect(seen).toEqual(["?include-public=0&limit=100&offset=0"]);
      },
    );
  });
});

Deno.test("Client reads QFIELDCLOUD_URL and QFIELDCLOUD_TOKEN", () => {
  const saved = [Deno.env.get("QFIELDCLOUD_URL"), Deno.env.get("QFIELDCLOUD_TOKEN")];
  try {
    Deno.env.delete("QFIELDCLOUD_URL");
    Deno.env.delete("QFIELDCLOUD_TOKEN");
    expect(() => new Client()).toThrow(TypeError);
    expect(() => new Client()).toThrow(
      /without a server URL: pass \{ url \} or set QFIELDCLOUD_URL/,
    );
    Deno.env.set("QFIELDCLOUD_URL", "https://qfc.example.org/api/v1");
    Deno.env.set("QFIELDCLOUD_TOKEN", "env-token");
    const client = new Client();
    expect(client.url).toBe("https://qfc.example.org/api/v1/");
    expect(client.token).toBe("env-token");
    expect(new Client({ token: "given" }).token).toBe("given");
  } finally {
    for (const [name, value] of [["QFIELDCLOUD_URL", saved[0]], ["QFIELDCLOUD_TOKEN", saved[1]]]) {
      if (value === undefined) Deno.env.delete(name!);
      else Deno.env.set(name!, value);
    }
  }
});

Deno.test("VERSION matches deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  expect(VERSION).toBe(config.version);
});
