/** The lock file that keeps two CLI runs from renewing one saved session twice. */

import { expect } from "expect";
import { withFileLock } from "../src/cli/file_lock.ts";

Deno.test("withFileLock runs one holder at a time and releases the lock", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qfc_lock_" });
  try {
    const path = `${dir}/sub/credentials.json.lock`; // the directory is made when missing
    const order: string[] = [];
    const hold = (name: string) =>
      withFileLock(path, async () => {
        order.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, 30));
        order.push(`${name} out`);
        return name;
      }, { pollMs: 5 });
    expect(await Promise.all([hold("a"), hold("b")])).toEqual(["a", "b"]);
    // Either may take the lock first (under load, b's first try can win); they never overlap.
    const first = order[0].split(" ")[0];
    const second = first === "a" ? "b" : "a";
    expect(order).toEqual([`${first} in`, `${first} out`, `${second} in`, `${second} out`]);
    await expect(Deno.stat(path)).rejects.toThrow(Deno.errors.NotFound);
    await expect(withFileLock(path, () => Promise.reject(new Error("boom")))).rejects.toThrow(
      "boom",
    );
    await expect(Deno.stat(path)).rejects.toThrow(Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withFileLock takes over a lock left by a run that died", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qfc_lock_" });
  try {
    const path = `${dir}/credentials.json.lock`;
    await Deno.writeTextFile(path, "12345\n");
    const old = new Date(Date.now() - 10 * 60_000);
    await Deno.utime(path, old, old);
    expect(await withFileLock(path, () => Promise.resolve("taken"))).toBe("taken");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
