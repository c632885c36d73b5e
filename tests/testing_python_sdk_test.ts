// Replays, over a raw socket, the requests the official Python SDK and CLI
// (opengisch/qfieldcloud-sdk-python, sent by python-requests 2.28) put on the
// wire, as captured byte for byte: form bodies with `True`/`False`, `limit` and
// `offset` on writes, the lower-case `token` keyword, multipart parts without a
// Content-Type, and a GET with a form body. fetch() cannot send some of these,
// so they go through Deno.connect.
import { expect } from "expect";
import type { TestServer } from "../testing/mod.ts";
import { withServer } from "./fixtures/server.ts";

const UA = "sdk|py|dev python-requests|2.28.1";
const BOUNDARY = "2a38033df12a7f0430177af37ba2ed44";

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: () => unknown;
}

/** Sends one HTTP/1.1 request as python-requests writes it and reads the whole answer. */
async function raw(
  server: TestServer,
  method: string,
  pathAndQuery: string,
  options: { token?: string; contentType?: string; body?: string } = {},
): Promise<RawResponse> {
  const url = new URL(server.url);
  const body = new TextEncoder().encode(options.body ?? "");
  const lines = [
    `${method} ${url.pathname}${pathAndQuery} HTTP/1.1`,
    `Host: ${url.host}`,
    "Accept-Encoding: identity",
    ...(options.token ? [`Authorization: token ${options.token}`] : []),
    `User-Agent: ${UA}`,
    ...(options.body !== undefined ? [`Content-Length: ${body.byteLength}`] : []),
    ...(options.contentType ? [`Content-Type: ${options.contentType}`] : []),
    "Connection: close",
  ];
  const head = new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n");
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const chunks: Uint8Array[] = [];
  try {
    const request = new Uint8Array(head.byteLength + body.byteLength);
    request.set(head);
    request.set(body, head.byteLength);
    let written = 0;
    while (written < request.byteLength) {
      written += await conn.write(request.subarray(written));
    }
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
  } finally {
    conn.close();
  }
  const all = new Uint8Array(chunks.reduce((sum, c) => sum + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  const textAll = new TextDecoder().decode(all);
  const split = textAll.indexOf("\r\n\r\n");
  const [statusLine, ...headerLines] = textAll.slice(0, split).split("\r\n");
  const headers = new Headers();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let text = textAll.slice(split + 4);
  if (headers.get("transfer-encoding")?.includes("chunked")) text = dechunk(text);
  return {
    status: Number(statusLine.split(" ")[1]),
    headers,
    text,
    json: () => JSON.parse(text),
  };
}

function dechunk(text: string): string {
  let out = "";
  let rest = text;
  while (rest.length > 0) {
    const eol = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, eol), 16);
    if (!size) break;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
  return out;
}

const FORM = "application/x-www-form-urlencoded";

/** A multipart body exactly as python-requests builds it for `files={"file": f}`. */
function multipart(field: string, filename: string, content: string): string {
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; ` +
    `filename="${filename}"\r\n\r\n${content}\r\n--${BOUNDARY}--\r\n`;
}

const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

const OPTIONS = {
  users: [
    { username: "alice", password: "alice-pw" },
    { username: "bob", password: "bob-pw" },
  ],
  organizations: [{ name: "acme", owner: "alice" }],
  // Long enough that a package job is still pending when job-trigger repeats.
  jobSeconds: 5,
};

Deno.test("python sdk wire shapes: login, projects and pagination", async (t) => {
  await withServer(OPTIONS, async (server) => {
    let token = "";
    await t.step("login is a form POST without Authorization", async () => {
      const res = await raw(server, "POST", "auth/login/", {
        contentType: FORM,
        body: "username=alice&password=alice-pw",
      });
      expect(res.status).toBe(200);
      token = (res.json() as { token: string }).token;
      expect(token).toMatch(/^[A-Za-z0-9]{100}$/);
    });

    await t.step("create-project: owner omitted, is_public=0 and =1", async () => {
      const mine = await raw(server, "POST", "projects/", {
        token,
        contentType: FORM,
        body: "name=p1&description=&is_public=0",
      });
      expect(mine.status).toBe(201);
      expect(mine.json()).toMatchObject({ name: "p1", owner: "alice", is_public: false });
      const org = await raw(server, "POST", "projects/", {
        token,
        contentType: FORM,
        body: "name=p2&owner=acme&description=Org+project&is_public=1",
      });
      expect(org.status).toBe(201);
      expect(org.json()).toMatchObject({
        owner: "acme",
        description: "Org project",
        private: false,
      });
    });

    await t.step("patch-project sends is_public=True as a form", async () => {
      const { id } = server.addProject({ name: "p3", owner: "alice" });
      const res = await raw(server, "PATCH", `projects/${id}/`, {
        token,
        contentType: FORM,
        body: "description=d&is_public=True",
      });
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ description: "d", is_public: true });
    });

    await t.step(
      "list-projects: include-public=0&limit=20&offset=0 gives the next page",
      async () => {
        for (let i = 0; i < 22; i++) server.addProject({ name: `many${i}`, owner: "alice" });
        const res = await raw(server, "GET", "projects/?include-public=0&limit=20&offset=0", {
          token,
        });
        expect(res.status).toBe(200);
        expect((res.json() as unknown[]).length).toBe(20);
        expect(res.headers.get("x-total-count")).toBe("25");
        const next = new URL(res.headers.get("x-next-page")!);
        expect(next.searchParams.get("limit")).toBe("20");
        expect(next.searchParams.get("offset")).toBe("20");
      },
    );

    await t.step("the SDK's follow-up page (limit=['20']) counts as no pagination", async () => {
      // _request_json passes parse_qs lists to str(), so the second request carries
      // limit=%5B%2720%27%5D; like DRF, the server then returns the full list.
      const res = await raw(
        server,
        "GET",
        "projects/?include-public=0&limit=%5B%2720%27%5D&offset=%5B%2720%27%5D",
        { token },
      );
      expect(res.status).toBe(200);
      expect((res.json() as unknown[]).length).toBe(25);
      expect(res.headers.get("x-total-count")).toBeNull();
    });
  });
});

Deno.test("python sdk wire shapes: files, deltas and jobs", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const token = server.createToken("alice", UA);
    const { id } = server.addProject({ name: "survey", owner: "alice" });

    await t.step("upload: URL name wins over the part's local basename", async () => {
      const res = await raw(server, "POST", `files/${id}/sub/a%20b.txt/`, {
        token,
        contentType: MULTIPART,
        body: multipart("file", "a b.txt", "Hello!"),
      });
      expect(res.status).toBe(201);
      expect(res.json()).toEqual({});
      const list = await raw(server, "GET", `files/${id}/?skip_metadata=1`, { token });
      expect(list.json()).toEqual([
        expect.objectContaining({
          name: "sub/a b.txt",
          md5sum: "952d2c56d0485958336747bcdd98590d",
        }),
      ]);
    });

    await t.step("job-trigger: force=0 reuses the pending job, force=1 does not", async () => {
      await raw(server, "POST", `files/${id}/project.qgs/`, {
        token,
        contentType: MULTIPART,
        body: multipart("file", "project.qgs", '<qgis version="3.34.0-Prizren"></qgis>'),
      });
      const body = `project_id=${id}&type=package&force=0`;
      const first = await raw(server, "POST", "jobs/", { token, contentType: FORM, body });
      expect(first.status).toBe(201);
      const again = await raw(server, "POST", "jobs/", { token, contentType: FORM, body });
      expect(again.status).toBe(200);
      const firstId = (first.json() as { id: string }).id;
      expect((again.json() as { id: string }).id).toBe(firstId);
      const forced = await raw(server, "POST", "jobs/", {
        token,
        contentType: FORM,
        body: `project_id=${id}&type=package&force=1`,
      });
      expect(forced.status).toBe(201);
      expect((forced.json() as { id: string }).id).not.toBe(firstId);
    });

    await t.step("list-jobs reads project_id from the query, not a GET body", async () => {
      // The fetched SDK snapshot sends project_id as a form body on GET; the
      // server reads request.query_params on GET (opengisch/QFieldCloud
      // docker-app/qfieldcloud/core/views/jobs_views.py), so that request finds no project.
      const bodyOnly = await raw(server, "GET", "jobs/?limit=20&offset=0", {
        token,
        contentType: FORM,
        body: `project_id=${id}&type=package`,
      });
      expect(bodyOnly.status).toBe(404);
      expect(bodyOnly.json()).toEqual({ code: "object_not_found", message: "Object not found" });
      const query = await raw(
        server,
        "GET",
        `jobs/?project_id=${id}&type=package&limit=20&offset=0`,
        { token },
      );
      expect(query.status).toBe(200);
      expect((query.json() as unknown[]).length).toBeGreaterThanOrEqual(2);
    });

    await t.step("delta-push: multipart file part, 200 with an empty body", async () => {
      const deltafile = JSON.stringify({
        version: "1.0",
        project: id,
        id: crypto.randomUUID(),
        files: [],
        deltas: [{
          uuid: crypto.randomUUID(),
          clientId: crypto.randomUUID(),
          localPk: "1",
          sourcePk: "1",
          localLayerId: "points_1",
          sourceLayerId: "points_1",
          method: "patch",
          old: { attributes: { name: "a" } },
          new: { attributes: { name: "b" } },
        }],
      });
      const res = await raw(server, "POST", `deltas/${id}/`, {
        token,
        contentType: MULTIPART,
        body: multipart("file", "delta.json", deltafile),
      });
      expect(res.status).toBe(200);
      expect(res.text).toBe("");
    });

    await t.step("delete-files: DELETE of the raw name, 204", async () => {
      const res = await raw(server, "DELETE", `files/${id}/sub/a%20b.txt/`, { token });
      expect(res.status).toBe(204);
    });
  });
});

Deno.test("python sdk wire shapes: collaborators and members carry limit/offset", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const token = server.createToken("alice", UA);
    const { id } = server.addProject({ name: "shared", owner: "alice" });

    await t.step("collaborators-add and -patch", async () => {
      const added = await raw(server, "POST", `collaborators/${id}/?limit=20&offset=0`, {
        token,
        contentType: FORM,
        body: "collaborator=bob&role=editor",
      });
      expect(added.status).toBe(201);
      expect(added.json()).toMatchObject({ collaborator: "bob", role: "editor", project_id: id });
      const patched = await raw(server, "PATCH", `collaborators/${id}/bob/?limit=20&offset=0`, {
        token,
        contentType: FORM,
        body: "role=manager",
      });
      expect(patched.status).toBe(200);
      expect(patched.json()).toMatchObject({ role: "manager" });
    });

    await t.step("members-add with is_public=False and =True", async () => {
      const hidden = await raw(server, "POST", "members/acme/?limit=20&offset=0", {
        token,
        contentType: FORM,
        body: "member=bob&role=member&is_public=False",
      });
      expect(hidden.status).toBe(201);
      expect(hidden.json()).toEqual({
        organization: "acme",
        member: "bob",
        role: "member",
        is_public: false,
      });
      const patched = await raw(server, "PATCH", "members/acme/bob/?limit=20&offset=0", {
        token,
        contentType: FORM,
        body: "role=admin",
      });
      expect(patched.json()).toMatchObject({ role: "admin" });
      await raw(server, "DELETE", "members/acme/bob/", { token });
      const shown = await raw(server, "POST", "members/acme/?limit=20&offset=0", {
        token,
        contentType: FORM,
        body: "member=bob&role=member&is_public=True",
      });
      expect((shown.json() as { is_public: boolean }).is_public).toBe(true);
    });
  });
});
