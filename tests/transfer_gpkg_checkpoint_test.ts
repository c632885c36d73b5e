import { expect } from "expect";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { openWalDatabase } from "./fixtures/wal_database.ts";
import {
  checkpointGpkg,
  QfcGpkgCheckpointException,
  walHasFrames,
} from "../src/transfer/gpkg_checkpoint.ts";

/** The rows the main file holds on its own, read from a copy without its -wal. */
function rowsInMainFile(path: string, dir: string): number {
  const copy = join(dir, "copy.sqlite");
  Deno.copyFileSync(path, copy);
  const db = new DatabaseSync(copy);
  try {
    return (db.prepare("SELECT count(*) AS n FROM trees").get() as { n: number }).n;
  } catch {
    return 0; // The table itself is still in the -wal.
  } finally {
    db.close();
    Deno.removeSync(copy);
  }
}

Deno.test("checkpointGpkg writes a -wal's frames into the GeoPackage while QGIS keeps it open", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "data.gpkg");
  const qgis = openWalDatabase(path, 50);
  try {
    expect(await walHasFrames(path)).toBe(true);
    expect(rowsInMainFile(path, dir)).toBe(0);
    await checkpointGpkg(path);
    expect(await walHasFrames(path)).toBe(false);
    expect(rowsInMainFile(path, dir)).toBe(50);
  } finally {
    qgis.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpointGpkg fails, saying what to do, while another connection reads", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "data.gpkg");
  const writer = openWalDatabase(path, 10);
  const reader = new DatabaseSync(path);
  try {
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) FROM trees").get();
    const error = await checkpointGpkg(path, { busyTimeoutMs: 50 }).catch((e) => e);
    expect(error).toBeInstanceOf(QfcGpkgCheckpointException);
    expect(error.message).toMatch(/is in use.*close the layer in QGIS or QField and try again/);
    expect(await walHasFrames(path)).toBe(true);
  } finally {
    reader.exec("ROLLBACK");
    reader.close();
    writer.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("walHasFrames is false without a -wal or with an empty one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a.gpkg");
    Deno.writeTextFileSync(path, "x");
    expect(await walHasFrames(path)).toBe(false);
    Deno.writeFileSync(`${path}-wal`, new Uint8Array(32));
    expect(await walHasFrames(path)).toBe(false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
