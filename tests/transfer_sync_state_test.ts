import { expect } from "expect";
import { join } from "node:path";
import {
  QfcFolderBoundException,
  STATE_DIR_NAME,
  SyncStateStore,
} from "../src/transfer/sync_state.ts";

const BINDING = { server: "https://example.org/api/v1/", projectId: "p-1" };

async function withDir(fn: (dir: string) => Promise<void> | void) {
  const dir = await Deno.makeTempDir({ prefix: "qfc-state-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SyncStateStore: a folder never synced has no bases, no warning, and no state folder", () =>
  withDir((dir) => {
    const { store, warning } = SyncStateStore.load(dir, BINDING);
    expect(warning).toBeUndefined();
    expect(store.size).toBe(0);
    expect(() => Deno.statSync(join(dir, STATE_DIR_NAME))).toThrow();
  }));

Deno.test("SyncStateStore: records survive close and load", () =>
  withDir((dir) => {
    const { store } = SyncStateStore.load(dir, BINDING);
    store.bind();
    store.record("a.txt", "etag-a");
    store.record("b/c.txt", "etag-c");
    store.record("a.txt", "etag-a2");
    store.record("b/c.txt", undefined);
    store.close();
    const again = SyncStateStore.load(dir, BINDING).store;
    expect(Object.fromEntries([...again.names()].map((n) => [n, again.base(n)]))).toEqual({
      "a.txt": "etag-a2",
    });
    expect(() => Deno.statSync(join(dir, STATE_DIR_NAME, "sync-state.journal"))).toThrow();
  }));

Deno.test("SyncStateStore: a run killed before close keeps every record, even a torn last line", () =>
  withDir((dir) => {
    const { store } = SyncStateStore.load(dir, BINDING);
    store.bind();
    for (let i = 0; i < 100; i++) store.record(`f${i}`, `e${i}`);
    // No close(): the process died. A half-written line follows.
    Deno.writeTextFileSync(join(dir, STATE_DIR_NAME, "sync-state.journal"), '{"n":"f10', {
      append: true,
    });
    const again = SyncStateStore.load(dir, BINDING).store;
    expect(again.size).toBe(100);
    expect(again.base("f99")).toBe("e99");
  }));

Deno.test("SyncStateStore: a first run killed before its snapshot still binds the folder", () =>
  withDir((dir) => {
    const { store } = SyncStateStore.load(dir, BINDING);
    store.bind();
    store.record("a", "e");
    Deno.removeSync(join(dir, STATE_DIR_NAME, "sync-state.json"));
    expect(SyncStateStore.load(dir, BINDING).store.base("a")).toBe("e");
    expect(() => SyncStateStore.load(dir, { ...BINDING, projectId: "p-2" })).toThrow(
      QfcFolderBoundException,
    );
  }));

Deno.test("SyncStateStore: a folder bound to another project or server is refused, naming both", () =>
  withDir((dir) => {
    const { store } = SyncStateStore.load(dir, BINDING);
    store.bind();
    store.close();
    expect(() => SyncStateStore.load(dir, { ...BINDING, projectId: "p-2" })).toThrow(
      /project "p-1", not project "p-2"/,
    );
    expect(() => SyncStateStore.load(dir, { ...BINDING, server: "https://other.org/api/v1/" }))
      .toThrow(
        /"p-1" on "https:\/\/example.org\/api\/v1\/", not project "p-1" on "https:\/\/other/,
      );
    // A trailing slash or the case of the host does not make another server.
    expect(SyncStateStore.load(dir, { ...BINDING, server: "https://EXAMPLE.org/api/v1" }).warning)
      .toBeUndefined();
  }));

Deno.test("SyncStateStore: a corrupt, unreadable or vanished state means never synced, with a warning", async (t) => {
  await t.step("corrupt", () =>
    withDir((dir) => {
      Deno.mkdirSync(join(dir, STATE_DIR_NAME));
      Deno.writeTextFileSync(join(dir, STATE_DIR_NAME, "sync-state.json"), "{not json");
      const { store, warning } = SyncStateStore.load(dir, BINDING);
      expect(store.size).toBe(0);
      expect(warning).toMatch(/corrupt; treating every file as never synced/);
      // Loading changes nothing; the next real run keeps the corrupt file aside, then replaces it.
      expect(Deno.readDirSync(join(dir, STATE_DIR_NAME)).toArray().map((e) => e.name)).toEqual([
        "sync-state.json",
      ]);
      store.bind();
      store.record("a", "e");
      store.close();
      expect(SyncStateStore.load(dir, BINDING).store.base("a")).toBe("e");
      const kept = Deno.readDirSync(join(dir, STATE_DIR_NAME)).toArray()
        .map((e) => e.name).filter((name) => name.startsWith("sync-state.json.corrupt-"));
      expect(kept.length).toBe(1);
      expect(Deno.readTextFileSync(join(dir, STATE_DIR_NAME, kept[0]))).toBe("{not json");
    }));
  await t.step("wrong shape", () =>
    withDir((dir) => {
      Deno.mkdirSync(join(dir, STATE_DIR_NAME));
      Deno.writeTextFileSync(
        join(dir, STATE_DIR_NAME, "sync-state.json"),
        JSON.stringify({ version: 1, server: BINDING.server, project_id: "p-1", files: { a: 3 } }),
      );
      expect(SyncStateStore.load(dir, BINDING).warning).toMatch(/corrupt/);
    }));
  await t.step("unreadable (a folder in its place)", () =>
    withDir((dir) => {
      Deno.mkdirSync(join(dir, STATE_DIR_NAME, "sync-state.json"), { recursive: true });
      const { store, warning } = SyncStateStore.load(dir, BINDING);
      expect(store.size).toBe(0);
      expect(warning).toMatch(/Could not read the sync state/);
    }));
  await t.step("vanished", () =>
    withDir((dir) => {
      Deno.mkdirSync(join(dir, STATE_DIR_NAME));
      // A state folder holding only a run's lock is a first run, not a lost state.
      Deno.writeTextFileSync(join(dir, STATE_DIR_NAME, "lock"), "{}");
      expect(SyncStateStore.load(dir, BINDING).warning).toBeUndefined();
      Deno.writeTextFileSync(join(dir, STATE_DIR_NAME, "hash-cache.json"), "{}");
      expect(SyncStateStore.load(dir, BINDING).warning).toMatch(/No sync state/);
    }));
});

Deno.test("SyncStateStore: a corrupt state naming another project, or a journal bound to one, is refused", async (t) => {
  await t.step("the corrupt snapshot's readable project id", () =>
    withDir((dir) => {
      Deno.mkdirSync(join(dir, STATE_DIR_NAME));
      const snapshot = join(dir, STATE_DIR_NAME, "sync-state.json");
      Deno.writeTextFileSync(
        snapshot,
        '{"version":1,"server":"https://example.org/api/v1/","project_id":"p-2","files":{"a":',
      );
      let error: unknown;
      try {
        SyncStateStore.load(dir, BINDING);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(QfcFolderBoundException);
      expect((error as Error).message).toContain('project "p-2", not project "p-1"');
      expect(Deno.readTextFileSync(snapshot)).toMatch(/^\{"version"/);
    }));
  await t.step(
    "the journal's binding beside a corrupt or unreadable snapshot",
    () =>
      withDir((dir) => {
        Deno.mkdirSync(join(dir, STATE_DIR_NAME));
        Deno.writeTextFileSync(join(dir, STATE_DIR_NAME, "sync-state.json"), "\0\0garbage");
        Deno.writeTextFileSync(
          join(dir, STATE_DIR_NAME, "sync-state.journal"),
          JSON.stringify({ server: BINDING.server, project_id: "p-3" }) + "\n",
        );
        expect(() => SyncStateStore.load(dir, BINDING)).toThrow(/project "p-3", not project "p-1"/);
        Deno.removeSync(join(dir, STATE_DIR_NAME, "sync-state.json"));
        Deno.mkdirSync(join(dir, STATE_DIR_NAME, "sync-state.json"));
        expect(() => SyncStateStore.load(dir, BINDING)).toThrow(QfcFolderBoundException);
      }),
  );
  await t.step("a valid snapshot with a journal bound elsewhere", () =>
    withDir((dir) => {
      const { store } = SyncStateStore.load(dir, BINDING);
      store.bind();
      store.close();
      Deno.writeTextFileSync(
        join(dir, STATE_DIR_NAME, "sync-state.journal"),
        JSON.stringify({ server: BINDING.server, project_id: "p-4" }) + "\n",
      );
      expect(() => SyncStateStore.load(dir, BINDING)).toThrow(/project "p-4"/);
    }));
});

Deno.test("SyncStateStore: recording 20,000 files appends, never rewrites", () =>
  withDir((dir) => {
    const { store } = SyncStateStore.load(dir, BINDING);
    store.bind();
    const journal = join(dir, STATE_DIR_NAME, "sync-state.journal");
    const snapshot = join(dir, STATE_DIR_NAME, "sync-state.json");
    const snapshotBefore = Deno.statSync(snapshot).size;
    for (let i = 0; i < 20_000; i++) store.record(`dir${i % 200}/file${i}.bin`, `etag${i}`);
    expect(Deno.statSync(snapshot).size).toBe(snapshotBefore);
    expect(Deno.readTextFileSync(journal).split("\n").length).toBe(20_002);
    store.close();
    expect(SyncStateStore.load(dir, BINDING).store.size).toBe(20_000);
  }));
