import { expect } from "expect";
import { Client, etagOfBytes } from "../mod.ts";
import { failNextJob, startTestServer } from "../testing/mod.ts";
import { makeQgs } from "./fixtures/qgis_project.ts";
import type { PackageSummary } from "../examples/nightly_package.ts";

const EXAMPLE = new URL("../examples/nightly_package.ts", import.meta.url).pathname;

if (typeof (Deno as { openKv?: unknown }).openKv !== "function") {
  throw new Error(
    "tests/examples_nightly_test.ts needs Deno KV: run the tests with --unstable-kv " +
      "(deno test -A --unstable-kv --parallel tests/)",
  );
}

// Importing the example must not register a cron job: spy on Deno.cron during the import.
const cronCalls: unknown[][] = [];
const originalCron = Object.getOwnPropertyDescriptor(Deno, "cron");
Object.defineProperty(Deno, "cron", {
  configurable: true,
  value: (...args: unknown[]) => cronCalls.push(args),
});
const nightly = await import("../examples/nightly_package.ts");
if (originalCron) Object.defineProperty(Deno, "cron", originalCron);
else delete (Deno as { cron?: unknown }).cron;

const QGS = makeQgs({
  layers: [{ id: "pts_1", name: "points", datasource: "./data.gpkg|layername=points" }],
});

async function setup() {
  const server = await startTestServer({
    users: [{ username: "planner", password: "pw" }],
    jobSeconds: 0.15,
  });
  const first = server.addProject({ name: "forest", owner: "planner" });
  const second = server.addProject({ name: "meadow", owner: "planner" });
  for (const project of [first, second]) {
    await server.putFile(project.id, "survey.qgs", QGS);
    await server.putFile(project.id, "data.gpkg", `gpkg of ${project.id}`);
  }
  const token = server.createToken("planner");
  const client = new Client({ url: server.url, token });
  return { server, first, second, token, client };
}

type Server = Awaited<ReturnType<typeof startTestServer>>;

/** Waits for the project's unfinished jobs (an upload starts `process_projectfile`). */
async function settle(client: Client, projectId: string) {
  for (const job of await client.listJobs(projectId)) {
    if (["pending", "queued", "started"].includes(job.status)) {
      await client.waitForJob(job.id, { intervalMs: 20 });
    }
  }
}

function jobPosts(server: Server) {
  return server.requests.filter((r) => r.method === "POST" && r.path === "/api/v1/jobs/");
}

Deno.test("importing nightly_package.ts registers no cron job", () => {
  expect(cronCalls).toEqual([]);
});

Deno.test("runNightlyPackage() against the test server", async (t) => {
  const { server, first, second, client } = await setup();
  const kv = await Deno.openKv(":memory:");
  const log: string[] = [];
  const run = (projects: string[]) =>
    nightly.runNightlyPackage({
      client,
      kv,
      projects,
      intervalMs: 20,
      timeoutMs: 10_000,
      log: (line) => log.push(line),
    });
  const stored = async (id: string) =>
    (await kv.get<PackageSummary>([...nightly.SUMMARY_KEY_PREFIX, id])).value;
  try {
    await t.step("packages projects that need it and stores summaries in KV", async () => {
      server.clearRequests();
      const summaries = await run([first.id, "planner/meadow"]);
      expect(jobPosts(server).length).toBe(2);
      expect(summaries.map((s) => [s.project, s.action, s.status])).toEqual([
        ["planner/forest", "packaged", "finished"],
        ["planner/meadow", "packaged", "finished"],
      ]);
      for (const [project, summary] of [[first, summaries[0]], [second, summaries[1]]] as const) {
        const latest = await client.packageLatest(project.id);
        expect(summary.job_id).toBe(latest.package_id);
        expect(summary.files).toEqual(
          latest.files.map(({ name, size, md5sum }) => ({ name, size, md5sum })),
        );
        const data = summary.files.find((f) => f.name === "data.gpkg");
        const bytes = new TextEncoder().encode(`gpkg of ${project.id}`);
        expect(data).toEqual({ name: "data.gpkg", size: bytes.length, md5sum: etagOfBytes(bytes) });
        expect(await stored(project.id)).toEqual(summary);
      }
      const lastRun = (await kv.get(nightly.LAST_RUN_KEY)).value;
      expect(lastRun).toEqual(expect.objectContaining({ packaged: 2, up_to_date: 0, failed: 0 }));
      expect(log).toEqual([
        `planner/forest: packaged (job ${summaries[0].job_id}, ${summaries[0].files.length} files)`,
        `planner/meadow: packaged (job ${summaries[1].job_id}, ${summaries[1].files.length} files)`,
      ]);
    });

    await t.step("leaves up-to-date projects alone", async () => {
      server.clearRequests();
      const summaries = await run([first.id, second.id]);
      expect(jobPosts(server)).toEqual([]);
      expect(summaries.map((s) => s.action)).toEqual(["up_to_date", "up_to_date"]);
      expect(summaries[0].files.map((f) => f.name)).toContain("data.gpkg");
      expect(await stored(first.id)).toEqual(summaries[0]);
    });

    await t.step("stores a failed package job as failed and goes on", async () => {
      await server.putFile(first.id, "data.gpkg", "new field data");
      await settle(client, first.id);
      failNextJob(server.state, first.id, "Simulated QGIS crash");
      server.clearRequests();
      const summaries = await run([first.id, second.id]);
      expect(jobPosts(server).length).toBe(1);
      expect(summaries[0]).toEqual(expect.objectContaining({
        action: "failed",
        status: "failed",
        error: expect.stringContaining("Simulated QGIS crash"),
      }));
      expect(summaries[1].action).toBe("up_to_date");
      expect((await stored(first.id))?.action).toBe("failed");
      expect((await kv.get(nightly.LAST_RUN_KEY)).value).toEqual(
        expect.objectContaining({ packaged: 0, up_to_date: 1, failed: 1 }),
      );
    });

    await t.step("names a project it cannot find", async () => {
      const [summary] = await run(["planner/nowhere"]);
      expect(summary.action).toBe("failed");
      expect(summary.error).toBe('Cannot find project "planner/nowhere" among your projects');
      expect(await stored("planner/nowhere")).toEqual(summary);
    });
  } finally {
    kv.close();
    await server.close();
  }
});

