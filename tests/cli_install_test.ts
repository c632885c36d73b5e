// The README's line that puts qfieldcloud-cli on the PATH from a clone works as written.
import { expect } from "expect";
import { VERSION } from "../mod.ts";
import { CLI_V8_FLAGS } from "../scripts/compile.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const INSTALL = `deno install -g -A --config deno.json ${CLI_V8_FLAGS} -n qfieldcloud-cli ./cli.ts`;

Deno.test("the README's deno install line puts a working qfieldcloud-cli on the PATH", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  expect(readme).toContain(INSTALL);
  const installRoot = await Deno.makeTempDir({ prefix: "qfc-install-" });
  try {
    const [command, ...args] = INSTALL.split(" ");
    expect(command).toBe("deno");
    const installed = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      env: { DENO_INSTALL_ROOT: installRoot },
      stdout: "piped",
      stderr: "piped",
    }).output();
    expect([installed.code, new TextDecoder().decode(installed.stderr)]).toEqual([
      0,
      expect.stringContaining("Successfully installed qfieldcloud-cli"),
    ]);
    // The installed command passes the CLI's V8 flag on to Deno.
    const shim = await Deno.readTextFile(`${installRoot}/bin/qfieldcloud-cli`);
    expect(shim).toContain(CLI_V8_FLAGS);
    // Run from elsewhere, as a user on the PATH would.
    const ran = await new Deno.Command(`${installRoot}/bin/qfieldcloud-cli`, {
      args: ["--version"],
      cwd: installRoot,
      stdout: "piped",
      stderr: "piped",
    }).output();
    expect([ran.code, new TextDecoder().decode(ran.stdout).trim()]).toEqual([0, VERSION]);
  } finally {
    await Deno.remove(installRoot, { recursive: true });
  }
});
