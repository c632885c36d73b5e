// Every Client call against the in-memory test server: the success case and its main errors.
import { expect } from "expect";
import {
  Client,
  JobTypes,
  Pagination,
  QfcJobFailedException,
  QfcRequestException,
  QfcTimeoutException,
} from "../mod.ts";
import type { TestServer } from "../testing/mod.ts";
import { makeQgs } from "./fixtures/qgis_project.ts";
import { withServer } from "./fixtures/server.ts";

const USERS = [
  { username: "alice", password: "alice-pw", email: "alice@example.org" },
  { username: "bob", password: "bob-pw" },
  { username: "carol", password: "carol-pw" },
];

const OPTIONS = {
  users: USERS,
  organizations: [{ name: "acme", owner: "alice" }],
  jobSeconds: 0.1,
};

/** Starts a server with three users and an organization owned by alice, for one test. */
function clientFor(server: TestServer, username?: string): Client {
  return new Client({
    url: server.url,
    token: username ? server.createToken(username) : undefined,
    retry: { attempts: 1 },
  });
}

/** Awaits a promise that must reject with a QfcRequestException, and returns the error. */
async function failure(promise: Promise<unknown>): Promise<QfcRequestException> {
  const error = await promise.then(() => undefined, (e) => e);
  expect(error).toBeInstanceOf(QfcRequestException);
  return error;
}

const MISSING_ID = "00000000-0000-4000-8000-000000000000";

Deno.test("authentication", async (t) => {
  await withServer(OPTIONS, async (server) => {
    await t.step("login stores the token and returns the user", async () => {
      const client = clientFor(server);
      const answer = await client.login("alice", "alice-pw");
      expect(answer.username).toBe("alice");
      expect(answer.token).toMatch(/^[A-Za-z0-9]{100}$/);
      expect(answer.type).toBe("1");
      expect(client.token).toBe(answer.token);
      expect((await client.listProjects()).length).toBe(0);
    });

    await t.step("login with a wrong password is 401 authentication_failed", async () => {
      const error = await failure(clientFor(server).login("alice", "wrong-pw"));
      expect(error.status).toBe(401);
      expect(error.code).toBe("authentication_failed");
      expect(error.message).not.toContain("wrong-pw");
    });

    await t.step("a call without a token is 401 not_authenticated", async () => {
      const error = await failure(clientFor(server).listProjects());
      expect([error.status, error.code]).toEqual([401, "not_authenticated"]);
    });

    await t.step("an unknown token is 401 token_authentication_failed", async () => {
      const client = new Client({ url: server.url, token: "x".repeat(100) });
      const error = await failure(client.listProjects());
      expect([error.status, error.code]).toEqual([401, "token_authentication_failed"]);
      expect(error.message).not.toContain("x".repeat(100));
    });

    await t.step("SDK logins coexist, and logout expires every token of the user", async () => {
      const first = clientFor(server);
      const second = clientFor(server);
      await first.login("bob", "bob-pw");
      await second.login("bob", "bob-pw");
      await first.listProjects(); // still valid after the second login
      expect(await second.logout()).toEqual({ detail: "Successfully logged out." });
      expect(second.token).toBeUndefined();
      const error = await failure(first.listProjects());
      expect(error.code).toBe("token_authentication_failed");
    });
  });
});

Deno.test("server status and info need no token", async () => {
  await withServer(OPTIONS, async (server) => {
    const client = clientFor(server);
    const status = await client.checkServerStatus();
    expect([status.database, status.storage]).toEqual(["ok", "ok"]);
    const info = await client.getServerInfo();
    expect(info.auth_providers.some((p) => p.id === "credentials")).toBe(true);
  });
});

