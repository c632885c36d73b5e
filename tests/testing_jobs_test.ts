// The test server's jobs, packages and deltas: the QGIS reader, the delta
// schema, the job runner's life cycle, and the HTTP routes of jobs/, packages/ and deltas/.
import { expect } from "expect";
import type { TestServer } from "../testing/mod.ts";
import { ServerState } from "../testing/server_state.ts";
import { createJob, failNextJob, JobRunner } from "../testing/jobs.ts";
import { isValidQgisProject, layerReports, parseQgisProject } from "../testing/qgis.ts";
import { deltafileError, validateDeltafile } from "../testing/deltafile.ts";
import { makeQgs, makeQgz, zip } from "./fixtures/qgis_project.ts";
import { type Api, apiAs, apiFor, expectError, withServer } from "./fixtures/server.ts";

const encode = (text: string) => new TextEncoder().encode(text);

const LAYERS = [
  { id: "points_1", name: "points", datasource: "./data.gpkg|layername=points" },
  { id: "missing_1", name: "missing", datasource: "./missing.gpkg|layername=x" },
  {
    id: "pg_1",
    name: "online",
    datasource: 'dbname=\'gis\' host=db table="public"."roads" (geom)',
    provider: "postgres",
    geometry: "LineString",
  },
];

Deno.test("qgis reader", async (t) => {
  await t.step("reads version, layers and attachment dirs of a .qgs", () => {
    const project = parseQgisProject(
      encode(makeQgs({ layers: LAYERS, attachmentDirs: ["DCIM", "photos"], title: "survey" })),
    );
    expect(project.version).toBe("3.34.0-Prizren");
    expect(project.title).toBe("survey");
    expect(project.attachmentDirs).toEqual(["DCIM", "photos"]);
    expect(project.layers.map((l) => [l.id, l.filename, l.isFileBased])).toEqual([
      ["points_1", "data.gpkg", true],
      ["missing_1", "missing.gpkg", true],
      ["pg_1", null, false],
    ]);
  });

  await t.step("reads .qgz archives, stored and deflated", async () => {
    for (const deflate of [false, true]) {
      const bytes = await makeQgz({ layers: LAYERS }, { deflate, entryName: "survey.qgs" });
      const project = parseQgisProject(bytes);
      expect(project.layers.length).toBe(3);
    }
  });

  await t.step("rejects bytes that are not a QGIS project", async () => {
    expect(isValidQgisProject(encode("<qgis><unclosed></qgis>"))).toBe(false);
    expect(isValidQgisProject(encode('<qgis version="latest"/>'))).toBe(false);
    expect(isValidQgisProject(encode('<project version="3.34.0"/>'))).toBe(false);
    expect(isValidQgisProject(encode("not xml at all"))).toBe(false);
    expect(isValidQgisProject(await zip({ "readme.txt": encode("x") }))).toBe(false);
    const damaged = (await zip({ "a.qgs": encode(makeQgs({ layers: [] })) })).subarray(0, 40);
    expect(isValidQgisProject(damaged)).toBe(false);
    expect(isValidQgisProject(encode('<qgis version="3.28.1-Firenze"/>'))).toBe(true);
  });

  await t.step("reports file layers without their file as invalid", () => {
    const project = parseQgisProject(encode(makeQgs({ layers: LAYERS })));
    const report = layerReports(project, (path) => path === "data.gpkg");
    expect(report["points_1"]).toMatchObject({
      is_valid: true,
      error_code: "no_error",
      type_name: "Vector",
      filename: "data.gpkg",
      crs: "EPSG:4326",
    });
    expect(report["missing_1"]).toMatchObject({
      is_valid: false,
      error_code: "invalid_dataprovider",
      error_summary: 'File "missing.gpkg" missing.',
    });
    expect(report["pg_1"]).toMatchObject({ is_valid: true, filename: null });
  });
});

const PROJECT_ID = "bbdc0a1b-ade9-4c3d-ad28-59d8f0347689";

function delta(uuid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    uuid,
    clientId: "f7b5230c-d078-4654-9bcc-1adc1646bb28",
    localPk: "1",
    sourcePk: "1",
    localLayerId: "points_1",
    sourceLayerId: "points_1",
    method: "patch",
    old: { attributes: { name: "a" } },
    new: { attributes: { name: "b" }, geometry: "POINT (1 2)" },
    ...extra,
  };
}

