import { expect } from "expect";
import { hostname } from "node:os";
import { describeError, formatErrorLine } from "../src/cli/errors.ts";
import { ExitCode } from "../src/cli/exit_codes.ts";
import { join } from "node:path";
import { acquireFolderLock, QfcFolderBusyException } from "../src/transfer/folder_lock.ts";
import { QfcException } from "../src/errors.ts";
import { hostIdentity, STALE_AFTER_MS } from "../src/transfer/live_process.ts";

const FIXTURE = new URL("./fixtures/hold_folder_lock.ts", import.meta.url).pathname;

/** A process holding (or failing to take) a folder's lock; closing its stdin releases it. */
interface Holder {
  child: Deno.ChildProcess;
  /** Its first line: `{locked, pid}` or `{busy, pid}`. */
  first: { locked?: boolean; busy?: boolean; pid?: number; message?: string };
  /** Closes stdin (the holder releases and exits) and waits for the exit. */
  finish(): Promise<Deno.CommandStatus>;
}

async function spawnHolder(
  folder: string,
  command = Deno.execPath(),
  script = FIXTURE,
  permissions = ["-A"],
) {
  const args = command === Deno.execPath()
    ? ["run", ...permissions, script, folder]
    : [script, folder];
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const next = await lines.read();
    if (next.done) throw new Error(`the lock holder exited before saying anything: ${text}`);
    text += next.value;
  }
  lines.releaseLock();
  const holder: Holder = {
    child,
    first: JSON.parse(text.slice(0, text.indexOf("\n"))),
    async finish() {
      await child.stdin.close().catch(() => {});
      await child.stdout.cancel().catch(() => {});
      return await child.status;
    },
  };
  return holder;
}