Deno.test("projects", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const alice = clientFor(server, "alice");
    const bob = clientFor(server, "bob");
    let projectId = "";

    await t.step("createProject returns 201's project, new and empty", async () => {
      const project = await alice.createProject("survey-2026", { description: "Roads" });
      projectId = project.id;
      expect(project.name).toBe("survey-2026");
      expect(project.owner).toBe("alice");
      expect(project.description).toBe("Roads");
      expect(project.is_public).toBe(false);
      expect(project.status).toBe("failed"); // no QGIS file yet
    });

    await t.step("a duplicate name is 400 project_already_exists", async () => {
      const error = await failure(alice.createProject("survey-2026"));
      expect([error.status, error.code]).toEqual([400, "project_already_exists"]);
    });

    await t.step("an organization can own a project its admin creates", async () => {
      const project = await alice.createProject("org-project", { owner: "acme" });
      expect(project.owner).toBe("acme");
    });

    await t.step("getProject reads it with the caller's role", async () => {
      const project = await alice.getProject(projectId);
      expect(project.user_role).toBe("admin");
      expect(project.user_role_origin).toBe("project_owner");
    });

    await t.step("getProject errors: 404, 400 for a bad id, 403 without a role", async () => {
      expect((await failure(alice.getProject(MISSING_ID))).code).toBe("object_not_found");
      const bad = await failure(alice.getProject("pizza"));
      expect([bad.status, bad.code]).toEqual([400, "validation_error"]);
      const denied = await failure(bob.getProject(projectId));
      expect([denied.status, denied.code]).toEqual([403, "permission_denied"]);
    });

    await t.step("patchProject can make a project public and clear its description", async () => {
      let project = await alice.patchProject(projectId, { isPublic: true, description: "" });
      expect([project.is_public, project.description]).toEqual([true, ""]);
      project = await alice.patchProject(projectId, { isPublic: false });
      expect(project.is_public).toBe(false);
    });

    await t.step("listProjects hides public projects unless includePublic", async () => {
      await alice.patchProject(projectId, { isPublic: true });
      expect((await bob.listProjects()).map((p) => p.name)).toEqual([]);
      const withPublic = await bob.listProjects({ includePublic: true });
      expect(withPublic.map((p) => p.name)).toEqual(["survey-2026"]);
      expect(withPublic[0].user_role).toBe("reader");
    });

    await t.step("a reader cannot patch or delete: 403", async () => {
      const error = await failure(bob.patchProject(projectId, { description: "mine" }));
      expect(error.status).toBe(403);
      expect((await failure(bob.deleteProject(projectId))).status).toBe(403);
    });

    await t.step("getProjectSeed of an unseeded project is 404", async () => {
      expect((await failure(alice.getProjectSeed(projectId))).code).toBe("object_not_found");
    });

    await t.step("uploadProjectThumbnail sends a PNG", async () => {
      const dir = await Deno.makeTempDir();
      try {
        const png = Uint8Array.from(atob(PNG_1X1), (c) => c.charCodeAt(0));
        await Deno.writeFile(`${dir}/thumb.png`, png);
        await alice.uploadProjectThumbnail(projectId, `${dir}/thumb.png`);
        await expect(alice.uploadProjectThumbnail(projectId, `${dir}/thumb.gif`)).rejects
          .toThrow(/must be a \.png, \.jpg or \.jpeg file/);
        await expect(alice.uploadProjectThumbnail(projectId, `${dir}/missing.png`)).rejects
          .toThrow(/Cannot read ".*missing\.png": no such file/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("deleteProject removes it", async () => {
      await alice.deleteProject(projectId);
      expect((await failure(alice.getProject(projectId))).status).toBe(404);
    });
  });
});

Deno.test("listProjects follows pages and a Pagination gives one page", async () => {
  await withServer(OPTIONS, async (server) => {
    const names = Array.from({ length: 230 }, (_, i) => `p${String(i).padStart(3, "0")}`);
    for (const name of names) server.addProject({ name, owner: "alice" });
    const alice = clientFor(server, "alice");
    server.clearRequests();
    expect((await alice.listProjects()).map((p) => p.name)).toEqual(names);
    const listed = server.requests.filter((r) => r.path.endsWith("/projects/"));
    expect(listed.length).toBe(3); // pages of 100
    const page = await alice.listProjects({ pagination: new Pagination({ limit: 5, offset: 10 }) });
    expect(page.map((p) => p.name)).toEqual(names.slice(10, 15));
  });
});

Deno.test("files listing adds the etag", async () => {
  await withServer(OPTIONS, async (server) => {
    const { id } = server.addProject({ name: "files", owner: "alice" });
    await server.putFile(id, "DCIM/photo 1.jpg", "Hello!");
    await server.putFile(id, "DCIM/photo 1.jpg", "Hello!");
    const [file] = await clientFor(server, "alice").listRemoteFiles(id);
    expect(file.name).toBe("DCIM/photo 1.jpg");
    expect(file.md5sum).toBe("952d2c56d0485958336747bcdd98590d");
    expect(file.etag).toBe(file.md5sum);
    expect(file.versions?.length).toBe(2);
    const error = await failure(clientFor(server, "bob").listRemoteFiles(id));
    expect(error.status).toBe(403);
  });
});

Deno.test("jobs", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const alice = clientFor(server, "alice");
    const { id: projectId } = server.addProject({ name: "jobs", owner: "alice" });

    await t.step("packaging without a QGIS file is 400 no_qgis_project", async () => {
      const error = await failure(alice.jobTrigger(projectId, JobTypes.PACKAGE));
      expect([error.status, error.code]).toEqual([400, "no_qgis_project"]);
    });

    await server.putFile(projectId, "project.qgs", makeQgs({ layers: [] }));

    await t.step("jobTrigger, jobStatus and waitForJob run a package job to the end", async () => {
      const job = await alice.jobTrigger(projectId, JobTypes.PACKAGE);
      expect(job.type).toBe("package");
      const again = await alice.jobTrigger(projectId, JobTypes.PACKAGE);
      expect(again.id).toBe(job.id); // an unfinished package job is reused without force
      const seen: string[] = [];
      const done = await alice.waitForJob(job.id, {
        intervalMs: 20,
        onPoll: (j) => seen.push(j.status),
      });
      expect(done.status).toBe("finished");
      expect(seen.at(-1)).toBe("finished");
      expect((await alice.jobStatus(job.id)).status).toBe("finished");
    });

    await t.step("force creates a new job", async () => {
      const first = await alice.jobTrigger(projectId, JobTypes.PACKAGE, { force: true });
      const second = await alice.jobTrigger(projectId, JobTypes.PACKAGE, { force: true });
      expect(second.id).not.toBe(first.id);
      await alice.waitForJob(second.id, { intervalMs: 20 });
    });

    await t.step("listJobs lists oldest first and filters by type", async () => {
      const all = await alice.listJobs(projectId);
      expect(all.length).toBeGreaterThanOrEqual(3);
      const packages = await alice.listJobs(projectId, { jobType: JobTypes.PACKAGE });
      expect(packages.every((j) => j.type === "package")).toBe(true);
      expect(packages.length).toBe(3);
    });

    await t.step("listJobs applies limit and offset to the jobs of the type", async () => {
      const all = await alice.listJobs(projectId);
      const packages = all.filter((job) => job.type === JobTypes.PACKAGE);
      const others = all.filter((job) => job.type !== JobTypes.PACKAGE);
      expect(others.length).toBeGreaterThan(0);
      const first = await alice.listJobs(projectId, {
        jobType: JobTypes.PACKAGE,
        pagination: new Pagination({ limit: 1 }),
      });
      expect(first.map((job) => job.id)).toEqual([packages[0].id]);
      const rest = await alice.listJobs(projectId, {
        jobType: JobTypes.PACKAGE,
        pagination: new Pagination({ limit: 5, offset: 1 }),
      });
      expect(rest.map((job) => job.id)).toEqual(packages.slice(1).map((job) => job.id));
      const other = others[0].type as JobTypes;
      const one = await alice.listJobs(projectId, {
        jobType: other,
        pagination: new Pagination({ limit: 1, offset: 0 }),
      });
      expect(one.map((job) => job.id)).toEqual([others[0].id]);
    });

    await t.step("packageLatest lists the package files and layers", async () => {
      const latest = await alice.packageLatest(projectId);
      expect(latest.status).toBe("finished");
      expect(latest.files.some((f) => f.name.endsWith("_qfield.qgs"))).toBe(true);
    });

    await t.step("waitForJob rejects with the feedback of a failed job", async () => {
      server.failNextJob(projectId, "Layer 'roads' is broken");
      const job = await alice.jobTrigger(projectId, JobTypes.PACKAGE, { force: true });
      const error = await alice.waitForJob(job.id, { intervalMs: 20 }).catch((e) => e);
      expect(error).toBeInstanceOf(QfcJobFailedException);
      expect(error.job.status).toBe("failed");
      expect(error.message).toContain("Layer 'roads' is broken");
    });

    await t.step("waitForJob times out cleanly", async () => {
      const job = await alice.jobTrigger(projectId, JobTypes.PACKAGE, { force: true });
      const error = await alice.waitForJob(job.id, { timeoutMs: 10, intervalMs: 5 }).catch((
        e,
      ) => e);
      expect(error).toBeInstanceOf(QfcTimeoutException);
      expect(error.message).toMatch(/^Job ".+" is still (pending|queued|started) after/);
      await alice.waitForJob(job.id, { intervalMs: 20 });
    });

    await t.step("an unknown job is 403, as on the server", async () => {
      expect((await failure(alice.jobStatus(MISSING_ID))).status).toBe(403);
    });
  });
});

