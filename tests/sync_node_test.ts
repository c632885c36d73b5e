import { expect } from "expect";
import { pathToFileURL } from "node:url";
import { startTestServer } from "../testing/mod.ts";
import { openWalDatabase } from "./fixtures/wal_database.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SMOKE = `${ROOT}tests/fixtures/sync_smoke.mjs`;

async function version(command: string): Promise<string | undefined> {
  try {
    const output = await new Deno.Command(command, { args: ["--version"], stdout: "piped" })
      .output();
    return output.success ? new TextDecoder().decode(output.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

const nodeVersion = await version("node");
const BUN = Deno.env.get("BUN_BIN") ?? "bun";
const bunVersion = await version(BUN);

Deno.test({
  name:
    "push, pull and sync run under Node (bundle) and Bun (sources); a -wal without node:sqlite fails",
  ignore: !nodeVersion && !bunVersion,
  async fn(t) {
    const server = await startTestServer({ users: [{ username: "u", password: "p" }] });
    const dir = await Deno.makeTempDir();
    try {
      const bundle = `${dir}/sdk.mjs`;
      const built = await new Deno.Command(Deno.execPath(), {
        args: ["bundle", "--quiet", "--output", bundle, "mod.ts"],
        cwd: ROOT,
        stdout: "null",
        stderr: "null",
      }).output();
      expect(built.success).toBe(true);
      const runtimes = [
        { name: `Node ${nodeVersion}`, command: "node", module: bundle, ok: !!nodeVersion },
        { name: `Bun ${bunVersion}`, command: BUN, module: `${ROOT}mod.ts`, ok: !!bunVersion },
      ];
      await t.step({
        name: `a GeoPackage with -wal frames under Node ${nodeVersion}`,
        ignore: !nodeVersion,
        fn: async () => {
          const project = server.addProject({ name: "p-gpkg", owner: "u" });
          const folder = await Deno.makeTempDir({ dir });
          const qgis = openWalDatabase(`${folder}/data.gpkg`, 5);
          try {
            const output = await new Deno.Command("node", {
              args: [SMOKE],
              env: {
                QFIELDCLOUD_SDK_MODULE: pathToFileURL(bundle).href,
                QFIELDCLOUD_URL: server.url,
                QFIELDCLOUD_TOKEN: server.createToken("u"),
                SMOKE_PROJECT_ID: project.id,
                SMOKE_DIR: folder,
                SMOKE_PUSH_ONLY: "1",
              },
              stdout: "piped",
              stderr: "piped",
            }).output();
            const [[name, status, reason]] = JSON.parse(new TextDecoder().decode(output.stdout));
            expect(name).toBe("data.gpkg");
            // node:sqlite arrived in Node 22.5: before it, the file fails and says what to do.
            const [major, minor] = nodeVersion!.slice(1).split(".").map(Number);
            if (major > 22 || (major === 22 && minor >= 5)) {
              expect(status).toBe("SUCCESS");
            } else {
              expect([status, reason]).toEqual([
                "FAILED",
                expect.stringMatching(
                  /cannot write into it \(it has no node:sqlite\): close the layer/,
                ),
              ]);
              expect(server.state.projects.get(project.id)!.files.size).toBe(0);
            }
          } finally {
            qgis.close();
          }
        },
      });
      for (const runtime of runtimes) {
        await t.step({
          name: runtime.name,
          ignore: !runtime.ok,
          fn: async () => {
            const project = server.addProject({ name: `p-${runtime.command}`, owner: "u" });
            await server.putFile(project.id, "trees.csv", "id\n1\n");
            const folder = await Deno.makeTempDir({ dir });
            const output = await new Deno.Command(runtime.command, {
              args: [SMOKE],
              env: {
                QFIELDCLOUD_SDK_MODULE: pathToFileURL(runtime.module).href,
                QFIELDCLOUD_URL: server.url,
                QFIELDCLOUD_TOKEN: server.createToken("u"),
                SMOKE_PROJECT_ID: project.id,
                SMOKE_DIR: folder,
              },
              stdout: "piped",
              stderr: "piped",
            }).output();
            const stderr = new TextDecoder().decode(output.stderr);
            expect(output.success ? "" : stderr).toBe("");
            expect(JSON.parse(new TextDecoder().decode(output.stdout))).toEqual({
              first: { "trees.csv": "download SUCCESS", "local.txt": "upload SUCCESS" },
              second: {},
              unchanged: 2,
              state: true,
            });
          },
        });
      }
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
