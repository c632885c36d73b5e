/**
 * One run per folder for push, pull and sync: a second run exits 75 naming the first run's pid,
 * and a lock left by a killed run is taken over.
 */
import { expect } from "expect";
import { join } from "node:path";
import { acquireFolderLock } from "../mod.ts";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { startTestServer } from "../testing/mod.ts";
import { runCli, USERS } from "./cli_harness.ts";

const [ALICE] = USERS;

Deno.test("push, pull and sync take one folder at a time", async (t) => {
  await using server = await startTestServer({ users: [ALICE], quiet: true });
  const dir = await Deno.makeTempDir({ prefix: "qfc_sync_lock_" });
  try {
    const folder = join(dir, "survey");
    await Deno.mkdir(folder);
    await Deno.writeTextFile(join(folder, "a.txt"), "a");
    const projectId = server.addProject({ name: "survey", owner: ALICE.username }).id;
    const env = {
      QFIELDCLOUD_URL: server.url,
      QFIELDCLOUD_TOKEN: server.createToken(ALICE.username),
      QFIELDCLOUD_CONFIG_DIR: `${dir}/config`,
    };
    const lockFile = join(folder, ".qfieldcloud", "lock");

    for (const command of ["push", "pull", "sync"]) {
      await t.step(
        `${command} while another run holds the folder: exit 75, nothing done`,
        async () => {
          const lock = await acquireFolderLock(folder, { operation: "sync" });
          try {
            server.clearRequests();
            const run = await runCli([command, projectId, folder], { env });
            expect(run.code).toBe(ExitCode.BUSY);
            expect(run.stderr).toContain(`another "sync" run (pid ${Deno.pid} on host`);
            expect(server.requests).toEqual([]);
          } finally {
            await lock.release();
          }
        },
      );
    }

    await t.step("a dry run takes no lock and leaves the folder as it was", async () => {
      const lock = await acquireFolderLock(folder);
      try {
        const run = await runCli(["sync", projectId, folder, "--dry-run"], { env });
        expect(run.code).toBe(0);
      } finally {
        await lock.release();
      }
    });

    await t.step("the lock of a killed run is taken over, and released at the end", async () => {
      const child = new Deno.Command(Deno.execPath(), { args: ["--version"], stdout: "null" })
        .spawn();
      await child.status;
      await Deno.mkdir(join(folder, ".qfieldcloud"), { recursive: true });
      const { hostname } = await import("node:os");
      await Deno.writeTextFile(
        lockFile,
        JSON.stringify({ pid: child.pid, hostname: hostname(), started: "x", token: "t" }),
      );
      const run = await runCli(["push", projectId, folder], { env });
      expect(run.code).toBe(0);
      await expect(Deno.stat(lockFile)).rejects.toThrow(Deno.errors.NotFound);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
