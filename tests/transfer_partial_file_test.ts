import { expect } from "expect";
import { hostname } from "node:os";
import { join } from "node:path";
import { claimPartial, isAbandonedPartial, partialPrefix } from "../src/transfer/partial_file.ts";
import { downloadFile } from "../src/transfer/download.ts";
import { deadPid } from "./fixtures/dead_pid.ts";
import { STALE_AFTER_MS } from "../src/transfer/live_process.ts";
import { transferFixture } from "./fixtures/transfer_setup.ts";

/** The host part of partial names on this machine, read back from a fresh claim. */
async function ownName(dir: string, prefix: string) {
  const partial = await claimPartial(dir, prefix, []);
  partial.release();
  return partial.path.slice(dir.length + 1);
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("partial files: one writer each, abandoned ones taken over", async (t) => {
  const target = "/somewhere/roads.gpkg";
  const prefix = partialPrefix(target, "etag-1");
  expect(prefix.startsWith(partialPrefix(target))).toBe(true);
  expect(prefix).not.toBe(partialPrefix(target, "etag-2"));
  expect(hostname()).toBeTruthy();

  await t.step("no partial: a new name of this run's own, pid in it", async () => {
    await withDir(async (dir) => {
      const partial = await claimPartial(dir, prefix, []);
      expect(partial.takenOver).toBe(false);
      expect(partial.path).toMatch(
        new RegExp(`/\\${prefix}\\.${Deno.pid}-[0-9a-f]{8}-[0-9a-f]{8}\\.part$`),
      );
      // While this run writes it, it is not abandoned; once released, it is.
      const name = partial.path.slice(dir.length + 1);
      expect(isAbandonedPartial(name)).toBe(false);
      partial.release();
      expect(isAbandonedPartial(name)).toBe(true);
    });
  });

  await t.step("a partial of a killed run is renamed to this run's name", async () => {
    await withDir(async (dir) => {
      const own = await ownName(dir, prefix);
      const dead = own.replace(`.${Deno.pid}-`, `.${await deadPid()}-`);
      await Deno.writeTextFile(join(dir, dead), "first bytes");
      const partial = await claimPartial(dir, prefix, ["other.txt", dead]);
      expect(partial.takenOver).toBe(true);
      expect(await Deno.readTextFile(partial.path)).toBe("first bytes");
      await expect(Deno.stat(join(dir, dead))).rejects.toThrow(Deno.errors.NotFound);
      partial.release();
    });
  });

  await t.step("a live run's partial, of another process or this one, is left alone", async () => {
    await withDir(async (dir) => {
      const own = await ownName(dir, prefix);
      const live = own.replace(`.${Deno.pid}-`, `.${Deno.ppid}-`);
      await Deno.writeTextFile(join(dir, live), "theirs");
      const first = await claimPartial(dir, prefix, [live]);
      expect(first.takenOver).toBe(false);
      await Deno.writeTextFile(first.path, "mine");
      const second = await claimPartial(dir, prefix, [live, first.path.slice(dir.length + 1)]);
      expect(second.takenOver).toBe(false);
      expect(second.path).not.toBe(first.path);
      expect(await Deno.readTextFile(join(dir, live))).toBe("theirs");
      expect(await Deno.readTextFile(first.path)).toBe("mine");
      first.release();
      second.release();
    });
  });

  await t.step("another host's partial is left alone; an older version's is resumed", async () => {
    await withDir(async (dir) => {
      const own = await ownName(dir, prefix);
      const elsewhere = own.replace(/-[0-9a-f]{8}-([0-9a-f]{8})\.part$/, "-00000000-$1.part");
      expect(isAbandonedPartial(elsewhere)).toBe(false);
      const legacy = `${prefix}.part`;
      await Deno.writeTextFile(join(dir, legacy), "old");
      const partial = await claimPartial(dir, prefix, [elsewhere, legacy]);
      expect(partial.takenOver).toBe(true);
      expect(await Deno.readTextFile(partial.path)).toBe("old");
      partial.release();
    });
  });

  await t.step("a partial not changed for long is abandoned, even with a live pid", async () => {
    await withDir(async (dir) => {
      const own = await ownName(dir, prefix);
      const live = own.replace(`.${Deno.pid}-`, `.${Deno.ppid}-`); // a live pid, perhaps reused
      const elsewhere = own.replace(/-[0-9a-f]{8}-([0-9a-f]{8})\.part$/, "-00000000-$1.part");
      const longAgo = Date.now() - STALE_AFTER_MS - 1000;
      for (const name of [live, elsewhere]) {
        expect(isAbandonedPartial(name)).toBe(false);
        expect(isAbandonedPartial(name, longAgo)).toBe(true);
      }
    });
  });

  await t.step("of several claims of one abandoned partial, exactly one gets it", async () => {
    await withDir(async (dir) => {
      const own = await ownName(dir, prefix);
      const dead = own.replace(`.${Deno.pid}-`, `.${await deadPid()}-`);
      await Deno.writeTextFile(join(dir, dead), "once");
      const claims = await Promise.all(
        Array.from({ length: 6 }, () => claimPartial(dir, prefix, [dead])),
      );
      expect(claims.filter((c) => c.takenOver)).toHaveLength(1);
      expect(new Set(claims.map((c) => c.path)).size).toBe(6);
      for (const c of claims) c.release();
    });
  });

  await t.step("names that are not partial files are never abandoned", () => {
    for (const name of ["notes.txt", ".qfc-x.part", `${prefix}.12-abc-def.part`]) {
      expect(isAbandonedPartial(name)).toBe(false);
    }
  });
});

Deno.test("a stale partial without an expected etag is neither taken as complete nor resumed", async (t) => {
  const f = await transferFixture();
  try {
    const bytes = "the server's bytes";
    await f.server.putFile(f.projectId, "plain.txt", bytes);
    await t.step("same size as the file: downloaded again, not put in place", async () => {
      const target = join(f.dir, "a", "plain.txt");
      await Deno.mkdir(join(f.dir, "a"));
      // An older version's partial (no owner): abandoned, the same (unknown) content.
      const stale = join(f.dir, "a", `${partialPrefix(target, "")}.part`);
      await Deno.writeTextFile(stale, "X".repeat(bytes.length));
      f.server.clearRequests();
      const result = await downloadFile(f.core, f.projectId, "plain.txt", target, {
        size: bytes.length,
      });
      expect(result.status).toBe("SUCCESS");
      expect(await Deno.readTextFile(target)).toBe(bytes);
      expect(f.server.requests.map((r) => r.headers.get("range"))).toEqual([null]);
    });
    await t.step("size unknown: no Range request on a stale start", async () => {
      const target = join(f.dir, "b", "plain.txt");
      await Deno.mkdir(join(f.dir, "b"));
      const stale = join(f.dir, "b", `${partialPrefix(target, "")}.part`);
      await Deno.writeTextFile(stale, "XXXX");
      f.server.clearRequests();
      await downloadFile(f.core, f.projectId, "plain.txt", target);
      expect(await Deno.readTextFile(target)).toBe(bytes);
      expect(f.server.requests.map((r) => r.headers.get("range"))).toEqual([null]);
    });
  } finally {
    await f.close();
  }
});
