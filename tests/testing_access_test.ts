// The test server's collaborator, organization member and team routes
// (opengisch/QFieldCloud docker-app/qfieldcloud/core/views/collaborators_views.py,
// members_views.py and teams_views.py) with their permissions and error codes.
import { expect } from "expect";
import type { TestServer } from "../testing/mod.ts";
import { apiAs, expectError, withServer } from "./fixtures/server.ts";

/** A server where alice owns acme, bob administrates it and carol is a member. */
function withAcme(fn: (server: TestServer) => Promise<void>): Promise<void> {
  const options = {
    users: [
      { username: "alice", password: "a" },
      { username: "bob", password: "b" },
      { username: "carol", password: "c", email: "carol@example.org" },
      { username: "dave", password: "d" },
      { username: "eve", password: "e" },
    ],
    organizations: [{ name: "acme", owner: "alice" }],
    jobSeconds: 0.05,
  };
  return withServer(options, (server) => {
    server.addOrganizationMember("acme", "bob", "admin");
    server.addOrganizationMember("acme", "carol", "member");
    return fn(server);
  });
}

async function expectJson(response: Response, status: number): Promise<unknown> {
  expect(response.status).toBe(status);
  return await response.json();
}

Deno.test("collaborators routes", async (t) => {
  await withAcme(async (server) => {
    const alice = apiAs(server, "alice");
    const bob = apiAs(server, "bob");
    const carol = apiAs(server, "carol");
    const { id } = server.addProject({ name: "orgproject", owner: "acme" });
    const solo = server.addProject({ name: "solo", owner: "alice" }).id;
    server.addTeam("acme", "surveyors");

    await t.step("listing needs admin or manager on an existing project", async () => {
      expect(await expectJson(await alice("GET", `collaborators/${id}/`), 200)).toEqual([]);
      expect(await expectJson(await bob("GET", `collaborators/${id}/`), 200)).toEqual([]);
      await expectError(await carol("GET", `collaborators/${id}/`), 403, "permission_denied");
      await expectError(
        await alice("GET", `collaborators/${crypto.randomUUID()}/`),
        404,
        "object_not_found",
      );
      const html = await alice("GET", "collaborators/pizza/");
      expect(html.status).toBe(404);
      expect(html.headers.get("content-type")).toContain("text/html");
      await html.body?.cancel();
    });

    await t.step("adding a collaborator answers 201 with the item", async () => {
      const item = await expectJson(
        await alice("POST", `collaborators/${id}/`, { collaborator: "carol", role: "editor" }),
        201,
      ) as Record<string, unknown>;
      expect(Object.keys(item)).toEqual([
        "project_id",
        "collaborator",
        "role",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
      ]);
      expect(item).toMatchObject({
        project_id: id,
        collaborator: "carol",
        role: "editor",
        created_by: "alice",
        updated_by: "alice",
      });
      const team = await expectJson(
        await bob("POST", `collaborators/${id}/`, {
          collaborator: "@acme/surveyors",
          role: "reporter",
        }),
        201,
      );
      expect(team).toMatchObject({ collaborator: "@acme/surveyors", created_by: "bob" });
    });

    await t.step("adding refuses what the serializer and full_clean refuse", async () => {
      const add = (project: string, form: Record<string, string>) =>
        alice("POST", `collaborators/${project}/`, form);
      await expectError(
        await add(id, { collaborator: "nobody", role: "editor" }),
        400,
        "api_error",
      );
      await expectError(await add(id, { collaborator: "dave", role: "owner" }), 400, "api_error");
      await expectError(await add(id, { role: "editor" }), 400, "api_error");
      await expectError(
        await add(id, { collaborator: "carol", role: "reader" }),
        400,
        "validation_error",
      );
      await expectError(
        await add(id, { collaborator: "dave", role: "reader" }),
        400,
        "validation_error",
      );
      await expectError(
        await add(solo, { collaborator: "alice", role: "reader" }),
        400,
        "validation_error",
      );
      await expectError(
        await carol("POST", `collaborators/${id}/`, { collaborator: "dave", role: "reader" }),
        403,
        "permission_denied",
      );
    });

    await t.step("a collaborator can be read, changed and removed", async () => {
      const path = `collaborators/${id}/carol/`;
      expect(await expectJson(await alice("GET", path), 200)).toMatchObject({ role: "editor" });
      const patched = await expectJson(await alice("PATCH", path, { role: "manager" }), 200);
      expect(patched).toMatchObject({ role: "manager", updated_by: "alice" });
      // Now a manager, carol may list the collaborators.
      const list = await expectJson(await carol("GET", `collaborators/${id}/?limit=1`), 200);
      expect((list as unknown[]).length).toBe(1);
      expect(await expectJson(await bob("PUT", path, { role: "reader" }), 200))
        .toMatchObject({ role: "reader", updated_by: "bob" });
      await expectError(await alice("PATCH", path, { role: "boss" }), 400, "api_error");
      await expectError(
        await alice("GET", `collaborators/${id}/dave/`),
        404,
        "object_not_found",
      );
      const deleted = await alice("DELETE", path);
      expect(deleted.status).toBe(204);
      expect(deleted.headers.get("content-type")).toBeNull();
      await expectError(await alice("GET", path), 404, "object_not_found");
    });
  });
});

