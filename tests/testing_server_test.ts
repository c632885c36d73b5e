// Raw-fetch tests of the test server's HTTP behavior that clients depend on:
// error bodies, authentication, routing, pagination, projects and faults.
import { expect } from "expect";
import { startTestServer, type TestServer } from "../testing/mod.ts";
import { withServer } from "./fixtures/server.ts";

const USERS = [
  { username: "alice", password: "alice-pw", email: "Alice@Example.com" },
  { username: "bob", password: "bob-pw" },
  { username: "carol", password: "carol-pw" },
];

function auth(server: TestServer, username: string, userAgent = "cli|test"): HeadersInit {
  return { Authorization: `Token ${server.createToken(username, userAgent)}` };
}

async function call(
  server: TestServer,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }> {
  const res = await fetch(`${server.url}${path}`, { redirect: "manual", ...init });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

function form(fields: Record<string, string>): URLSearchParams {
  return new URLSearchParams(fields);
}

Deno.test("test server: responses and error bodies", async (t) => {
  await withServer({ users: USERS }, async (server) => {
    await t.step("status/ is compact JSON without charset", async () => {
      const res = await call(server, "status/");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.text.startsWith('{"database":"ok","storage":"ok",')).toBe(true);
      expect(res.text).not.toContain(" ");
    });

    await t.step("errors are {code, message} with the server's status", async () => {
      const res = await call(server, "projects/");
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ code: "not_authenticated", message: "Not authenticated" });
      expect(res.headers.get("www-authenticate")).toBeNull();
    });

    await t.step("an empty 204 has no Content-Type", async () => {
      const { id } = server.addProject({ name: "gone", owner: "alice" });
      const res = await call(server, `projects/${id}/`, {
        method: "DELETE",
        headers: auth(server, "alice"),
      });
      expect(res.status).toBe(204);
      expect(res.text).toBe("");
      expect(res.headers.get("content-type")).toBeNull();
    });

    await t.step("server/info/ lists the credentials provider", async () => {
      const res = await call(server, "server/info/");
      expect((res.json() as { auth_providers: unknown[] }).auth_providers).toEqual([
        { type: "credentials", id: "credentials", name: "Username / Password" },
      ]);
    });
  });
});