Deno.test("deltas", async () => {
  await withServer(OPTIONS, async (server) => {
    const alice = clientFor(server, "alice");
    const { id: projectId } = server.addProject({ name: "deltas", owner: "alice" });
    await server.putFile(projectId, "project.qgs", makeQgs({ layers: [] }));
    const dir = await Deno.makeTempDir();
    try {
      const deltafile = {
        version: "1.0",
        id: crypto.randomUUID(),
        project: projectId,
        files: [],
        deltas: [{
          uuid: crypto.randomUUID(),
          clientId: crypto.randomUUID(),
          localLayerId: "points_1",
          sourceLayerId: "points_1",
          localPk: "1",
          sourcePk: "1",
          method: "create",
          new: { attributes: { name: "tree" } },
        }],
      };
      await Deno.writeTextFile(`${dir}/delta.json`, JSON.stringify(deltafile));
      await alice.pushDelta(projectId, `${dir}/delta.json`);
      const deltas = await alice.listDeltas(projectId);
      expect(deltas.map((d) => d.id)).toEqual([deltafile.deltas[0].uuid]);

      await Deno.writeTextFile(
        `${dir}/other.json`,
        JSON.stringify({ ...deltafile, project: MISSING_ID }),
      );
      const error = await failure(alice.pushDelta(projectId, `${dir}/other.json`));
      expect([error.status, error.code]).toEqual([400, "invalid_deltafile"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("collaborators", async () => {
  await withServer(OPTIONS, async (server) => {
    const alice = clientFor(server, "alice");
    const { id } = server.addProject({ name: "shared", owner: "alice" });
    const added = await alice.addProjectCollaborator(id, "bob", "editor");
    expect([added.collaborator, added.role, added.created_by]).toEqual(["bob", "editor", "alice"]);
    expect((await clientFor(server, "bob").getProject(id)).user_role).toBe("editor");
    const patched = await alice.patchProjectCollaborators(id, "bob", "reader");
    expect(patched.role).toBe("reader");
    expect((await alice.getProjectCollaborators(id)).map((c) => c.collaborator)).toEqual(["bob"]);
    const duplicate = await failure(alice.addProjectCollaborator(id, "bob", "editor"));
    expect(duplicate.status).toBe(400);
    const denied = await failure(
      clientFor(server, "bob").addProjectCollaborator(id, "carol", "reader"),
    );
    expect(denied.status).toBe(403);
    await alice.removeProjectCollaborator(id, "bob");
    expect(await alice.getProjectCollaborators(id)).toEqual([]);
    expect((await failure(alice.removeProjectCollaborator(id, "bob"))).status).toBe(404);
  });
});

Deno.test("organization members and teams", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const alice = clientFor(server, "alice");

    await t.step("members", async () => {
      const added = await alice.addOrganizationMember("acme", "bob", { role: "member" });
      expect(added).toEqual({
        organization: "acme",
        member: "bob",
        role: "member",
        is_public: false,
      });
      const patched = await alice.patchOrganizationMembers("acme", "bob", { role: "admin" });
      expect(patched.role).toBe("admin");
      const members = await clientFor(server, "carol").getOrganizationMembers("acme");
      expect(members.map((m) => m.member)).toEqual(["bob"]);
      const denied = await failure(
        clientFor(server, "carol").addOrganizationMember("acme", "carol", { role: "admin" }),
      );
      expect(denied.status).toBe(403);
      await alice.addOrganizationMember("acme", "carol", { role: "member", isPublic: true });
    });

    await t.step("teams and their members", async () => {
      const team = await alice.createOrganizationTeam("acme", "surveyors");
      expect(team).toEqual({ team: "surveyors", organization: "acme", members: [] });
      expect(await alice.addOrganizationTeamMember("acme", "surveyors", "carol")).toEqual({
        member: "carol",
      });
      expect(await alice.getOrganizationTeamMembers("acme", "surveyors")).toEqual([{
        member: "carol",
      }]);
      const renamed = await alice.patchOrganizationTeam("acme", "surveyors", "field");
      expect(renamed.team).toBe("field");
      expect((await alice.getOrganizationTeam("acme", "field")).members).toEqual(["carol"]);
      expect((await alice.getOrganizationTeams("acme")).map((t) => t.team)).toEqual(["field"]);
      await alice.removeOrganizationTeamMember("acme", "field", "carol");
      await alice.deleteOrganizationTeam("acme", "field");
      expect(await alice.getOrganizationTeams("acme")).toEqual([]);
      expect((await failure(alice.getOrganizationTeam("acme", "field"))).status).toBe(403);
    });

    await t.step("removing a member", async () => {
      await alice.removeOrganizationMembers("acme", "bob");
      const members = await alice.getOrganizationMembers("acme");
      expect(members.map((m) => m.member)).toEqual(["carol"]);
    });
  });
});

// A 1×1 transparent PNG.
const PNG_1X1 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