Deno.test("organization members routes", async (t) => {
  await withAcme(async (server) => {
    const alice = apiAs(server, "alice");
    const carol = apiAs(server, "carol");
    const eve = apiAs(server, "eve");

    await t.step("any user may read an organization's members", async () => {
      const members = await expectJson(await eve("GET", "members/acme/"), 200);
      expect(members).toEqual([
        { organization: "acme", member: "bob", role: "admin", is_public: false },
        { organization: "acme", member: "carol", role: "member", is_public: false },
      ]);
      const page = await eve("GET", "members/acme/?limit=1");
      expect(page.headers.get("x-total-count")).toBe("2");
      await page.body?.cancel();
      await expectError(await eve("GET", "members/nobody/"), 403, "permission_denied");
      await expectError(await eve("GET", "members/alice/"), 403, "permission_denied");
    });

    await t.step("only organization admins may add members", async () => {
      await expectError(
        await carol("POST", "members/acme/", { member: "dave", role: "member" }),
        403,
        "permission_denied",
      );
      const added = await expectJson(
        await alice("POST", "members/acme/", { member: "dave", role: "member", is_public: "True" }),
        201,
      );
      expect(added).toEqual({
        organization: "acme",
        member: "dave",
        role: "member",
        is_public: true,
      });
    });

    await t.step("adding refuses bad input with the server's codes", async () => {
      const add = (form: Record<string, string>) => alice("POST", "members/acme/", form);
      await expectError(await add({ role: "member" }), 500, "unknown_error");
      await expectError(await add({ member: "nobody", role: "member" }), 404, "object_not_found");
      await expectError(await add({ member: "alice", role: "member" }), 400, "validation_error");
      await expectError(await add({ member: "dave", role: "member" }), 400, "validation_error");
      await expectError(await add({ member: "eve", role: "king" }), 400, "api_error");
    });

    await t.step("a membership can be changed", async () => {
      const changed = await expectJson(
        await alice("PATCH", "members/acme/dave/", { role: "admin", is_public: "False" }),
        200,
      );
      expect(changed).toMatchObject({ role: "admin", is_public: false });
      await expectError(
        await alice("PATCH", "members/acme/eve/", { role: "admin" }),
        404,
        "object_not_found",
      );
      await expectError(
        await carol("PATCH", "members/acme/dave/", { role: "member" }),
        403,
        "permission_denied",
      );
    });

    await t.step("removing a member also removes their collaborations and teams", async () => {
      const { id } = server.addProject({ name: "orgproject", owner: "acme" });
      const other = server.addProject({ name: "elsewhere", owner: "eve" }).id;
      server.addCollaborator(id, "carol", "editor");
      server.addCollaborator(other, "carol", "editor");
      server.addTeam("acme", "surveyors", ["carol"]);
      const res = await alice("DELETE", "members/acme/carol/");
      expect(res.status).toBe(204);
      const state = server.state;
      const carolUser = state.findUser("carol")!;
      expect(
        state.collaborators.filter((c) => c.collaborator === carolUser).map((c) => c.project.id),
      )
        .toEqual([other]);
      expect(state.teamMembers.some((m) => m.member === carolUser)).toBe(false);
      const members = await expectJson(await eve("GET", "members/acme/"), 200) as {
        member: string;
      }[];
      expect(members.map((m) => m.member)).toEqual(["bob", "dave"]);
    });
  });
});

