import { expect } from "expect";
import { pathToFileURL } from "node:url";
import { etagOfBytes } from "../mod.ts";
import { startTestServer } from "../testing/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SMOKE = `${ROOT}examples/node_smoke.mjs`;

async function version(command: string): Promise<string | undefined> {
  try {
    const output = await new Deno.Command(command, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return output.success ? new TextDecoder().decode(output.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

const NODE = "node";
const nodeVersion = await version(NODE);
// Bun is optional: `npm install -g bun` (its binary ships in the @oven/bun-* npm packages).
const BUN = Deno.env.get("BUN_BIN") ?? "bun";
const bunVersion = await version(BUN);

if (!nodeVersion) console.warn("examples_node_test: skipped, `node` is not installed");
if (!bunVersion) console.warn("examples_node_test: Bun step skipped, `bun` is not installed");

async function runSmoke(command: string, env: Record<string, string>, script = SMOKE) {
  const output = await new Deno.Command(command, {
    args: [script],
    env: { QFIELDCLOUD_TOKEN: "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`${command} exited ${output.code}: ${stderr}`);
  return { json: JSON.parse(stdout), stderr };
}

Deno.test({
  name: "the library runs under Node (and Bun) against the test server",
  ignore: !nodeVersion,
  async fn(t) {
    const server = await startTestServer({
      users: [{ username: "nodeuser", password: "node-pass" }],
      jobSeconds: 0.1,
    });
    const dir = await Deno.makeTempDir();
    try {
      const project = server.addProject({ name: "from-node", owner: "nodeuser" });
      const bytes = new TextEncoder().encode("id,name\n1,oak\n");
      await server.putFile(project.id, "trees.csv", bytes);
      const env = {
        QFIELDCLOUD_URL: server.url,
        QFIELDCLOUD_USERNAME: "nodeuser",
        QFIELDCLOUD_PASSWORD: "node-pass",
      };
      const expected = {
        sdk: expect.any(String),
        etag_check: "952d2c56d0485958336747bcdd98590d",
        database: "ok",
        projects: ["nodeuser/from-node"],
        files: [{ name: "trees.csv", size: bytes.length, etag: etagOfBytes(bytes) }],
      };

      // A Node project that installed the package `deno task build:npm` builds (a symlink is
      // what `npm install /path/to/clone/dist/npm` makes).
      const app = `${dir}/app`;
      const appSmoke = `${app}/node_smoke.mjs`;

      await t.step("deno task build:npm builds an ESM bundle with type declarations", async () => {
        const built = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "scripts/build_npm.ts", "--out", `${dir}/npm`],
          cwd: ROOT,
          stdout: "null",
          stderr: "piped",
        }).output();
        expect([built.success, new TextDecoder().decode(built.stderr)]).toEqual([
          true,
          expect.stringContaining("Built @qfieldcloud/sdk@"),
        ]);
        const manifest = JSON.parse(await Deno.readTextFile(`${dir}/npm/package.json`));
        expect(manifest.exports).toEqual({
          ".": { types: "./types/mod.d.ts", default: "./mod.js" },
        });
        await Deno.mkdir(`${app}/node_modules/@qfieldcloud`, { recursive: true });
        await Deno.symlink(`${dir}/npm`, `${app}/node_modules/@qfieldcloud/sdk`);
        await Deno.copyFile(SMOKE, appSmoke);
      });

      await t.step(`the built package under ${nodeVersion}`, async () => {
        const { json } = await runSmoke(NODE, env, appSmoke);
        expect(json).toEqual({ ...expected, runtime: `node ${nodeVersion}` });
      });

      await t.step("its type declarations type-check a strict TypeScript consumer", async () => {
        await Deno.writeTextFile(
          `${app}/check.ts`,
          [
            'import { Client, etagOfBytes, type Project } from "@qfieldcloud/sdk";',
            'const client: Client = new Client({ url: "https://example.org/api/v1/", token: "t" });',
            "const projects: Promise<Project[]> = client.listProjects();",
            "const etag: string = etagOfBytes(new Uint8Array());",
            "// @ts-expect-error: the options are an object",
            "client.listProjects(5);",
            "void projects, etag;",
          ].join("\n"),
        );
        await Deno.writeTextFile(
          `${app}/tsconfig.json`,
          JSON.stringify({
            compilerOptions: {
              strict: true,
              noEmit: true,
              module: "NodeNext",
              moduleResolution: "NodeNext",
              target: "ES2022",
              lib: ["ES2022", "DOM"],
              types: [],
            },
            files: ["check.ts"],
          }),
        );
        const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
        const checked = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", `${config.imports.typescript}/tsc`, "-p", `${app}/tsconfig.json`],
          cwd: ROOT,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const report = new TextDecoder().decode(checked.stdout) +
          new TextDecoder().decode(checked.stderr);
        expect([checked.code, report]).toEqual([0, ""]);
      });

      await t.step({
        name: `the built package under Bun ${bunVersion ?? "(not installed)"}`,
        ignore: !bunVersion,
        fn: async () => {
          const { json } = await runSmoke(BUN, env, appSmoke);
          expect(json).toEqual({ ...expected, runtime: `bun ${bunVersion}` });
        },
      });

      await t.step({
        name: `the TypeScript sources under Bun ${bunVersion ?? "(not installed)"}`,
        ignore: !bunVersion,
        fn: async () => {
          const { json } = await runSmoke(BUN, {
            ...env,
            QFIELDCLOUD_SDK_MODULE: pathToFileURL(`${ROOT}mod.ts`).href,
          });
          expect(json).toEqual({ ...expected, runtime: `bun ${bunVersion}` });
        },
      });

      await t.step("a missing credential is one clear line and exit code 1", async () => {
        const output = await new Deno.Command(NODE, {
          args: [appSmoke],
          env: {
            QFIELDCLOUD_URL: server.url,
            QFIELDCLOUD_TOKEN: "",
            QFIELDCLOUD_USERNAME: "",
          },
          stdout: "piped",
          stderr: "piped",
        }).output();
        expect(output.code).toBe(1);
        expect(new TextDecoder().decode(output.stderr)).toBe(
          "node_smoke: Set QFIELDCLOUD_TOKEN, or QFIELDCLOUD_USERNAME and QFIELDCLOUD_PASSWORD\n",
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await server.close();
    }
  },
});
