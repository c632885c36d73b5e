/**
 * `deno task build:npm`: builds the library for Node and Bun without JSR, into
 * `dist/npm/` (or the folder given with `--out DIR`):
 *
 * - `mod.js`: one ESM bundle of `mod.ts` (`deno bundle`), no dependencies;
 * - `types/`: its type declarations, emitted by the TypeScript compiler;
 * - `package.json`: `@qfieldcloud/sdk` with `exports` pointing at both.
 *
 * Install it into a Node or Bun project with `npm install /path/to/clone/dist/npm`
 * (or `bun add /path/to/clone/dist/npm`), or pack it with `npm pack dist/npm`.
 *
 * @module
 */
import ts from "typescript";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(new URL("..", import.meta.url).pathname);

const { values } = parseArgs({
  args: Deno.args,
  options: { out: { type: "string", default: join(ROOT, "dist", "npm") } },
});
const out = resolve(values.out!);

await Deno.remove(out, { recursive: true }).catch((error) => {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
});
await Deno.mkdir(out, { recursive: true });

// The bundle: deno bundle resolves everything mod.ts imports into one ESM file.
const bundled = await new Deno.Command(Deno.execPath(), {
  args: ["bundle", "--quiet", "--output", join(out, "mod.js"), "mod.ts"],
  cwd: ROOT,
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!bundled.success) throw new Error(`deno bundle exited with ${bundled.code}`);

// The declarations: only emitted, not checked again (`deno task check` checks the sources).
const typesDir = join(out, "types");
const program = ts.createProgram([join(ROOT, "mod.ts")], {
  declaration: true,
  emitDeclarationOnly: true,
  allowImportingTsExtensions: true,
  noCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  types: [],
  skipLibCheck: true,
  rootDir: ROOT,
  outDir: typesDir,
});
const emitted = program.emit();
const errors = emitted.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
if (emitted.emitSkipped || errors.length > 0) {
  const host = {
    getCanonicalFileName: (f: string) => f,
    getCurrentDirectory: () => ROOT,
    getNewLine: () => "\n",
  };
  throw new Error(`Type declarations failed:\n${ts.formatDiagnostics(errors, host)}`);
}
// Relative `.ts` imports become `.js`, which every TypeScript version maps to the `.d.ts`.
for await (const path of declarationFiles(typesDir)) {
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(
    path,
    text.replace(/((?:from|import\()\s*["']\.{1,2}\/[^"']*?)\.ts(["'])/g, "$1.js$2"),
  );
}

const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
const manifest = {
  name: config.name,
  version: config.version,
  description: "QFieldCloud API client: every call of the official Python SDK, plus file transfers",
  license: config.license,
  type: "module",
  main: "./mod.js",
  types: "./types/mod.d.ts",
  exports: { ".": { types: "./types/mod.d.ts", default: "./mod.js" } },
  engines: { node: ">=20.3" },
  sideEffects: false,
};
await Deno.writeTextFile(join(out, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
await Deno.copyFile(join(ROOT, "LICENSE"), join(out, "LICENSE"));
console.error(
  `Built ${manifest.name}@${manifest.version} for Node and Bun in ${relative(ROOT, out) || out}`,
);

async function* declarationFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* declarationFiles(path);
    else if (entry.name.endsWith(".d.ts")) yield path;
  }
}
