/**
 * Whether the process that left something behind (a folder lock, a partial
 * download) still runs, so that what it left can be taken over only when it
 * is certainly gone. Only `node:fs` and `node:process`: the same on Deno,
 * Node and Bun.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";

/**
 * Whether a process of this host with this pid exists. A pid can be reused,
 * so `true` may mean another process: callers treat it as "maybe alive" and
 * leave its things alone.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { isProcessAlive } from "./live_process.ts";
 * console.log(isProcessAlive(process.pid)); // true
 * ```
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM"; // alive, owned by someone else
  }
}

/**
 * Linux: a process's start time, in clock ticks after boot, from `/proc`
 * (`undefined` elsewhere, or when there is no such process). A lock that
 * records its owner's start time can tell a reused pid from its owner.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { processStartOf } from "./live_process.ts";
 * console.log(processStartOf(process.pid)); // "123456" on Linux, undefined elsewhere
 * ```
 */
export function processStartOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces), which ends with the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
