import { expect } from "expect";
import { Client, etagOfFile } from "../mod.ts";
import { failNextJob, startTestServer } from "../testing/mod.ts";
import { makeQgs } from "./fixtures/qgis_project.ts";
import { exportCollectedData } from "../examples/export_collected_data.ts";

const EXAMPLE = new URL("../examples/export_collected_data.ts", import.meta.url).pathname;

type Server = Awaited<ReturnType<typeof startTestServer>>;

/** GET requests for single files of the project (not the listing). */
function fileDownloads(server: Server, projectId: string): string[] {
  const prefix = `/api/v1/files/${projectId}/`;
  return server.requests
    .filter((r) => r.method === "GET" && r.path.startsWith(prefix) && r.path !== prefix)
    .map((r) => decodeURIComponent(r.path.slice(prefix.length, -1)));
}

async function expectSameEtags(client: Client, projectId: string, dir: string, names: string[]) {
  const remote = new Map((await client.listRemoteFiles(projectId)).map((f) => [f.name, f.etag]));
  for (const name of names) {
    expect({ name, etag: await etagOfFile(`${dir}/${name}`) }).toEqual({
      name,
      etag: remote.get(name),
    });
  }
}

Deno.test("exportCollectedData() against the test server", async (t) => {
  const server = await startTestServer({
    users: [{ username: "collector", password: "pw" }],
    jobSeconds: 0.3,
  });
  const dir = await Deno.makeTempDir();
  try {
    const { id: projectId } = server.addProject({ name: "trees", owner: "collector" });
    await server.putFile(
      projectId,
      "trees.qgs",
      makeQgs({ layers: [{ id: "pts", name: "points", datasource: "./data.gpkg|layername=pts" }] }),
    );
    await server.putFile(projectId, "data.gpkg", "gpkg v1");
    await server.putFile(projectId, "DCIM/tree1.jpg", "jpeg 1");
    await server.putFile(projectId, "DCIM/2026/tree2.jpg", "jpeg 2");
    await server.putFile(projectId, "notes.txt", "not exported");
    const token = server.createToken("collector");
    const client = new Client({ url: server.url, token });
    const exported = ["DCIM/2026/tree2.jpg", "DCIM/tree1.jpg", "data.gpkg"];

    await t.step("waits for a pending delta_apply job before downloading", async () => {
      const job = await client.jobTrigger(projectId, "delta_apply");
      server.clearRequests();
      const summary = await exportCollectedData({
        client,
        projectId,
        destination: dir,
        intervalMs: 20,
      });
      expect(summary.delta_jobs).toEqual([{ id: job.id, status: "finished" }]);
      expect(summary.downloaded.map((f) => f.name).sort()).toEqual(exported);
      expect(summary.unchanged).toEqual([]);
      expect(summary.failed).toEqual([]);
      expect(summary.bytes_downloaded).toBe(7 + 6 + 6);
      // Every poll of the job came before the first file download.
      const paths = server.requests.map((r) => r.path);
      const lastPoll = paths.findLastIndex((p) => p === `/api/v1/jobs/${job.id}/`);
      const firstDownload = paths.findIndex((p) =>
        p.startsWith(`/api/v1/files/${projectId}/`) && p !== `/api/v1/files/${projectId}/`
      );
      expect(lastPoll).toBeGreaterThan(-1);
      expect(firstDownload).toBeGreaterThan(lastPoll);
      await expectSameEtags(client, projectId, dir, exported);
      await expect(Deno.stat(`${dir}/notes.txt`)).rejects.toThrow();
      await expect(Deno.stat(`${dir}/trees.qgs`)).rejects.toThrow();
    });

    await t.step("a re-run downloads only the new and changed files", async () => {
      await server.putFile(projectId, "DCIM/tree1.jpg", "jpeg 1, retaken");
      await server.putFile(projectId, "DCIM/tree3.jpg", "jpeg 3");
      server.clearRequests();
      const summary = await exportCollectedData({ client, projectId, destination: dir });
      expect(summary.delta_jobs).toEqual([]);
      expect(summary.downloaded.map((f) => f.name).sort()).toEqual([
        "DCIM/tree1.jpg",
        "DCIM/tree3.jpg",
      ]);
      expect(summary.unchanged.sort()).toEqual(["DCIM/2026/tree2.jpg", "data.gpkg"]);
      expect(fileDownloads(server, projectId).sort()).toEqual([
        "DCIM/tree1.jpg",
        "DCIM/tree3.jpg",
      ]);
      await expectSameEtags(client, projectId, dir, [...exported, "DCIM/tree3.jpg"]);
    });

    await t.step("a failed delta job is reported and the export still runs", async () => {
      failNextJob(server.state, projectId, "Simulated apply crash");
      const job = await client.jobTrigger(projectId, "delta_apply");
      const summary = await exportCollectedData({
        client,
        projectId,
        destination: dir,
        intervalMs: 20,
      });
      expect(summary.delta_jobs).toEqual([
        { id: job.id, status: "failed", error: expect.stringContaining("Simulated apply crash") },
      ]);
      expect(summary.downloaded).toEqual([]);
      expect(summary.unchanged.length).toBe(4);
    });

    await t.step("the script prints the JSON summary and keeps the token out", async () => {
      const target = `${dir}/script`;
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", EXAMPLE, projectId, target],
        env: {
          QFIELDCLOUD_URL: server.url,
          QFIELDCLOUD_TOKEN: token,
          EXPORT_PATTERNS: "DCIM/*",
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(output.stdout);
      const stderr = new TextDecoder().decode(output.stderr);
      expect({ code: output.code, stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      const summary = JSON.parse(stdout);
      expect(summary.patterns).toEqual(["DCIM/*"]);
      expect(summary.downloaded.map((f: { name: string }) => f.name).sort()).toEqual([
        "DCIM/2026/tree2.jpg",
        "DCIM/tree1.jpg",
        "DCIM/tree3.jpg",
      ]);
      expect(stdout + stderr).not.toContain(token);
    });

    await t.step("the script exits 2 with one line when the project is missing", async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", EXAMPLE],
        env: { QFIELDCLOUD_URL: server.url, QFIELDCLOUD_TOKEN: token, QFIELDCLOUD_PROJECT_ID: "" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      expect(output.code).toBe(2);
      expect(new TextDecoder().decode(output.stderr)).toBe(
        "export_collected_data: Usage: export_collected_data.ts <project id> <folder> " +
          "(or set QFIELDCLOUD_PROJECT_ID and EXPORT_DIR)\n",
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.close();
  }
});
