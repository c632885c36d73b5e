import { expect } from "expect";
import { Client, etagOfBytes } from "../mod.ts";
import { failNextJob, startTestServer } from "../testing/mod.ts";
import { makeQgs } from "./fixtures/qgis_project.ts";
import { TARGETS } from "../scripts/compile.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SCRIPT = `${ROOT}examples/ci/qfieldcloud-package.sh`;
const WORKFLOW = `${ROOT}examples/ci/github-actions.yml`;
// The CLI from source stands in for the released binary.
const CLI = `${Deno.execPath()} run -A ${ROOT}cli.ts`;

type Server = Awaited<ReturnType<typeof startTestServer>>;

async function runScript(args: string[], env: Record<string, string>, home: string) {
  const output = await new Deno.Command("sh", {
    args: [SCRIPT, ...args],
    env: {
      QFIELDCLOUD_CLI: CLI,
      PACKAGE_POLL_SECONDS: "0.05",
      // Keep the CLI away from the real user's saved logins.
      HOME: home,
      XDG_CONFIG_HOME: `${home}/.config`,
      QFIELDCLOUD_USERNAME: "",
      QFIELDCLOUD_PASSWORD: "",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

function fileUploads(server: Server) {
  return server.requests.filter((r) => r.method === "POST" && r.path.startsWith("/api/v1/files/"));
}

Deno.test("examples/ci/qfieldcloud-package.sh uploads, packages and fails with the job", async (t) => {
  const server = await startTestServer({
    users: [{ username: "ci-bot", password: "pw" }],
    jobSeconds: 0.15,
  });
  const home = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  try {
    const { id: projectId } = server.addProject({ name: "field-data", owner: "ci-bot" });
    const token = server.createToken("ci-bot", "cli|ts|test");
    const client = new Client({ url: server.url, token });
    const env = { QFIELDCLOUD_URL: server.url, QFIELDCLOUD_TOKEN: token };
    const files: Record<string, Uint8Array> = {
      "survey.qgs": new TextEncoder().encode(makeQgs({
        layers: [{ id: "pts_1", name: "points", datasource: "./data.gpkg|layername=points" }],
      })),
      "data.gpkg": new TextEncoder().encode("geopackage bytes"),
      "DCIM/site.jpg": new TextEncoder().encode("jpeg bytes"),
    };
    await Deno.mkdir(`${dir}/DCIM`);
    for (const [name, bytes] of Object.entries(files)) {
      await Deno.writeFile(`${dir}/${name}`, bytes);
    }

    await t.step("uploads the folder and waits for a finished package job", async () => {
      const result = await runScript([projectId, dir], env, home);
      expect({ code: result.code, stderr: result.stderr }).toEqual({
        code: 0,
        stderr: expect.any(String),
      });
      expect(result.stdout).toContain(`Project ${projectId} is packaged`);
      expect(result.stdout + result.stderr).not.toContain(token);
      const remote = await client.listRemoteFiles(projectId);
      expect(remote.map((f) => [f.name, f.etag]).sort()).toEqual(
        Object.entries(files).map(([name, bytes]) => [name, etagOfBytes(bytes)]).sort(),
      );
      const packages = await client.listJobs(projectId, { jobType: "package" });
      expect(packages.map((j) => j.status)).toEqual(["finished"]);
      const latest = await client.packageLatest(projectId);
      expect(latest.package_id).toBe(packages[0].id);
      expect(latest.files.map((f) => f.name)).toContain("data.gpkg");
    });

    await t.step("a re-run uploads nothing unchanged", async () => {
      server.clearRequests();
      const result = await runScript([projectId, dir], env, home);
      expect(result.code).toBe(0);
      expect(fileUploads(server)).toEqual([]);
    });

    await t.step("a failed package job fails the script with the CLI's exit code 9", async () => {
      failNextJob(server.state, projectId, "Simulated packaging crash");
      const result = await runScript([projectId, dir], env, home);
      expect(result.code).toBe(9);
      expect(result.stderr).toContain("Simulated packaging crash");
      expect(result.stderr).toContain(
        `qfieldcloud-package: packaging project ${projectId} failed (see above)`,
      );
    });

    await t.step("a missing token is one line and exit code 2, before any request", async () => {
      server.clearRequests();
      const result = await runScript([projectId, dir], { ...env, QFIELDCLOUD_TOKEN: "" }, home);
      expect(result).toEqual({
        code: 2,
        stdout: "",
        stderr: "qfieldcloud-package: set QFIELDCLOUD_TOKEN (a CI secret holding an API token)\n",
      });
      expect(server.requests).toEqual([]);
    });

    await t.step("a wrong project id exits with the CLI's not-found code", async () => {
      const result = await runScript(
        ["00000000-0000-4000-8000-000000000000", dir],
        env,
        home,
      );
      expect(result.code).toBe(5);
      expect(result.stderr).toContain("qfieldcloud-package: uploading");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(home, { recursive: true });
    await server.close();
  }
});

Deno.test("examples/ci/github-actions.yml runs the same steps with the released binary", async () => {
  const workflow = await Deno.readTextFile(WORKFLOW);
  // The steps of the script, with the same failure behavior.
  expect(workflow).toContain('qfieldcloud-cli upload-files "$QFIELDCLOUD_PROJECT_ID"');
  expect(workflow).toMatch(/qfieldcloud-cli job-trigger "\$QFIELDCLOUD_PROJECT_ID" package --wait/);
  expect(workflow).toContain("secrets.QFIELDCLOUD_TOKEN");
  expect(workflow).not.toMatch(/qfieldcloud-cli logout/);
  // The binary it downloads is the Linux x86_64 one the release builds (scripts/compile.ts).
  expect(workflow).toContain(`asset=${TARGETS["x86_64-unknown-linux-gnu"]}\n`);
});