Deno.test("test server: authentication", async (t) => {
  await withServer({ users: USERS }, async (server) => {
    await t.step("keyword is case-insensitive; Bearer is not token auth", async () => {
      const token = server.createToken("alice");
      expect(
        (await call(server, "auth/user/", { headers: { Authorization: `token ${token}` } }))
          .status,
      ).toBe(200);
      const bearer = await call(server, "auth/user/", {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(bearer.status).toBe(401);
      expect((bearer.json() as { code: string }).code).toBe("not_authenticated");
    });

    await t.step("malformed header, unknown and expired tokens", async () => {
      const alone = await call(server, "auth/user/", { headers: { Authorization: "Token" } });
      expect(alone.json()).toEqual({
        code: "authentication_failed",
        message: "Authentication failed",
      });
      const spaced = await call(server, "auth/user/", { headers: { Authorization: "Token a b" } });
      expect((spaced.json() as { code: string }).code).toBe("authentication_failed");
      const unknown = await call(server, "auth/user/", {
        headers: { Authorization: "Token nope" },
      });
      expect(unknown.status).toBe(401);
      expect(unknown.json()).toEqual({
        code: "token_authentication_failed",
        message: "Token authentication failed",
      });
      const key = server.createToken("bob");
      server.state.tokens.get(key)!.expiresAt = new Date(Date.now() - 1000);
      const expired = await call(server, "auth/user/", {
        headers: { Authorization: `Token ${key}` },
      });
      expect((expired.json() as { code: string }).code).toBe("token_authentication_failed");
    });

    await t.step("authentication also runs on AllowAny views", async () => {
      const res = await call(server, "status/", { headers: { Authorization: "Token nope" } });
      expect(res.status).toBe(401);
    });

    await t.step("login by username or e-mail, case-insensitive", async () => {
      const byName = await call(server, "auth/login/", {
        method: "POST",
        body: form({ username: "ALICE", password: "alice-pw" }),
        headers: { "user-agent": "sdk|py|0.16.0 python-requests|2.32.3" },
      });
      expect(byName.status).toBe(200);
      const body = byName.json() as Record<string, unknown>;
      expect(Object.keys(body)).toEqual([
        "token",
        "expires_at",
        "username",
        "type",
        "email",
        "avatar_url",
        "first_name",
        "last_name",
        "full_name",
      ]);
      expect(body.token).toMatch(/^[A-Za-z0-9]{100}$/);
      expect(body.username).toBe("alice");
      expect(body.type).toBe("1");
      const byEmail = await call(server, "auth/token/", {
        method: "POST",
        body: JSON.stringify({ email: "alice@example.COM", password: "alice-pw" }),
        headers: { "content-type": "application/json" },
      });
      expect(byEmail.status).toBe(200);
      const user = await call(server, "auth/user/", {
        headers: { Authorization: `Token ${(byEmail.json() as { token: string }).token}` },
      });
      expect(user.json()).toEqual({
        pk: 1,
        username: "alice",
        email: "Alice@Example.com",
        first_name: "",
        last_name: "",
      });
    });

    await t.step("organizations cannot log in; a missing password is a 400", async () => {
      server.addOrganization({ name: "acme", owner: "alice" });
      const org = await call(server, "auth/login/", {
        method: "POST",
        body: form({ username: "acme", password: "" + "x" }),
      });
      expect(org.json()).toEqual({
        code: "authentication_failed",
        message: "Authentication failed",
      });
      const missing = await call(server, "auth/login/", {
        method: "POST",
        body: form({ username: "alice" }),
      });
      expect(missing.status).toBe(400);
      expect((missing.json() as { code: string }).code).toBe("api_error");
    });

    await t.step("five failures lock the username out", async () => {
      const attempt = (password: string) =>
        call(server, "auth/login/", {
          method: "POST",
          body: form({ username: "carol", password }),
        });
      for (let i = 0; i < 4; i++) {
        expect(((await attempt("wrong")).json() as { code: string }).code).toBe(
          "authentication_failed",
        );
      }
      const fifth = await attempt("wrong");
      expect(fifth.status).toBe(401);
      expect(fifth.json()).toEqual({
        code: "too_many_failed_login_attempts",
        message: "Too many failed login attempts!",
      });
      expect(((await attempt("carol-pw")).json() as { code: string }).code).toBe(
        "too_many_failed_login_attempts",
      );
    });

    await t.step("unknown clients keep one token; SDK tokens coexist", async () => {
      const first = server.createToken("bob", "curl/8.0");
      const second = server.createToken("bob", "curl/8.0");
      expect(
        (await call(server, "auth/user/", { headers: { Authorization: `Token ${first}` } }))
          .status,
      ).toBe(401);
      expect(
        (await call(server, "auth/user/", { headers: { Authorization: `Token ${second}` } }))
          .status,
      ).toBe(200);
      const sdk1 = server.createToken("bob", "sdk|py|1");
      const sdk2 = server.createToken("bob", "sdk|py|1");
      for (const key of [sdk1, sdk2]) {
        expect(
          (await call(server, "auth/user/", { headers: { Authorization: `Token ${key}` } }))
            .status,
        ).toBe(200);
      }
    });

    await t.step("logout expires all of the user's tokens, GET too", async () => {
      const a = server.createToken("bob", "sdk|x");
      const b = server.createToken("bob", "cli|y");
      const out = await call(server, "auth/logout/", { headers: { Authorization: `Token ${a}` } });
      expect(out.status).toBe(200);
      expect(out.json()).toEqual({ detail: "Successfully logged out." });
      for (const key of [a, b]) {
        expect(
          (await call(server, "auth/user/", { headers: { Authorization: `Token ${key}` } }))
            .status,
        ).toBe(401);
      }
      expect((await call(server, "auth/logout/", { method: "POST" })).status).toBe(200);
    });
  });
});

Deno.test("test server: routing", async (t) => {
  await withServer({ users: USERS }, async (server) => {
    const headers = auth(server, "alice");
    const { id } = server.addProject({ name: "p1", owner: "alice" });

    await t.step("a missing trailing slash is a 301 to the slash URL", async () => {
      const res = await call(server, "projects?limit=1", { headers });
      expect(res.status).toBe(301);
      expect(res.headers.get("location")).toBe("/api/v1/projects/?limit=1");
    });

    await t.step("a non-UUID in a <uuid> route is Django's HTML 404", async () => {
      const res = await call(server, "files/not-a-uuid/", { headers });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.text).toContain("<title>Not Found</title>");
    });

    await t.step("a bad id on a router route is 400 validation_error", async () => {
      const res = await call(server, "projects/pizza/", { headers });
      expect(res.json()).toEqual({ code: "validation_error", message: "Validation error" });
    });

    await t.step("unknown methods are 405 api_error; files give 403 for PUT", async () => {
      const res = await call(server, "status/", { method: "DELETE" });
      expect(res.status).toBe(405);
      expect(res.json()).toEqual({ code: "api_error", message: "API Error" });
      const put = await call(server, `files/${id}/a.txt/`, { method: "PUT", headers });
      expect(put.status).toBe(403);
      expect((put.json() as { code: string }).code).toBe("permission_denied");
    });

    await t.step("the path is matched decoded: %2F is a folder separator", async () => {
      await server.putFile(id, "DCIM/a b.txt", "Hello!");
      const res = await call(server, `files/${id}/DCIM%2Fa%20b.txt/`, { headers });
      expect(res.status).toBe(200);
      expect(res.text).toBe("Hello!");
    });
  });
});

Deno.test("test server: pagination", async (t) => {
  await withServer({ users: USERS }, async (server) => {
    const headers = auth(server, "alice");
    for (const name of ["a", "b", "c", "d", "e"]) server.addProject({ name, owner: "alice" });
    const names = (res: { json: () => unknown }) =>
      (res.json() as { name: string }[]).map((p) => p.name);

    await t.step("without limit: the whole list, no headers", async () => {
      for (const q of ["", "?offset=2", "?limit=0", "?limit=-1", "?limit=abc"]) {
        const res = await call(server, `projects/${q}`, { headers });
        expect(names(res)).toEqual(["a", "b", "c", "d", "e"]);
        expect(res.headers.get("x-total-count")).toBeNull();
      }
    });

    await t.step("with limit: page, total and absolute next/previous URLs", async () => {
      const res = await call(server, "projects/?offset=2&limit=2&include-public=0", { headers });
      expect(names(res)).toEqual(["c", "d"]);
      expect(res.headers.get("x-total-count")).toBe("5");
      expect(res.headers.get("x-next-page")).toBe(
        `${server.url}projects/?include-public=0&limit=2&offset=4`,
      );
      expect(res.headers.get("x-previous-page")).toBe(
        `${server.url}projects/?include-public=0&limit=2`,
      );
      const last = await call(server, "projects/?limit=2&offset=4", { headers });
      expect(names(last)).toEqual(["e"]);
      expect(last.headers.get("x-next-page")).toBeNull();
      expect(last.headers.get("x-previous-page")).toBe(`${server.url}projects/?limit=2&offset=2`);
      const first = await call(server, "projects/?limit=2", { headers });
      expect(first.headers.get("x-previous-page")).toBeNull();
      const beyond = await call(server, "projects/?limit=2&offset=9", { headers });
      expect(beyond.json()).toEqual([]);
      expect(beyond.headers.get("x-total-count")).toBe("5");
    });
  });
});

Deno.test("test server: projects", async (t) => {
  await withServer({ users: USERS }, async (server) => {
    const alice = auth(server, "alice");
    const bob = auth(server, "bob");
    server.addProject({ name: "public-one", owner: "bob", isPublic: true });

    await t.step("include-public: only 1 includes public-only projects", async () => {
      const list = async (q: string) =>
        ((await call(server, `projects/${q}`, { headers: alice })).json() as { name: string }[])
          .map((p) => p.name);
      expect(await list("")).toEqual([]);
      expect(await list("?include-public=0")).toEqual([]);
      expect(await list("?include-public=true")).toEqual([]);
      expect(await list("?include-public=1")).toEqual(["public-one"]);
      expect(await list("?include_public=1")).toEqual(["public-one"]);
      const bad = await call(server, "projects/?include_public=yes", { headers: alice });
      expect(bad.status).toBe(400);
      expect((bad.json() as { code: string }).code).toBe("api_error");
    });

    let projectId = "";
    await t.step("create: 201 without user_role, then retrieve with it", async () => {
      const res = await call(server, "projects/", {
        method: "POST",
        headers: alice,
        body: form({ name: "survey", description: "d", is_public: "0" }),
      });
      expect(res.status).toBe(201);
      expect(res.headers.get("location")).toBeNull();
      const body = res.json() as Record<string, unknown>;
      expect(body).not.toHaveProperty("user_role");
      expect(body).toMatchObject({
        name: "survey",
        owner: "alice",
        project_type: "regular",
        private: true,
        is_public: false,
        status: "failed",
        can_repackage: true,
        needs_repackaging: true,
        the_qgis_file_name: null,
      });
      projectId = body.id as string;
      const got = await call(server, `projects/${projectId}/`, { headers: alice });
      expect(got.json()).toMatchObject({ user_role: "admin", user_role_origin: "project_owner" });
      expect(Object.keys(got.json() as object)).toEqual([
        "id",
        "name",
        "project_type",
        "owner",
        "description",
        "private",
        "is_public",
        "created_at",
        "updated_at",
        "data_last_packaged_at",
        "data_last_updated_at",
        "restricted_data_last_updated_at",
        "can_repackage",
        "needs_repackaging",
        "status",
        "user_role",
        "user_role_origin",
        "shared_datasets_project_id",
        "is_shared_datasets_project",
        "is_featured",
        "is_attachment_download_on_demand",
        "has_restricted_projectfiles",
        "overwrite_conflicts",
        "file_storage_bytes",
        "the_qgis_file_name",
      ]);
    });

    await t.step("create errors: name, duplicate, unknown owner, org rights", async () => {
      const create = (fields: Record<string, string>, headers = alice) =>
        call(server, "projects/", { method: "POST", headers, body: form(fields) });
      const bad = await create({ name: "no spaces" });
      expect(bad.status).toBe(400);
      expect((bad.json() as { code: string }).code).toBe("api_error");
      expect((await create({ name: "survey" })).json()).toEqual({
        code: "project_already_exists",
        message: "This user already owns a project with the same name.",
      });
      expect((await create({ name: "x", owner: "nobody" })).json()).toMatchObject({
        code: "object_not_found",
      });
      server.addOrganization({ name: "acme", owner: "carol" });
      expect((await create({ name: "x", owner: "acme" })).status).toBe(403);
      server.addOrganizationMember("acme", "alice", "admin");
      const ok = await create({ name: "x", owner: "acme" });
      expect(ok.status).toBe(201);
      expect((ok.json() as { owner: string }).owner).toBe("acme");
    });

    await t.step("retrieve/patch/delete need a role", async () => {
      const other = await call(server, `projects/${projectId}/`, { headers: bob });
      expect(other.json()).toEqual({ code: "permission_denied", message: "Permission denied" });
      const unknown = await call(server, `projects/${crypto.randomUUID()}/`, { headers: bob });
      expect(unknown.status).toBe(404);
      server.addCollaborator(projectId, "bob", "reader");
      const patchByReader = await call(server, `projects/${projectId}/`, {
        method: "PATCH",
        headers: bob,
        body: form({ description: "x" }),
      });
      expect(patchByReader.status).toBe(403);
      const patched = await call(server, `projects/${projectId}/`, {
        method: "PATCH",
        headers: alice,
        body: form({ description: "new", is_public: "1" }),
      });
      expect(patched.json()).toMatchObject({ description: "new", is_public: true, private: false });
      const del = await call(server, `projects/${projectId}/`, { method: "DELETE", headers: bob });
      expect(del.status).toBe(403);
    });

    await t.step("default order: featured first, then owner and name", async () => {
      const res = await call(server, "projects/?include-public=1", { headers: alice });
      expect((res.json() as { owner: string; name: string }[]).map((p) => `${p.owner}/${p.name}`))
        .toEqual(["acme/x", "alice/survey", "bob/public-one"]);
      const byName = await call(server, "projects/?include-public=1&ordering=-name", {
        headers: alice,
      });
      expect((byName.json() as { name: string }[]).map((p) => p.name)).toEqual([
        "x",
        "survey",
        "public-one",
      ]);
    });

    await t.step("thumbnail: a PNG gives 204, other bytes 400", async () => {
      const png = new Uint8Array([
        0x89,
        0x50,
        0x4e,
        0x47,
        0x0d,
        0x0a,
        0x1a,
        0x0a,
        0,
        0,
        0,
        13,
        0x49,
        0x48,
        0x44,
        0x52,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        1,
        8,
        6,
        0,
        0,
        0,
      ]);
      const good = new FormData();
      good.append("thumbnail", new Blob([png]), "t.png");
      const ok = await call(server, `projects/${projectId}/thumbnail/`, {
        method: "POST",
        headers: alice,
        body: good,
      });
      expect(ok.status).toBe(204);
      const bad = new FormData();
      bad.append("thumbnail", new Blob(["not an image"]), "t.png");
      const res = await call(server, `projects/${projectId}/thumbnail/`, {
        method: "POST",
        headers: alice,
        body: bad,
      });
      expect(res.status).toBe(400);
    });
  });
});

Deno.test("test server: fault injection", async (t) => {
  await withServer({ users: USERS }, async (server) => {
    await t.step("a 5xx fault answers with the proxy's HTML page once", async () => {
      server.injectFault({ path: /status/, status: 502, retryAfter: "1" });
      const res = await call(server, "status/");
      expect(res.status).toBe(502);
      expect(res.headers.get("content-type")).toBe("text/html");
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.text).toContain("<title>Error 500 - Internal Server Error</title>");
      expect((await call(server, "status/")).status).toBe(200);
    });

    await t.step("method and path filters, custom body, times", async () => {
      server.injectFault({ method: "POST", status: 429, body: "{}", contentType: "x/y", times: 2 });
      expect((await call(server, "status/")).status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const res = await call(server, "auth/logout/", { method: "POST" });
        expect(res.status).toBe(429);
        expect(res.headers.get("content-type")).toBe("x/y");
      }
      expect((await call(server, "auth/logout/", { method: "POST" })).status).toBe(200);
    });

    await t.step("dropConnection makes fetch reject, even on a reused connection", async () => {
      await call(server, "status/"); // leaves a pooled keep-alive connection
      server.clearRequests();
      server.injectFault({ dropConnection: true });
      await expect(fetch(`${server.url}status/`)).rejects.toThrow();
      expect(server.requests.length).toBe(1);
      expect((await call(server, "status/")).status).toBe(200);
    });

    await t.step("truncateAfterBytes sends headers and a partial body", async () => {
      const { id } = server.addProject({ name: "p", owner: "alice" });
      await server.putFile(id, "data.bin", new Uint8Array(100_000).fill(1));
      server.injectFault({ path: /data\.bin/, truncateAfterBytes: 1000 });
      const res = await fetch(`${server.url}files/${id}/data.bin/`, {
        headers: auth(server, "alice"),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-length")).toBe("100000");
      let received = 0;
      await expect((async () => {
        for await (const chunk of res.body!) received += chunk.byteLength;
      })()).rejects.toThrow();
      expect(received).toBe(1000);
    });

    await t.step(
      "stallAfterBytes sends part of a body, then nothing, connection open",
      async () => {
        const { id } = server.addProject({ name: "p-stall", owner: "alice" });
        await server.putFile(id, "data.bin", new Uint8Array(100_000).fill(2));
        server.injectFault({ path: /data\.bin/, stallAfterBytes: 1500 });
        const controller = new AbortController();
        const res = await fetch(`${server.url}files/${id}/data.bin/`, {
          headers: auth(server, "alice"),
          signal: controller.signal,
        });
        expect(res.status).toBe(200);
        const reader = res.body!.getReader();
        let received = 0;
        while (received < 1500) received += (await reader.read()).value!.byteLength;
        expect(received).toBe(1500);
        // Nothing more arrives: the next read is still pending a moment later.
        const next = reader.read();
        const waited = await Promise.race([
          next.then(() => "data"),
          new Promise((resolve) => setTimeout(() => resolve("pending"), 200)),
        ]);
        expect(waited).toBe("pending");
        controller.abort();
        await next.catch(() => {});
        const again = await call(server, `files/${id}/data.bin/`, {
          headers: auth(server, "alice"),
        });
        expect(again.status).toBe(200);
      },
    );

    await t.step("corruptByteAt changes one byte and keeps the length", async () => {
      const { id } = server.addProject({ name: "p-flip", owner: "alice" });
      const content = new Uint8Array(300_000).map((_, i) => i % 251);
      await server.putFile(id, "data.bin", content);
      const get = async () =>
        new Uint8Array(
          await (await fetch(`${server.url}files/${id}/data.bin/`, {
            headers: auth(server, "alice"),
          })).arrayBuffer(),
        );
      server.injectFault({ path: /data\.bin/, corruptByteAt: 123_456 });
      const bytes = await get();
      expect(bytes.byteLength).toBe(content.byteLength);
      const changed = [...bytes.keys()].filter((i) => bytes[i] !== content[i]);
      expect(changed).toEqual([123_456]);
      // Once only, and beyond the end it changes the last byte.
      expect(await get()).toEqual(content);
      server.injectFault({ path: /data\.bin/, corruptByteAt: 10_000_000 });
      const last = await get();
      expect(last[content.byteLength - 1]).toBe(content[content.byteLength - 1] ^ 0xff);
      expect(last.subarray(0, -1)).toEqual(content.subarray(0, -1));
    });

    await t.step("probability 0 never strikes, and a bad probability is refused", async () => {
      server.injectFault({ path: /status/, status: 502, probability: 0 });
      expect((await call(server, "status/")).status).toBe(200);
      expect(() => server.injectFault({ status: 502, probability: 2 })).toThrow(RangeError);
    });

    await t.step("the request log records method, path, query and headers", async () => {
      server.clearRequests();
      await call(server, "projects/?limit=1", { headers: auth(server, "alice") });
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]).toMatchObject({
        method: "GET",
        path: "/api/v1/projects/",
        query: "limit=1",
      });
      expect(server.requests[0].headers.get("authorization")).toMatch(/^Token /);
    });
  });
});

Deno.test("test server: serves HTTPS with tls option", async () => {
  // No certificate tooling offline: only check that a bad PEM is refused at start.
  await expect(startTestServer({ tls: { cert: "x", key: "y" }, quiet: true })).rejects.toThrow();
});

Deno.test("the request log is kept by default, and not with logRequests: false", async () => {
  for (const logRequests of [undefined, false]) {
    await withServer({ logRequests }, async (server) => {
      for (let i = 0; i < 3; i++) expect((await call(server, "status/")).status).toBe(200);
      expect(server.requests.map((r) => r.path)).toEqual(
        logRequests === false ? [] : Array(3).fill("/api/v1/status/"),
      );
    });
  }
});
