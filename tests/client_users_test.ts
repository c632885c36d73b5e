/**
 * Client.createUser, Client.getCurrentSubscription, Client.getProjectSeedXlsform
 * and patchProject's projectType against the in-memory test server.
 */

import { expect } from "expect";
import { join } from "node:path";
import { Client, QfcRequestException } from "../mod.ts";
import { startTestServer, type TestServer } from "../testing/mod.ts";
import { DISPOSITION_CASES } from "./content_disposition_cases.ts";

const STAFF = { username: "admin", password: "admin-secret-pw", isStaff: true };
const ALICE = { username: "alice", password: "alice-secret-pw" };
const BOB = { username: "bob", password: "bob-secret-pw" };

async function server(options: { storageQuotaBytes?: number } = {}): Promise<TestServer> {
  return await startTestServer({
    users: [STAFF, ALICE, BOB],
    organizations: [{ name: "org1", owner: ALICE.username }],
    quiet: true,
    ...options,
  });
}

function clientFor(srv: TestServer, username: string | undefined, fetch?: typeof globalThis.fetch) {
  return new Client({
    url: srv.url,
    token: username ? srv.createToken(username, "sdk|ts|test") : undefined,
    fetch,
  });
}

async function rejection(promise: Promise<unknown>): Promise<QfcRequestException> {
  const error = await promise.then(() => undefined, (e) => e);
  expect(error).toBeInstanceOf(QfcRequestException);
  return error as QfcRequestException;
}

/** Creates a project seeded with an XLSForm through `POST projects/` (multipart). */
async function seededProject(
  srv: TestServer,
  owner: string,
  name: string,
  form: Uint8Array,
  filename = "my survey.xlsx",
): Promise<string> {
  const body = new FormData();
  body.append("name", name);
  body.append("seed", JSON.stringify({ schemaId: "test", xlsform: true }));
  body.append("xlsform_file", new Blob([form.slice()]), filename);
  const response = await fetch(`${srv.url}projects/`, {
    method: "POST",
    headers: { authorization: `Token ${srv.createToken(owner)}` },
    body,
  });
  expect(response.status).toBe(201);
  return (await response.json()).id;
}

/** A fetch that replaces the Content-Disposition of XLSForm downloads. */
function dispositionFetch(value: string | null): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (!url.includes("/seed/xlsform/")) return response;
    const headers = new Headers(response.headers);
    if (value === null) headers.delete("content-disposition");
    else headers.set("content-disposition", value);
    return new Response(response.body, { status: response.status, headers });
  };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("Client.createUser()", async (t) => {
  await using srv = await server();
  const staff = clientFor(srv, STAFF.username);

  await t.step("a staff user creates an account that can log in", async () => {
    const created = await staff.createUser("field_mapper_42", "mapper-pw-1", {
      email: "field_mapper_42@example.com",
    });
    expect(created).toMatchObject({
      username: "field_mapper_42",
      email: "field_mapper_42@example.com",
    });
    const login = await clientFor(srv, undefined).login("field_mapper_42", "mapper-pw-1");
    expect(login.username).toBe("field_mapper_42");
  });

  await t.step("sends the password in the form body, never in the URL", async () => {
    srv.clearRequests();
    await staff.createUser("no_email_user", "body-only-pw");
    const request = srv.requests.find((r) => r.method === "POST");
    expect(request?.path).toBe("/api/v1/users/");
    expect(JSON.stringify(request)).not.toContain("body-only-pw");
    expect(srv.state.findUser("no_email_user")?.email).toBe("");
  });

  await t.step("a non-staff user gets 403 permission_denied", async () => {
    const error = await rejection(clientFor(srv, ALICE.username).createUser("x_user", "pw-x"));
    expect(error.status).toBe(403);
    expect(error.code).toBe("permission_denied");
    expect(error.message).not.toContain("pw-x");
    expect(srv.state.findUser("x_user")).toBeUndefined();
  });

  await t.step("without a token the answer is 401", async () => {
    const error = await rejection(clientFor(srv, undefined).createUser("y_user", "pw-y"));
    expect(error.status).toBe(401);
  });

  await t.step("a duplicate username throws 409 without existOk", async () => {
    const error = await rejection(staff.createUser("bob", "another-pw"));
    expect(error.status).toBe(409);
  });

  await t.step("with existOk a duplicate resolves null and changes nothing", async () => {
    expect(await staff.createUser("bob", "another-pw", { existOk: true })).toBeNull();
    expect(await staff.createUser("BOB", "another-pw", { existOk: true })).toBeNull();
    const login = await clientFor(srv, undefined).login("bob", BOB.password);
    expect(login.username).toBe("bob");
  });

  await t.step("existOk still creates a user that does not exist", async () => {
    const created = await staff.createUser("fresh_user", "fresh-pw", { existOk: true });
    expect(created?.username).toBe("fresh_user");
  });

  await t.step("existOk does not hide other errors", async () => {
    const bad = await rejection(staff.createUser("bad name", "pw", { existOk: true }));
    expect(bad.status).toBe(400);
    const taken = await rejection(
      staff.createUser("other_user", "pw", { email: "FIELD_MAPPER_42@example.com", existOk: true }),
    );
    expect(taken.status).toBe(400);
    const denied = await rejection(
      clientFor(srv, ALICE.username).createUser("bob", "pw", { existOk: true }),
    );
    expect(denied.status).toBe(403);
  });
});

