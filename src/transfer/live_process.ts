/**
 * Whether the run that left something behind (a folder lock, a partial
 * download) is certainly gone, so that what it left is taken over only then.
 * The one rule for both, in one place. Only `node:fs`, `node:os` and
 * `node:process`: the same on Deno, Node and Bun.
 *
 * A run is known by its pid and its host. Pids are only comparable within
 * one pid namespace of one boot of one machine, so on Linux the host also
 * names the boot id and the pid namespace: containers that share a folder and
 * a hostname but not their pids are told apart. Where a pid cannot be
 * judged (another host, no permission to ask, a pid reused on a system
 * without `/proc`), the owner's heartbeat decides: a lock or a partial file
 * whose modification time has not moved for {@linkcode STALE_AFTER_MS} is
 * stale.
 *
 * @module
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";

/** How often a live run refreshes the modification time of its folder lock. */
export const HEARTBEAT_MS = 30_000;
/** A lock or partial file not refreshed for this long is stale, whatever its pid shows. */
export const STALE_AFTER_MS = 20 * HEARTBEAT_MS;

/** Who left a lock or a partial file. */
export interface RunOwner {
  pid: number;
  /** {@linkcode hostIdentity} of the owner's host. */
  host: string;
  /** Linux: the process's start time in clock ticks after boot, which tells a reused pid. */
  processStart?: string;
}

/** What can be told about an owner: `unknown` is never taken over (but for its age). */
export type OwnerState = "alive" | "gone" | "unknown";

let cachedHost: string | undefined;

/**
 * This host, as far as pids are comparable: the hostname, and on Linux the
 * boot id and the pid namespace (when readable).
 *
 * @example
 * ```ts
 * import { hostIdentity } from "./live_process.ts";
 * console.log(hostIdentity()); // "survey-pc boot=8acc… pidns=pid:[4026531836]" on Linux
 * ```
 */
export function hostIdentity(): string {
  return cachedHost ??= [
    hostname(),
    readOrUndefined(() => `boot=${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}`),
    readOrUndefined(() => `pidns=${readlinkSync("/proc/self/ns/pid")}`),
  ].filter((part) => part !== undefined).join(" ");
}

/**
 * Whether the owner runs: `gone` only when that is certain (same host, the
 * pid does not exist or was reused), `unknown` when it cannot be told.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { hostIdentity, ownerState } from "./live_process.ts";
 * console.log(ownerState({ pid: process.pid, host: hostIdentity() })); // "alive"
 * ```
 */
export function ownerState(owner: RunOwner): OwnerState {
  if (owner.host !== hostIdentity()) return "unknown";
  const state = processState(owner.pid);
  if (state !== "alive") return state;
  // The pid lives, but a different start time means it was reused by another process.
  const start = processStartOf(owner.pid);
  const reused = owner.processStart !== undefined && start !== undefined &&
    start !== owner.processStart;
  return reused ? "gone" : "alive";
}

/**
 * Whether something an owner keeps fresh was left behind: its owner is
 * certainly gone, or it has not been refreshed for {@linkcode STALE_AFTER_MS}.
 *
 * @param state {@linkcode ownerState} of its owner.
 * @param mtimeMs Its modification time.
 */
export function isLeftBehind(state: OwnerState, mtimeMs: number): boolean {
  return state === "gone" || Date.now() - mtimeMs >= STALE_AFTER_MS;
}

/**
 * Whether a process of this host with this pid exists: `unknown` when the
 * runtime may not ask (Deno without `--allow-run`). A pid can be reused, so
 * `alive` may mean another process.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { processState } from "./live_process.ts";
 * console.log(processState(process.pid)); // "alive"
 * ```
 */
export function processState(pid: number): OwnerState {
  try {
    process.kill(pid, 0);
    return "alive";
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ESRCH") return "gone";
    return code === "EPERM" ? "alive" : "unknown"; // EPERM: owned by someone else
  }
}

/**
 * Linux: a process's start time, in clock ticks after boot, from `/proc`
 * (`undefined` elsewhere, without permission to read it, or when there is no
 * such process). An owner that records its start time can tell a reused pid.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { processStartOf } from "./live_process.ts";
 * console.log(processStartOf(process.pid)); // "123456" on Linux, undefined elsewhere
 * ```
 */
export function processStartOf(pid: number): string | undefined {
  return readOrUndefined(() => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces), which ends with the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  });
}

/** What `read` returns, or `undefined` where it throws (no such file, no permission). */
function readOrUndefined(read: () => string | undefined): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
