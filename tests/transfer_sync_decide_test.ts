import { expect } from "expect";
import {
  type DecideOptions,
  decideSync,
  type SyncDecision,
  type SyncDirection,
  type SyncFileState,
} from "../src/transfer/sync_decide.ts";

/** A short form of a decision: the action, "+record:X", "+forget", "conflict", "(backup)". */
function short(decision: SyncDecision): string {
  switch (decision.kind) {
    case "none":
      return decision.record === undefined
        ? "none"
        : decision.record === null
        ? "none+forget"
        : `none+record:${decision.record}`;
    case "conflict":
      return decision.kept ? `conflict(kept ${decision.kept})` : "conflict";
    default:
      return `${decision.kind}${decision.conflict ? "!" : ""}${decision.backup ? "(backup)" : ""}`;
  }
}

const l = (etag?: string) => ({ etag });
const r = (etag: string) => ({ etag });

interface Row {
  row: string;
  file: SyncFileState;
  /** Expected outcome per command without --delete, then with --delete (sync always deletes). */
  pull: [string, string];
  push: [string, string];
  sync: string;
}

// The rows of the decision table, with a previous state (base "B") and without.
const ROWS: Row[] = [
  {
    row: "unchanged, unchanged",
    file: { local: l("B"), remote: r("B"), base: "B" },
    pull: ["none", "none"],
    push: ["none", "none"],
    sync: "none",
  },
  {
    row: "changed locally, unchanged on the cloud",
    file: { local: l("L"), remote: r("B"), base: "B" },
    pull: ["none", "none"],
    push: ["upload", "upload"],
    sync: "upload",
  },
  {
    row: "deleted locally, unchanged on the cloud",
    file: { remote: r("B"), base: "B" },
    pull: ["none", "none"],
    push: ["none", "delete_remote"],
    sync: "delete_remote",
  },
  {
    row: "unchanged locally, changed on the cloud",
    file: { local: l("B"), remote: r("R"), base: "B" },
    pull: ["download", "download"],
    push: ["none", "none"],
    sync: "download",
  },
  {
    row: "unchanged locally, deleted on the cloud",
    file: { local: l("B"), base: "B" },
    pull: ["none", "delete_local(backup)"],
    push: ["none", "none"],
    sync: "delete_local(backup)",
  },
  {
    row: "changed on both sides to the same bytes",
    file: { local: l("X"), remote: r("X"), base: "B" },
    pull: ["none+record:X", "none+record:X"],
    push: ["none+record:X", "none+record:X"],
    sync: "none+record:X",
  },
  {
    row: "deleted on both sides",
    file: { base: "B" },
    pull: ["none+forget", "none+forget"],
    push: ["none+forget", "none+forget"],
    sync: "none+forget",
  },
  {
    row: "changed on both sides, differently",
    file: { local: l("L"), remote: r("R"), base: "B" },
    pull: ["conflict", "conflict"],
    push: ["conflict", "conflict"],
    sync: "conflict",
  },
  {
    row: "changed locally, deleted on the cloud",
    file: { local: l("L"), base: "B" },
    pull: ["none", "conflict"],
    push: ["upload", "upload"],
    sync: "conflict",
  },
  {
    row: "deleted locally, changed on the cloud",
    file: { remote: r("R"), base: "B" },
    pull: ["download", "download"],
    push: ["none", "conflict"],
    sync: "conflict",
  },
  {
    row: "a GeoPackage whose -wal holds frames counts as changed locally",
    file: { local: l(undefined), remote: r("B"), base: "B" },
    pull: ["none", "none"],
    push: ["upload", "upload"],
    sync: "upload",
  },
  // No previous state.
  {
    row: "no state: same bytes on both sides",
    file: { local: l("X"), remote: r("X") },
    pull: ["none+record:X", "none+record:X"],
    push: ["none+record:X", "none+record:X"],
    sync: "none+record:X",
  },
  {
    row: "no state: local only",
    file: { local: l("L") },
    pull: ["none", "none"],
    push: ["upload", "upload"],
    sync: "upload",
  },
  {
    row: "no state: cloud only",
    file: { remote: r("R") },
    pull: ["download", "download"],
    push: ["none", "none"],
    sync: "download",
  },
  {
    row: "no state: different bytes",
    file: { local: l("L"), remote: r("R") },
    pull: ["conflict", "conflict"],
    push: ["conflict", "conflict"],
    sync: "conflict",
  },
  {
    row: "no state, neither side",
    file: {},
    pull: ["none", "none"],
    push: ["none", "none"],
    sync: "none",
  },
];