Deno.test("Client.getCurrentSubscription()", async (t) => {
  await using srv = await server({ storageQuotaBytes: 10 * 1024 * 1024 });
  const alice = clientFor(srv, ALICE.username);
  const bob = clientFor(srv, BOB.username);

  await t.step("a user reads their own subscription", async () => {
    const sub = await alice.getCurrentSubscription("alice");
    expect(sub).toMatchObject({
      plan_code: "default_user",
      plan_is_premium: false,
      status: "active_paid",
      active_until: null,
      storage_used_bytes: 0,
      active_storage_total_bytes: 10 * 1024 * 1024,
    });
    expect(sub.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(sub.active_since ?? "")).not.toBeNaN();
    expect((await alice.getCurrentSubscription("alice")).uuid).toBe(sub.uuid);
  });

  await t.step("storage_used_bytes counts the account's files", async () => {
    const { id } = srv.addProject({ name: "p1", owner: "alice" });
    await srv.putFile(id, "data.txt", "Hello!");
    expect((await alice.getCurrentSubscription("alice")).storage_used_bytes).toBe(6);
  });

  await t.step("the owner reads the organization's subscription", async () => {
    const sub = await alice.getCurrentSubscription("org1");
    expect(sub.plan_code).toBe("default_org");
    expect(sub.storage_used_bytes).toBe(0);
  });

  await t.step("a member who does not own the organization gets 403", async () => {
    srv.addOrganizationMember("org1", "bob", "admin");
    expect((await rejection(bob.getCurrentSubscription("org1"))).status).toBe(403);
  });

  await t.step("another user's subscription and unknown accounts give 403", async () => {
    expect((await rejection(bob.getCurrentSubscription("alice"))).code).toBe("permission_denied");
    expect((await rejection(bob.getCurrentSubscription("nobody"))).status).toBe(403);
  });

  await t.step("anonymous requests get 401", async () => {
    const error = await rejection(clientFor(srv, undefined).getCurrentSubscription("alice"));
    expect(error.status).toBe(401);
  });
});

Deno.test("Client.getProjectSeedXlsform()", async (t) => {
  await using srv = await server();
  const dir = await Deno.makeTempDir({ prefix: "qfc_xlsform_" });
  try {
    const form = new TextEncoder().encode("PK fake xlsx bytes");
    const projectId = await seededProject(srv, "alice", "seeded", form);
    const alice = clientFor(srv, ALICE.username);

    await t.step("streams the form to the file the server names", async () => {
      const out = join(dir, "plain");
      const path = await alice.getProjectSeedXlsform(projectId, out);
      expect(path).toBe(join(out, "xlsform.xlsx"));
      expect(await Deno.readFile(path)).toEqual(form);
      expect(await listDir(out)).toEqual(["xlsform.xlsx"]);
    });

    await t.step("replaces an existing file of the same name", async () => {
      const out = join(dir, "plain");
      await Deno.writeTextFile(join(out, "xlsform.xlsx"), "old content that is longer");
      await alice.getProjectSeedXlsform(projectId, out);
      expect(await Deno.readFile(join(out, "xlsform.xlsx"))).toEqual(form);
    });

    await t.step("a project without a seed gives 404 and writes nothing", async () => {
      const { id } = srv.addProject({ name: "plain-project", owner: "alice" });
      const out = join(dir, "none");
      const error = await rejection(alice.getProjectSeedXlsform(id, out));
      expect(error.status).toBe(404);
      const entries = await listDir(out).catch(() => []);
      expect(entries).toEqual([]);
    });

    await t.step("a user without a role gets 403", async () => {
      const error = await rejection(
        clientFor(srv, BOB.username).getProjectSeedXlsform(projectId, join(dir, "bob")),
      );
      expect(error.status).toBe(403);
    });

    // Every header of the parser's own table, end to end: the file lands inside localDir.
    for (const [label, header, expected] of DISPOSITION_CASES) {
      await t.step(`a Content-Disposition with ${label} stays inside localDir`, async () => {
        const base = await Deno.makeTempDir({ dir, prefix: "case_" });
        const out = join(base, "inner", "forms");
        const client = clientFor(srv, ALICE.username, dispositionFetch(header));
        const path = await client.getProjectSeedXlsform(projectId, out);
        expect(path).toBe(join(out, expected));
        expect(await Deno.readFile(path)).toEqual(form);
        expect(await listDir(out)).toEqual([expected]);
        expect(await listDir(join(base, "inner"))).toEqual(["forms"]);
        expect(await listDir(base)).toEqual(["inner"]);
      });
    }

    await t.step("a body that breaks off leaves no file behind", async () => {
      const broken: typeof globalThis.fetch = async (input, init) => {
        const response = await fetch(input, init);
        await response.body?.cancel();
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array([1, 2, 3]));
            controller.error(new Error("connection reset"));
          },
        });
        return new Response(body, { status: 200, headers: response.headers });
      };
      const out = join(dir, "broken");
      const error = await clientFor(srv, ALICE.username, broken)
        .getProjectSeedXlsform(projectId, out).then(() => undefined, (e) => e);
      expect(error).toBeInstanceOf(Error);
      expect(await listDir(out)).toEqual([]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Client.patchProject() sends projectType", async () => {
  await using srv = await server();
  const alice = clientFor(srv, ALICE.username);
  const { id } = srv.addProject({ name: "typed", owner: "alice" });
  srv.clearRequests();
  const project = await alice.patchProject(id, { projectType: "template" });
  expect(project.project_type).toBe("template");
  expect(project.can_repackage).toBe(false);
  const unchanged = await alice.patchProject(id, { description: "x" });
  expect(unchanged.project_type).toBe("template");
});
