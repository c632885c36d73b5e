/**
 * Uses the library from plain JavaScript under Node (>= 20) or Bun: logs in (or uses a
 * token), checks the server, lists projects and, for one project, its files with their
 * etags, then prints one JSON object. It is the README's Node/Bun example and the smoke
 * test the CI runs against the test server.
 *
 * The package is not on JSR or npm yet. Build it from a clone with `deno task build:npm`
 * and install that build into your Node project with `npm install /path/to/clone/dist/npm`
 * (Bun: `bun add /path/to/clone/dist/npm`), then, from that project:
 *
 * ```sh
 * QFIELDCLOUD_URL=https://app.qfield.cloud/api/v1/ QFIELDCLOUD_TOKEN=… node node_smoke.mjs
 * ```
 *
 * Environment: `QFIELDCLOUD_URL`; `QFIELDCLOUD_TOKEN`, or `QFIELDCLOUD_USERNAME` and
 * `QFIELDCLOUD_PASSWORD`; optionally `QFIELDCLOUD_PROJECT_ID` (default: the first project)
 * and `QFIELDCLOUD_SDK_MODULE`, the module to import instead of `@qfieldcloud/sdk` (the tests
 * point it at `mod.ts` itself for Bun, which runs TypeScript).
 *
 * @module
 */
import process from "node:process";

const specifier = process.env.QFIELDCLOUD_SDK_MODULE || "@qfieldcloud/sdk";
const { Client, QfcException, VERSION, etagOfBytes } = await import(specifier);

async function main() {
  const client = new Client({ userAgent: "node-smoke" });
  if (!client.token) {
    const username = process.env.QFIELDCLOUD_USERNAME;
    const password = process.env.QFIELDCLOUD_PASSWORD;
    if (!username || !password) {
      throw new QfcException(
        "Set QFIELDCLOUD_TOKEN, or QFIELDCLOUD_USERNAME and QFIELDCLOUD_PASSWORD",
      );
    }
    await client.login(username, password);
  }
  const status = await client.checkServerStatus();
  const projects = await client.listProjects();
  const projectId = process.env.QFIELDCLOUD_PROJECT_ID || projects[0]?.id;
  const files = projectId ? await client.listRemoteFiles(projectId) : [];
  return {
    runtime: globalThis.Bun ? `bun ${globalThis.Bun.version}` : `node ${process.version}`,
    sdk: VERSION,
    // The etag helper needs node:crypto's MD5: proves it works on this runtime.
    etag_check: etagOfBytes(new TextEncoder().encode("Hello!")),
    database: status.database,
    projects: projects.map((p) => `${p.owner}/${p.name}`),
    files: files.map((f) => ({ name: f.name, size: f.size, etag: f.etag })),
  };
}

try {
  console.log(JSON.stringify(await main()));
} catch (error) {
  console.error(`node_smoke: ${String(error?.message ?? error).split("\n")[0]}`);
  process.exitCode = 1;
}