function deltafile(project: string, deltas: unknown[], id = crypto.randomUUID()) {
  return { version: "1.0", project, id, deltas, files: [] };
}

Deno.test("deltafile schema", async (t) => {
  await t.step("accepts a valid delta file", () => {
    const file = validateDeltafile(JSON.stringify(deltafile(PROJECT_ID, [delta("d1")])));
    expect(file.deltas[0].uuid).toBe("d1");
  });

  await t.step("names the first violation", () => {
    expect(deltafileError({ ...deltafile(PROJECT_ID, []), version: "2.0" })).toContain("$.version");
    expect(deltafileError({ version: "1.0", project: PROJECT_ID, id: "x", deltas: [] }))
      .toContain('"files"');
    expect(deltafileError(deltafile(PROJECT_ID, [delta("d", { method: "upsert" })])))
      .toContain("$.deltas[0].method");
    expect(deltafileError(deltafile(PROJECT_ID, [delta("d", { new: { colour: "red" } })])))
      .toContain('unexpected property "colour"');
    expect(deltafileError(deltafile(PROJECT_ID, [{ uuid: "d" }]))).toContain('"localPk"');
    expect(deltafileError({ ...deltafile(PROJECT_ID, []), files: ["a.jpg", "a.jpg"] }))
      .toContain("duplicate");
  });

  await t.step("throws a SyntaxError for broken JSON", () => {
    expect(() => validateDeltafile("{")).toThrow(SyntaxError);
  });
});

Deno.test("job runner", async (t) => {
  const state = new ServerState();
  const runner = new JobRunner(state, { jobSeconds: 0.15 });
  runner.start();
  try {
    const alice = state.addUser({ username: "alice", password: "pw" });
    const p1 = state.addProject({ name: "p1", owner: alice });
    const p2 = state.addProject({ name: "p2", owner: alice });

    await t.step("moves a job through pending, queued and started to finished", async () => {
      const job = createJob(state, { projectId: p1.id, type: "create_project", createdBy: alice });
      const seen: string[] = [job.status];
      const began = Date.now();
      while (job.status !== "finished" && Date.now() - began < 2000) {
        await new Promise((r) => setTimeout(r, 5));
        if (seen.at(-1) !== job.status) seen.push(job.status);
      }
      const took = Date.now() - began;
      expect(seen).toEqual(["pending", "queued", "started", "finished"]);
      expect(took).toBeGreaterThanOrEqual(140);
      expect(took).toBeLessThan(1000);
      expect(job.startedAt).not.toBeNull();
      expect(job.finishedAt!.getTime()).toBeGreaterThan(job.startedAt!.getTime());
      expect(job.updatedAt).toEqual(job.finishedAt);
    });

    await t.step("runs one job per project at a time, in creation order", async () => {
      const a = createJob(state, { projectId: p1.id, type: "create_project", createdBy: alice });
      const b = createJob(state, { projectId: p1.id, type: "create_project", createdBy: alice });
      const other = createJob(state, {
        projectId: p2.id,
        type: "create_project",
        createdBy: alice,
      });
      let overlap = false;
      let otherConcurrent = false;
      const done = runner.idle();
      const watch = setInterval(() => {
        if (a.status === "started" && b.status === "started") overlap = true;
        if (a.status === "started" && other.status === "started") otherConcurrent = true;
      }, 2);
      await done;
      clearInterval(watch);
      expect(overlap).toBe(false);
      expect(otherConcurrent).toBe(true);
      expect(b.startedAt!.getTime()).toBeGreaterThanOrEqual(a.finishedAt!.getTime());
      expect([a.status, b.status, other.status]).toEqual(["finished", "finished", "finished"]);
    });

    await t.step("failNextJob() fails exactly the next job with the message", async () => {
      failNextJob(state, p1.id, "Simulated worker crash");
      const failed = createJob(state, { projectId: p1.id, type: "package", createdBy: alice });
      const next = createJob(state, { projectId: p1.id, type: "create_project", createdBy: alice });
      await runner.idle();
      expect(failed.status).toBe("failed");
      expect(failed.feedback).toMatchObject({ error: "Simulated worker crash" });
      expect(failed.output).toContain("Simulated worker crash");
      expect(next.status).toBe("finished");
    });

    await t.step("fails a package job of a project without a QGIS file", async () => {
      const job = createJob(state, { projectId: p2.id, type: "package", createdBy: alice });
      await runner.idle();
      expect(job.status).toBe("failed");
      expect(job.feedback).toMatchObject({
        error: "The project does not contain a valid QGIS project file",
      });
      expect(p2.dataLastPackagedAt).toBeNull();
    });
  } finally {
    await runner.stop();
  }
});