Deno.test("decideSync: every row of the decision table, for pull, push and sync", async (t) => {
  for (const row of ROWS) {
    await t.step(row.row, () => {
      const got = (direction: SyncDirection, del: boolean) =>
        short(decideSync(row.file, { direction, delete: del }));
      expect({
        pull: [got("pull", false), got("pull", true)],
        push: [got("push", false), got("push", true)],
        sync: got("sync", false),
      }).toEqual({ pull: row.pull, push: row.push, sync: row.sync });
    });
  }
});

/** Conflicts and how each --prefer resolves them, per command (with --delete for pull/push). */
const CONFLICTS: {
  row: string;
  file: SyncFileState;
  cloud: Record<SyncDirection, string>;
  local: Record<SyncDirection, string>;
}[] = [
  {
    row: "changed on both sides, differently",
    file: { local: l("L"), remote: r("R"), base: "B" },
    cloud: { pull: "download!(backup)", push: "conflict(kept cloud)", sync: "download!(backup)" },
    local: { pull: "conflict(kept local)", push: "upload!", sync: "upload!" },
  },
  {
    row: "no state: different bytes",
    file: { local: l("L"), remote: r("R") },
    cloud: { pull: "download!(backup)", push: "conflict(kept cloud)", sync: "download!(backup)" },
    local: { pull: "conflict(kept local)", push: "upload!", sync: "upload!" },
  },
  {
    row: "changed locally, deleted on the cloud",
    file: { local: l("L"), base: "B" },
    cloud: { pull: "delete_local!(backup)", push: "upload", sync: "delete_local!(backup)" },
    local: { pull: "conflict(kept local)", push: "upload", sync: "upload!" },
  },
  {
    row: "deleted locally, changed on the cloud",
    file: { remote: r("R"), base: "B" },
    cloud: { pull: "download", push: "conflict(kept cloud)", sync: "download!" },
    // Deleting a changed cloud file would take all its versions: left alone.
    local: { pull: "download", push: "conflict", sync: "conflict" },
  },
];

Deno.test("decideSync: conflicts resolved by --prefer cloud and --prefer local", async (t) => {
  for (const row of CONFLICTS) {
    await t.step(row.row, () => {
      const got = (prefer: "local" | "cloud") =>
        Object.fromEntries(
          (["pull", "push", "sync"] as const).map((direction) => {
            const options: DecideOptions = { direction, delete: true, prefer };
            return [direction, short(decideSync(row.file, options))];
          }),
        );
      expect({ cloud: got("cloud"), local: got("local") }).toEqual({
        cloud: row.cloud,
        local: row.local,
      });
    });
  }
});

Deno.test("decideSync: --prefer local says the cloud keeps the old bytes as a version", () => {
  const decision = decideSync({ local: l("L"), remote: r("R"), base: "B" }, {
    direction: "sync",
    prefer: "local",
  });
  expect(decision).toEqual({
    kind: "upload",
    reason: "changed on both sides; --prefer local (the cloud keeps its bytes as a version)",
    conflict: true,
    backup: false,
  });
});

Deno.test("decideSync: a conflict without --prefer names what happened on each side", () => {
  expect(decideSync({ local: l("L"), base: "B" }, { direction: "sync" })).toEqual({
    kind: "conflict",
    reason: "changed locally, deleted on the cloud",
  });
});