Deno.test("teams routes", async (t) => {
  await withAcme(async (server) => {
    const alice = apiAs(server, "alice");
    const bob = apiAs(server, "bob");
    const carol = apiAs(server, "carol");
    const eve = apiAs(server, "eve");
    const teams = "organizations/acme/teams/";

    await t.step("organization admins create teams; others get 403", async () => {
      await expectError(
        await carol("POST", teams, { team: "surveyors" }),
        403,
        "permission_denied",
      );
      const team = await expectJson(await alice("POST", teams, { team: "surveyors" }), 201);
      expect(team).toEqual({ team: "surveyors", organization: "acme", members: [] });
      expect(server.state.findUser("@acme/surveyors")?.type).toBe("team");
      await expectError(await bob("POST", teams, { team: "surveyors" }), 400, "api_error");
      await expectError(await bob("POST", teams, {}), 400, "api_error");
      await expectError(
        await alice("POST", "organizations/nobody/teams/", { team: "x" }),
        403,
        "permission_denied",
      );
    });

    await t.step("any user may list teams, never paginated", async () => {
      await bob("POST", teams, { team: "drivers" }).then((r) => r.body?.cancel());
      const res = await eve("GET", `${teams}?limit=1&offset=0`);
      expect(res.headers.get("x-total-count")).toBeNull();
      expect((await expectJson(res, 200) as { team: string }[]).map((t) => t.team))
        .toEqual(["surveyors", "drivers"]);
      await expectError(await eve("GET", `${teams}nope/`), 403, "permission_denied");
      await expectError(
        await eve("GET", "organizations/nobody/teams/"),
        403,
        "permission_denied",
      );
    });

    await t.step("members are added by username or e-mail, once across teams", async () => {
      const byEmail = await expectJson(
        await alice("POST", `${teams}surveyors/members/`, { member: "CAROL@example.org" }),
        201,
      );
      expect(byEmail).toEqual({ member: "carol" });
      await expectError(
        await alice("POST", `${teams}drivers/members/`, { member: "carol" }),
        400,
        "api_error",
      );
      await expectError(
        await alice("POST", `${teams}drivers/members/`, { member: "nobody" }),
        400,
        "api_error",
      );
      await expectError(
        await carol("POST", `${teams}drivers/members/`, { member: "dave" }),
        403,
        "permission_denied",
      );
      expect(await expectJson(await eve("GET", `${teams}surveyors/members/`), 200))
        .toEqual([{ member: "carol" }]);
      expect(await expectJson(await eve("GET", `${teams}surveyors/`), 200))
        .toEqual({ team: "surveyors", organization: "acme", members: ["carol"] });
    });

    await t.step("PUT renames a team; a taken name is refused", async () => {
      const { id } = server.addProject({ name: "orgproject", owner: "acme" });
      server.addCollaborator(id, "@acme/surveyors", "editor");
      await expectError(
        await alice("PUT", `${teams}surveyors/`, { team: "drivers" }),
        400,
        "api_error",
      );
      const renamed = await expectJson(
        await alice("PUT", `${teams}surveyors/`, { team: "field" }),
        200,
      );
      expect(renamed).toEqual({ team: "field", organization: "acme", members: ["carol"] });
      await expectError(await eve("GET", `${teams}surveyors/`), 403, "permission_denied");
      const collaborators = await expectJson(await alice("GET", `collaborators/${id}/`), 200);
      expect(collaborators).toMatchObject([{ collaborator: "@acme/field", role: "editor" }]);
    });

    await t.step("members and teams are deleted with 204", async () => {
      const removed = await alice("DELETE", `${teams}field/members/carol/`);
      expect(removed.status).toBe(204);
      expect(await expectJson(await eve("GET", `${teams}field/members/`), 200)).toEqual([]);
      await expectError(
        await alice("DELETE", `${teams}field/members/carol/`),
        404,
        "object_not_found",
      );
      await expectError(await carol("DELETE", `${teams}field/`), 403, "permission_denied");
      const deleted = await bob("DELETE", `${teams}field/`);
      expect(deleted.status).toBe(204);
      await expectError(await eve("GET", `${teams}field/`), 403, "permission_denied");
      expect(server.state.findUser("@acme/field")).toBeUndefined();
    });
  });
});