// ---------------------------------------------------------------------------
// HTTP

async function waitForJob(api: Api, id: string): Promise<Record<string, unknown>> {
  const began = Date.now();
  while (Date.now() - began < 5000) {
    const job = await (await api("GET", `jobs/${id}/`)).json();
    if (["finished", "failed", "stopped"].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Job ${id} did not finish`);
}

const OPTIONS = {
  users: [
    { username: "alice", password: "a" },
    { username: "bob", password: "b" },
    { username: "eve", password: "e" },
  ],
  jobSeconds: 0.06,
};

/** Waits until no job of the server is pending, queued or started. */
async function settle(server: TestServer): Promise<void> {
  const began = Date.now();
  while ([...server.state.jobs.values()].some((j) => !["finished", "failed"].includes(j.status))) {
    if (Date.now() - began > 5000) throw new Error("Jobs did not settle");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const QGS = makeQgs({ layers: LAYERS });

Deno.test("jobs routes", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const alice = apiAs(server, "alice");
    const bob = apiAs(server, "bob");
    const eve = apiAs(server, "eve");
    const { id } = server.addProject({ name: "survey", owner: "alice" });
    server.addCollaborator(id, "bob", "reader");

    await t.step("GET jobs/ needs a valid project_id", async () => {
      await expectError(await alice("GET", "jobs/"), 404, "object_not_found");
      await expectError(await alice("GET", "jobs/?project_id=pizza"), 400, "validation_error");
      await expectError(
        await alice("GET", `jobs/?project_id=${crypto.randomUUID()}`),
        404,
        "object_not_found",
      );
      await expectError(await eve("GET", `jobs/?project_id=${id}`), 403, "permission_denied");
    });

    await t.step("POST jobs/ rejects what the server rejects", async () => {
      const post = (api: Api, form: Record<string, string>) => api("POST", "jobs/", form);
      await expectError(await post(alice, { type: "package" }), 404, "object_not_found");
      await expectError(
        await post(eve, { project_id: id, type: "package" }),
        403,
        "permission_denied",
      );
      await expectError(await post(alice, { project_id: id }), 500, "unknown_error");
      await expectError(await post(alice, { project_id: id, type: "nope" }), 500, "unknown_error");
      await expectError(
        await post(alice, { project_id: id, type: "create_project" }),
        500,
        "unknown_error",
      );
      await expectError(
        await post(bob, { project_id: id, type: "process_projectfile" }),
        403,
        "permission_denied",
      );
      await expectError(
        await post(alice, { project_id: id, type: "package", force: "true" }),
        500,
        "unknown_error",
      );
      await expectError(
        await post(alice, { project_id: id, type: "package", force: "0" }),
        400,
        "no_qgis_project",
      );
    });

    await server.putFile(id, "data.gpkg", "gpkg bytes");
    await server.putFile(id, "DCIM/photo.jpg", "jpeg bytes");
    await server.putFile(id, "survey.qgs", QGS);
    await settle(server);

    let packageId = "";
    await t.step("package force=0 creates one job, then returns the unfinished one", async () => {
      const first = await alice(
        "POST",
        "jobs/",
        JSON.stringify({ project_id: id, type: "package", force: 0 }),
      );
      expect(first.status).toBe(201);
      const job = await first.json();
      expect(Object.keys(job)).toEqual([
        "id",
        "created_at",
        "created_by",
        "finished_at",
        "project_id",
        "started_at",
        "status",
        "type",
        "updated_at",
        "feedback",
        "output",
      ]);
      expect(job).toMatchObject({ status: "pending", type: "package", project_id: id });
      expect(job.created_by).toBe(server.state.findUser("alice")!.pk);
      const again = await bob("POST", "jobs/", { project_id: id, type: "package" });
      expect(again.status).toBe(200);
      expect((await again.json()).id).toBe(job.id);
      const forced = await alice("POST", "jobs/", { project_id: id, type: "package", force: "1" });
      expect(forced.status).toBe(201);
      expect((await forced.json()).id).not.toBe(job.id);
      packageId = job.id;
    });

    await t.step("GET jobs/{id}/ gives the detail, with feedback once finished", async () => {
      const job = await waitForJob(alice, packageId);
      expect(job.status).toBe("finished");
      expect(job.started_at).toMatch(/Z$/);
      expect(job.finished_at).toMatch(/Z$/);
      expect(job.output).toContain("survey_qfield.qgs");
      expect(job.feedback).toMatchObject({
        outputs: { qgis_layers_data: { layers_by_id: { points_1: { is_valid: true } } } },
      });
      await expectError(
        await alice("GET", `jobs/${crypto.randomUUID()}/`),
        403,
        "permission_denied",
      );
      await expectError(await alice("GET", "jobs/pizza/"), 400, "validation_error");
      await expectError(await eve("GET", `jobs/${packageId}/`), 403, "permission_denied");
    });

    await t.step("GET jobs/ lists the project's jobs, newest last, without feedback", async () => {
      await settle(server);
      const response = await alice("GET", `jobs/?project_id=${id}&type=delta_apply`);
      const jobs = await response.json();
      expect(jobs.length).toBeGreaterThanOrEqual(3);
      expect(jobs.map((j: { type: string }) => j.type)).toContain("process_projectfile");
      expect(jobs.at(-1).type).toBe("package");
      expect(jobs[0]).not.toHaveProperty("feedback");
      expect(jobs[0]).not.toHaveProperty("output");
      const created = jobs.map((j: { created_at: string }) => j.created_at);
      expect([...created].sort()).toEqual(created);
      const page = await alice("GET", `jobs/?project_id=${id}&limit=1&offset=1`);
      expect(page.headers.get("x-total-count")).toBe(String(jobs.length));
      expect((await page.json())[0].id).toBe(jobs[1].id);
    });

    await t.step("process_projectfile stores the project details", async () => {
      const project = server.state.findProject(id)!;
      expect(project.projectDetails).toMatchObject({ attachment_dirs: ["DCIM"] });
      const res = await alice("GET", `projects/${id}/`);
      expect((await res.json()).status).toBe("ok");
    });
  });
});

Deno.test("packages routes", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const aliceToken = server.createToken("alice");
    const alice = apiFor(server, aliceToken);
    const bob = apiAs(server, "bob");
    const eve = apiAs(server, "eve");
    const { id } = server.addProject({ name: "survey", owner: "alice" });
    server.addCollaborator(id, "bob", "reader");

    await t.step("latest/ is 400 invalid_job before any package", async () => {
      await expectError(await alice("GET", `packages/${id}/latest/`), 400, "invalid_job");
      await expectError(await eve("GET", `packages/${id}/latest/`), 403, "permission_denied");
    });

    await server.putFile(id, "data.gpkg", "gpkg bytes");
    await server.putFile(id, "DCIM/photo.jpg", "jpeg bytes");
    await server.putFile(id, "survey.qgz", await makeQgz({ layers: LAYERS }, { deflate: true }));
    await settle(server);

    await t.step("a finished package lists its files, the attachments and the layers", async () => {
      const job = await (await alice("POST", "jobs/", { project_id: id, type: "package" })).json();
      await waitForJob(alice, job.id);
      const res = await alice("GET", `packages/${id}/latest/`);
      expect(res.status).toBe(200);
      const latest = await res.json();
      expect(Object.keys(latest)).toEqual([
        "files",
        "layers",
        "status",
        "package_id",
        "packaged_at",
        "data_last_updated_at",
      ]);
      expect(latest.status).toBe("finished");
      expect(latest.package_id).toBe(job.id);
      expect(latest.packaged_at).toMatch(/Z$/);
      expect(latest.data_last_updated_at).toMatch(/Z$/);
      const byName = Object.fromEntries(
        latest.files.map((f: { name: string }) => [f.name, f]),
      );
      expect(Object.keys(byName).sort()).toEqual([
        "DCIM/photo.jpg",
        "data.gpkg",
        "survey_qfield.qgz",
      ]);
      expect(byName["DCIM/photo.jpg"].is_attachment).toBe(true);
      expect(byName["data.gpkg"]).toMatchObject({
        is_attachment: false,
        size: 10,
        md5sum: server.state.findProject(id)!.files.get("data.gpkg")!.versions[0].etag,
      });
      expect(byName["data.gpkg"]).not.toHaveProperty("versions");
      expect(byName["data.gpkg"]).not.toHaveProperty("etag");
      expect(latest.layers.points_1).toMatchObject({ is_valid: true, name: "points" });
      expect(latest.layers.missing_1).toMatchObject({
        is_valid: false,
        error_code: "invalid_dataprovider",
      });
      // Another user has no package of their own yet.
      await expectError(await bob("GET", `packages/${id}/latest/`), 400, "invalid_job");
    });

    await t.step("package files and attachments download; unknown names are 404", async () => {
      const data = await alice("GET", `packages/${id}/latest/files/data.gpkg/`);
      expect(data.status).toBe(200);
      expect(await data.text()).toBe("gpkg bytes");
      const photo = await alice("GET", `packages/${id}/latest/files/DCIM/photo.jpg/`);
      expect(await photo.text()).toBe("jpeg bytes");
      const qgz = await alice("GET", `packages/${id}/latest/files/survey_qfield.qgz/`);
      expect(isValidQgisProject(new Uint8Array(await qgz.arrayBuffer()))).toBe(true);
      await expectError(
        await alice("GET", `packages/${id}/latest/files/nope.txt/`),
        404,
        "object_not_found",
      );
      await expectError(
        await bob("GET", `packages/${id}/latest/files/data.gpkg/`),
        400,
        "invalid_job",
      );
    });

    await t.step("a failed package job carries the hook's feedback", async () => {
      failNextJob(server.state, id, "Simulated packaging failure");
      const job = await (await alice("POST", "jobs/", { project_id: id, type: "package" })).json();
      const done = await waitForJob(alice, job.id);
      expect(done.status).toBe("failed");
      expect(done.feedback).toMatchObject({ error: "Simulated packaging failure" });
      const latest = await (await alice("GET", `packages/${id}/latest/`)).json();
      // Only the attachments remain: the failed job stored no files.
      expect(latest.status).toBe("failed");
      expect(latest.layers).toBeNull();
      expect(latest.files.map((f: { name: string }) => f.name)).toEqual(["DCIM/photo.jpg"]);
    });
  });
});

// A job of its own server, slow enough (about 1 s in each state) that the worker's upload lands
// while the job is "started" even on a loaded machine.
Deno.test("packages routes: only a worker token may upload package files", async () => {
  await withServer({ ...OPTIONS, jobSeconds: 3 }, async (server) => {
    const alice = apiFor(server, server.createToken("alice"));
    const { id } = server.addProject({ name: "survey", owner: "alice" });
    await server.putFile(id, "survey.qgz", await makeQgz({ layers: LAYERS }, { deflate: true }));
    await settle(server);
    const job =
      await (await alice("POST", "jobs/", { project_id: id, type: "package", force: "1" }))
        .json();
    const form = () => {
      const f = new FormData();
      f.append("file", new Blob(["Hello!"]), "extra.txt");
      return f;
    };
    const path = `packages/${id}/${job.id}/files/extra.txt/`;
    await expectError(await alice("POST", path, form()), 403, "permission_denied");
    const user = server.state.findUser("alice")!;
    const worker = apiFor(server, server.state.createToken(user, "", "worker").key);
    // Not started yet: still refused.
    await expectError(await worker("POST", path, form()), 403, "permission_denied");
    const began = Date.now();
    while (server.state.jobs.get(job.id)!.status !== "started" && Date.now() - began < 2000) {
      await new Promise((r) => setTimeout(r, 2));
    }
    const res = await worker("POST", path, form());
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({
      name: "extra.txt",
      size: 6,
      sha256: "334d016f755cd6dc58c53a86e183882f8ec14f52fb05345887c8a5edd42c87b7",
      md5sum: "952d2c56d0485958336747bcdd98590d",
    });
    await waitForJob(alice, job.id);
    const latest = await (await alice("GET", `packages/${id}/latest/`)).json();
    expect(latest.files.map((f: { name: string }) => f.name)).toContain("extra.txt");
  });
});

Deno.test("deltas routes", async (t) => {
  await withServer(OPTIONS, async (server) => {
    const alice = apiAs(server, "alice");
    const bob = apiAs(server, "bob");
    const eve = apiAs(server, "eve");
    const { id } = server.addProject({ name: "survey", owner: "alice" });
    server.addCollaborator(id, "bob", "reader");
    server.addCollaborator(id, "eve", "reporter");
    const push = (api: Api, content: string | undefined, field = "file") => {
      const form = new FormData();
      if (content !== undefined) form.append(field, new Blob([content]), "deltas.json");
      return api("POST", `deltas/${id}/`, form);
    };
    const valid = (deltas: unknown[]) => JSON.stringify(deltafile(id, deltas));

    await t.step("push errors follow the server's order", async () => {
      await expectError(await push(bob, valid([])), 403, "permission_denied");
      await expectError(await push(alice, undefined), 400, "empty_content");
      await expectError(await push(alice, valid([]), "upload"), 400, "empty_content");
      await expectError(await push(alice, "{not json"), 500, "unknown_error");
      await expectError(
        await push(alice, JSON.stringify({ version: "1.0" })),
        500,
        "unknown_error",
      );
      await expectError(await push(alice, valid([delta("d0")])), 400, "no_qgis_project");
    });

    await server.putFile(id, "data.gpkg", "gpkg bytes");
    await server.putFile(id, "survey.qgs", QGS);
    await settle(server);

    await t.step("a deltafile for another project is refused with the exact message", async () => {
      const other = crypto.randomUUID();
      const res = await push(alice, JSON.stringify(deltafile(other, [delta("x")])));
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        code: "invalid_deltafile",
        message:
          `Deltafile's project id (${other}) doesn't match URL parameter project id (${id}).`,
      });
    });

    await t.step("a delta without clientId fails the whole file", async () => {
      const withoutClient = delta(crypto.randomUUID());
      delete withoutClient.clientId;
      const ok = delta(crypto.randomUUID());
      await expectError(await push(alice, valid([ok, withoutClient])), 500, "unknown_error");
      expect(server.state.deltas.has(ok.uuid as string)).toBe(false);
    });

    const good = crypto.randomUUID();
    const stray = crypto.randomUUID();
    await t.step("a valid push answers 200 with an empty body and starts delta_apply", async () => {
      const res = await push(
        alice,
        valid([delta(good), delta(stray, { sourceLayerId: "gone", localLayerId: "gone" })]),
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBeNull();
      expect(await res.text()).toBe("");
      const jobs = await (await alice("GET", `jobs/?project_id=${id}`)).json();
      expect(jobs.at(-1).type).toBe("delta_apply");
      await waitForJob(alice, jobs.at(-1).id);
    });

    await t.step("the apply job applies deltas of known layers only", async () => {
      const list = await (await alice("GET", `deltas/${id}/`)).json();
      const byId = Object.fromEntries(list.map((d: { id: string }) => [d.id, d]));
      expect(byId[good]).toMatchObject({
        status: "STATUS_APPLIED",
        last_status: "applied",
        created_by: "alice",
        output: null,
      });
      expect(byId[stray]).toMatchObject({
        status: "STATUS_NOT_APPLIED",
        last_status: "not_applied",
        last_feedback: { msg: 'Layer "gone" is not a layer of the project.' },
        output: "{'msg': 'Layer \"gone\" is not a layer of the project.'}",
      });
      expect(byId[good].content.uuid).toBe(good);
    });

    await t.step("known delta ids are skipped and start no job", async () => {
      const before = server.state.jobs.size;
      const res = await push(alice, valid([delta(good)]));
      expect(res.status).toBe(200);
      expect(server.state.jobs.size).toBe(before);
      expect(server.state.deltasOfProject(id).length).toBe(2);
    });

    await t.step("a reporter's patch is stored as unpermitted", async () => {
      const patch = crypto.randomUUID();
      const create = crypto.randomUUID();
      const res = await push(eve, valid([delta(patch), delta(create, { method: "create" })]));
      expect(res.status).toBe(200);
      expect(server.state.deltas.get(patch)!.lastStatus).toBe("unpermitted");
      await settle(server);
      expect(server.state.deltas.get(create)!.lastStatus).toBe("applied");
    });

    await t.step("GET deltas/ is paginated and open to every role", async () => {
      const page = await bob("GET", `deltas/${id}/?limit=2&offset=0`);
      expect(page.headers.get("x-total-count")).toBe("4");
      expect(page.headers.get("x-next-page")).toContain("offset=2");
      expect((await page.json()).length).toBe(2);
      const res = await apiAs(server, "alice")(
        "GET",
        `deltas/${crypto.randomUUID()}/`,
      );
      await expectError(res, 404, "object_not_found");
    });
  });
});