Deno.test("registerNightlyCron() registers the schedule; its handler fills KV", async () => {
  const { server, first, token } = await setup();
  const kv = await Deno.openKv(":memory:");
  try {
    const registered: { name: string; schedule: string; handler: () => Promise<void> }[] = [];
    const env: Record<string, string> = {
      QFIELDCLOUD_PROJECTS: `${first.id}, planner/meadow`,
      NIGHTLY_PACKAGE_SCHEDULE: "30 1 * * *",
      NIGHTLY_PACKAGE_POLL_SECONDS: "0.02",
    };
    const log: string[] = [];
    nightly.registerNightlyCron({
      env: (name) => env[name],
      cron: (name, schedule, handler) => registered.push({ name, schedule, handler }),
      openKv: () => Promise.resolve(kv),
      client: () => new Client({ url: server.url, token }),
      log: (line) => log.push(line),
    });
    expect(registered.map((r) => [r.name, r.schedule])).toEqual([
      ["qfieldcloud-nightly-package", "30 1 * * *"],
    ]);
    await registered[0].handler();
    const summary = (await kv.get<PackageSummary>([...nightly.SUMMARY_KEY_PREFIX, first.id]))
      .value;
    expect(summary?.action).toBe("packaged");
    expect(summary?.status).toBe("finished");
    expect(log).toEqual([
      `planner/forest: packaged (job ${summary?.job_id}, ${summary?.files.length} files)`,
      expect.stringMatching(/^planner\/meadow: packaged \(job /),
    ]);

    // A failing project makes the run throw, so Deno Deploy marks it failed.
    env.QFIELDCLOUD_PROJECTS = "planner/nowhere";
    await expect(registered[0].handler()).rejects.toThrow("Packaging failed for planner/nowhere");
    delete env.QFIELDCLOUD_PROJECTS;
    await expect(registered[0].handler()).rejects.toThrow("Set QFIELDCLOUD_PROJECTS");
    env.QFIELDCLOUD_PROJECTS = "planner/meadow";
    env.NIGHTLY_PACKAGE_POLL_SECONDS = "soon";
    await expect(registered[0].handler()).rejects.toThrow(
      'Cannot use NIGHTLY_PACKAGE_POLL_SECONDS="soon": give a positive number',
    );
  } finally {
    kv.close();
    await server.close();
  }
});

Deno.test("nightly_package.ts --once packages, prints JSON and writes the KV file", async () => {
  const { server, second, token } = await setup();
  const dir = await Deno.makeTempDir();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", EXAMPLE, "--once"],
      env: {
        QFIELDCLOUD_URL: server.url,
        QFIELDCLOUD_TOKEN: token,
        QFIELDCLOUD_PROJECTS: "planner/meadow",
        NIGHTLY_PACKAGE_KV_PATH: `${dir}/kv.sqlite`,
        NIGHTLY_PACKAGE_POLL_SECONDS: "0.02",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    expect({ code: output.code, stderr }).toEqual({
      code: 0,
      stderr: expect.stringContaining("planner/meadow: packaged"),
    });
    expect(stdout + stderr).not.toContain(token);
    const [printed] = JSON.parse(stdout) as PackageSummary[];
    const kv = await Deno.openKv(`${dir}/kv.sqlite`);
    try {
      const summary = (await kv.get([...nightly.SUMMARY_KEY_PREFIX, second.id])).value;
      expect(summary).toEqual(printed);
    } finally {
      kv.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.close();
  }
});