async function withFolder(fn: (folder: string) => Promise<void>) {
  const folder = await Deno.makeTempDir();
  try {
    await fn(folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

/** Runs `fn` while this process holds the folder's lock. */
async function whileHeld(folder: string, fn: () => Promise<void>, operation?: string) {
  const lock = await acquireFolderLock(folder, { operation });
  try {
    await fn();
  } finally {
    await lock.release();
  }
}

function lockPath(folder: string) {
  return join(folder, ".qfieldcloud", "lock");
}

/** A lock as left by a process that was killed: it is the pid of a process that is gone. */
async function killedHolderLock(folder: string): Promise<number> {
  const holder = await spawnHolder(folder);
  expect(holder.first.locked).toBe(true);
  holder.child.kill("SIGKILL");
  await holder.finish();
  return holder.first.pid!;
}

Deno.test("folder lock: one run at a time in one process, released for the next", async () => {
  await withFolder(async (folder) => {
    const lock = await acquireFolderLock(folder, { operation: "sync" });
    const held = JSON.parse(await Deno.readTextFile(lockPath(folder)));
    expect(held).toMatchObject({ pid: Deno.pid, hostname: hostname(), operation: "sync" });
    const second = acquireFolderLock(folder, { operation: "pull" });
    await expect(second).rejects.toThrow(QfcFolderBusyException);
    const error = await second.catch((e) => e);
    expect(error.pid).toBe(Deno.pid);
    expect(error.message).toContain(`pid ${Deno.pid}`);
    expect(error.message).toContain('another "sync" run');
    expect(error.message).toContain(lockPath(folder));
    await lock.release();
    await lock.release(); // twice is harmless
    await expect(Deno.stat(lockPath(folder))).rejects.toThrow(Deno.errors.NotFound);
    await whileHeld(folder, async () => {}); // free again
  });
});

Deno.test("folder lock: concurrent takers in one process, exactly one wins", async () => {
  await withFolder(async (folder) => {
    const tries = await Promise.allSettled(
      Array.from({ length: 8 }, () => acquireFolderLock(folder)),
    );
    const won = tries.filter((t) => t.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const t of tries) {
      if (t.status === "rejected") expect(t.reason).toBeInstanceOf(QfcFolderBusyException);
    }
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });
});

Deno.test("folder lock: a live run in another process keeps it; its pid is named", async () => {
  await withFolder(async (folder) => {
    const holder = await spawnHolder(folder);
    try {
      expect(holder.first.locked).toBe(true);
      const error = await acquireFolderLock(folder).catch((e) => e);
      expect(error).toBeInstanceOf(QfcFolderBusyException);
      expect(error.pid).toBe(holder.first.pid);
      expect(error.message).toContain(`pid ${holder.first.pid}`);
    } finally {
      expect((await holder.finish()).code).toBe(0);
    }
    // Released by its owner on the way out.
    await expect(Deno.stat(lockPath(folder))).rejects.toThrow(Deno.errors.NotFound);
  });
});

Deno.test("folder lock: the lock of a process killed with kill -9 is taken over", async () => {
  await withFolder(async (folder) => {
    const dead = await killedHolderLock(folder);
    expect(JSON.parse(await Deno.readTextFile(lockPath(folder))).pid).toBe(dead);
    await whileHeld(folder, async () => {
      expect(JSON.parse(await Deno.readTextFile(lockPath(folder))).pid).toBe(Deno.pid);
    });
  });
});

Deno.test("folder lock: of several processes finding one stale lock, exactly one gets it", async () => {
  await withFolder(async (folder) => {
    await killedHolderLock(folder);
    const holders = await Promise.all(Array.from({ length: 4 }, () => spawnHolder(folder)));
    try {
      const winners = holders.filter((h) => h.first.locked);
      expect(winners).toHaveLength(1);
      for (const h of holders) {
        if (h.first.busy) expect(h.first.pid).toBe(winners[0].first.pid);
      }
    } finally {
      for (const h of holders) await h.finish();
    }
  });
});

Deno.test("folder lock: a run that may not check pids finds a live lock busy, not stale", async () => {
  await withFolder(async (folder) => {
    const holder = await spawnHolder(folder);
    const restricted = ["--allow-read", "--allow-write", "--allow-env", "--allow-sys"];
    const taker = await spawnHolder(folder, Deno.execPath(), FIXTURE, restricted);
    try {
      expect(holder.first.locked).toBe(true);
      expect(taker.first).toMatchObject({ busy: true, pid: holder.first.pid });
      expect(taker.first.message).toContain("--allow-run");
    } finally {
      await taker.finish();
      await holder.finish();
    }
  });
});

Deno.test("folder lock: many takers in one process finding one stale lock, one gets it", async () => {
  for (let trial = 0; trial < 30; trial++) {
    await withFolder(async (folder) => {
      await Deno.mkdir(join(folder, ".qfieldcloud"));
      const stale = { pid: 2 ** 22 + 7, hostname: hostname(), host: hostIdentity(), token: "t" };
      await Deno.writeTextFile(lockPath(folder), JSON.stringify(stale));
      const tries = await Promise.allSettled(
        Array.from({ length: 6 }, () => acquireFolderLock(folder)),
      );
      const won = tries.filter((t) => t.status === "fulfilled");
      for (const t of won) {
        await (t as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
      }
      expect(won).toHaveLength(1);
    });
  }
});

Deno.test("folder lock: a folder that cannot hold a lock is a QfcException naming it", async () => {
  await withFolder(async (folder) => {
    const file = join(folder, "not-a-folder");
    await Deno.writeTextFile(file, "");
    const error = await acquireFolderLock(file).catch((e) => e);
    expect(error).toBeInstanceOf(QfcException);
    expect(error.message).toContain(`Cannot lock folder "${file}"`);
  });
});

Deno.test("folder lock: stale or not, by host, pid and readability", async (t) => {
  const write = (folder: string, content: string) =>
    Deno.mkdir(join(folder, ".qfieldcloud"), { recursive: true })
      .then(() => Deno.writeTextFile(lockPath(folder), content));
  const lockOf = (fields: Record<string, unknown>) =>
    JSON.stringify({ started: new Date().toISOString(), token: "t", ...fields });

  await t.step("another host's lock is never taken over", async () => {
    await withFolder(async (folder) => {
      await write(folder, lockOf({ pid: 2 ** 22 + 7, hostname: "elsewhere.example" }));
      const error = await acquireFolderLock(folder).catch((e) => e);
      expect(error).toBeInstanceOf(QfcFolderBusyException);
      expect(error.hostname).toBe("elsewhere.example");
    });
  });

  await t.step(
    "same hostname, another boot or pid namespace: a dead pid proves nothing",
    async () => {
      await withFolder(async (folder) => {
        const container = `${hostname()} boot=another pidns=pid:[1]`;
        await write(folder, lockOf({ pid: 2 ** 22 + 7, hostname: hostname(), host: container }));
        await expect(acquireFolderLock(folder)).rejects.toThrow(QfcFolderBusyException);
        // ... until its heartbeat has stopped for long enough.
        const old = new Date(Date.now() - STALE_AFTER_MS - 1000);
        await Deno.utime(lockPath(folder), old, old);
        await whileHeld(folder, async () => {});
      });
    },
  );

  await t.step(
    "a live pid (perhaps reused) whose lock is no longer refreshed is stale",
    async () => {
      await withFolder(async (folder) => {
        const live = { pid: Deno.ppid, hostname: hostname(), host: hostIdentity() };
        await write(folder, lockOf(live));
        await expect(acquireFolderLock(folder)).rejects.toThrow(QfcFolderBusyException);
        const old = new Date(Date.now() - STALE_AFTER_MS - 1000);
        await Deno.utime(lockPath(folder), old, old);
        await whileHeld(folder, async () => {});
      });
    },
  );

  await t.step("this process's pid with a token it does not hold: an earlier process", async () => {
    await withFolder(async (folder) => {
      await write(folder, lockOf({ pid: Deno.pid, hostname: hostname() }));
      await whileHeld(folder, async () => {});
    });
  });

  await t.step("an unreadable lock is taken over once it is old", async () => {
    await withFolder(async (folder) => {
      await write(folder, "");
      const old = new Date(Date.now() - 60_000);
      await Deno.utime(lockPath(folder), old, old);
      await whileHeld(folder, async () => {
        expect(JSON.parse(await Deno.readTextFile(lockPath(folder))).pid).toBe(Deno.pid);
      });
    });
  });

  await t.step("a release leaves another run's lock alone", async () => {
    await withFolder(async (folder) => {
      const lock = await acquireFolderLock(folder);
      const other = lockOf({ pid: 2 ** 22 + 7, hostname: "elsewhere.example", token: "x" });
      await Deno.writeTextFile(lockPath(folder), other);
      await lock.release();
      expect(await Deno.readTextFile(lockPath(folder))).toBe(other);
    });
  });
});

const nodeVersion = await new Deno.Command("node", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success).catch(() => false);

Deno.test({
  name: "folder lock: Node and Deno runs see each other's locks",
  ignore: !nodeVersion,
  async fn() {
    await withFolder(async (folder) => {
      const bundle = join(folder, "hold.mjs");
      const built = await new Deno.Command(Deno.execPath(), {
        args: ["bundle", "--quiet", "--output", bundle, FIXTURE],
        stdout: "null",
        stderr: "null",
      }).output();
      expect(built.success).toBe(true);
      const work = join(folder, "work");
      const node = await spawnHolder(work, "node", bundle);
      expect(node.first.locked).toBe(true);
      const error = await acquireFolderLock(work).catch((e) => e);
      expect(error.pid).toBe(node.first.pid);
      node.child.kill("SIGKILL");
      await node.finish();
      const lock = await acquireFolderLock(work);
      const blocked = await spawnHolder(work, "node", bundle);
      await blocked.finish();
      expect(blocked.first).toMatchObject({ busy: true, pid: Deno.pid });
      await lock.release();
    });
  },
});

Deno.test("folder lock: the CLI reports a busy folder with exit code 75 and the pid", async () => {
  await withFolder(async (folder) => {
    await whileHeld(folder, async () => {
      const error = await acquireFolderLock(folder).catch((e) => e);
      const report = describeError(error);
      expect(report.exitCode).toBe(ExitCode.BUSY);
      expect(ExitCode.BUSY).toBe(75);
      expect(formatErrorLine(report)).toContain(`another "push" run (pid ${Deno.pid} on host`);
    }, "push");
  });
});
