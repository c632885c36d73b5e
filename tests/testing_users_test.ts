/**
 * The test server's `POST users/`, `GET subscriptions/<account>/current/` and
 * `GET projects/<id>/seed/xlsform/` routes over raw HTTP: status codes,
 * error bodies, headers and field order.
 */

import { expect } from "expect";
import { apiAs, expectError, withServer } from "./fixtures/server.ts";

const OPTIONS = {
  users: [
    { username: "root", password: "r", isStaff: true },
    { username: "alice", password: "a" },
    { username: "bob", password: "b", email: "bob@example.org" },
  ],
  organizations: [{ name: "org1", owner: "alice" }],
  storageQuotaBytes: 1000,
};

Deno.test("test server: POST users/", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const root = apiAs(server, "root");

    await t.step("a staff user gets 201 with the new user", async () => {
      const response = await root("POST", "users/", {
        username: "mapper1",
        password: "pw1",
        email: "mapper1@example.org",
      });
      expect(response.status).toBe(201);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(await response.text()).toBe(
        '{"username":"mapper1","type":1,"email":"mapper1@example.org","first_name":"","last_name":""}',
      );
      expect(server.state.findUser("mapper1")?.password).toBe("pw1");
    });

    await t.step("JSON bodies work too, and the e-mail is optional", async () => {
      const response = await root("POST", "users/", '{"username":"mapper2","password":"pw2"}');
      expect(response.status).toBe(201);
      expect((await response.json()).email).toBe("");
    });

    await t.step("anonymous gets 401 not_authenticated", async () => {
      await expectError(
        await apiAs(server)("POST", "users/", { username: "u3", password: "p" }),
        401,
        "not_authenticated",
      );
    });

    await t.step("a non-staff user gets 403 permission_denied", async () => {
      const response = await apiAs(server, "alice")("POST", "users/", {
        username: "u4",
        password: "p",
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({
        code: "permission_denied",
        message: "Permission denied",
      });
      expect(server.state.findUser("u4")).toBeUndefined();
    });

    await t.step("missing or invalid fields give 400 api_error", async () => {
      await expectError(await root("POST", "users/", { username: "u5" }), 400, "api_error");
      await expectError(await root("POST", "users/", { password: "p" }), 400, "api_error");
      await expectError(
        await root("POST", "users/", { username: "has space", password: "p" }),
        400,
        "api_error",
      );
      await expectError(
        await root("POST", "users/", { username: "u6", password: "p", email: "not-an-email" }),
        400,
        "api_error",
      );
      expect(server.state.findUser("u5")).toBeUndefined();
    });

    await t.step("a taken username (any case) gives 409", async () => {
      await expectError(
        await root("POST", "users/", { username: "Alice", password: "p" }),
        409,
        "api_error",
      );
      await expectError(
        await root("POST", "users/", { username: "org1", password: "p" }),
        409,
        "api_error",
      );
      expect(server.state.findUser("alice")?.password).toBe("a");
    });

    await t.step("a taken e-mail (any case) gives 400", async () => {
      await expectError(
        await root("POST", "users/", { username: "u7", password: "p", email: "BOB@example.org" }),
        400,
        "api_error",
      );
    });
  });
});

Deno.test("test server: GET subscriptions/<account>/current/", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const alice = apiAs(server, "alice");

    await t.step("a user reads their own, fields in serializer order", async () => {
      const response = await alice("GET", "subscriptions/alice/current/");
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(Object.keys(body)).toEqual([
        "uuid",
        "plan_display_name",
        "plan_code",
        "plan_is_premium",
        "status",
        "active_since",
        "active_until",
        "storage_used_bytes",
        "active_storage_total_bytes",
      ]);
      expect(body).toMatchObject({
        plan_code: "default_user",
        plan_is_premium: false,
        status: "active_paid",
        active_until: null,
        storage_used_bytes: 0,
        active_storage_total_bytes: 1000,
      });
      const again = await (await alice("GET", "subscriptions/alice/current/")).json();
      expect(again.uuid).toBe(body.uuid);
    });

    await t.step("storage_used_bytes follows the account's files", async () => {
      const { id } = server.addProject({ name: "p", owner: "org1" });
      await server.putFile(id, "a.txt", "12345");
      const body = await (await alice("GET", "subscriptions/org1/current/")).json();
      expect([body.plan_code, body.storage_used_bytes]).toEqual(["default_org", 5]);
    });

    await t.step("only the owner reads an organization's; others get 403", async () => {
      server.addOrganizationMember("org1", "bob", "admin");
      const bob = apiAs(server, "bob");
      await expectError(await bob("GET", "subscriptions/org1/current/"), 403, "permission_denied");
      await expectError(await bob("GET", "subscriptions/alice/current/"), 403, "permission_denied");
      await expectError(await bob("GET", "subscriptions/ghost/current/"), 403, "permission_denied");
    });

    await t.step("anonymous gets 401", async () => {
      await expectError(
        await apiAs(server)("GET", "subscriptions/alice/current/"),
        401,
        "not_authenticated",
      );
    });
  });
});

Deno.test("test server: GET projects/<id>/seed/xlsform/", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const alice = apiAs(server, "alice");
    const form = new FormData();
    form.append("name", "seeded");
    form.append("xlsform_file", new Blob(["xls-bytes"]), "Survey Form.xlsx");
    const created = await alice("POST", "projects/", form);
    expect(created.status).toBe(201);
    const { id } = await created.json();

    await t.step("streams the form as xlsform<ext> with octet-stream", async () => {
      const response = await alice("GET", `projects/${id}/seed/xlsform/`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/octet-stream");
      expect(response.headers.get("content-disposition")).toBe(
        'attachment; filename="xlsform.xlsx"',
      );
      expect(await response.text()).toBe("xls-bytes");
    });

    await t.step("a project without a seed gives 404 object_not_found", async () => {
      const plain = server.addProject({ name: "plain", owner: "alice" });
      await expectError(
        await alice("GET", `projects/${plain.id}/seed/xlsform/`),
        404,
        "object_not_found",
      );
    });
  });
});
