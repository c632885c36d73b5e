/**
 * Stall detection for many transfers with one interval timer: a timer per
 * file, re-armed as bytes arrive, costs more than the download of a small
 * file.
 *
 * @module
 */

/** One watched transfer: `touch` when bytes arrive, `stop` when it is over. */
export interface Watch {
  /** Records activity now. */
  touch(): void;
  /** Stops watching (the timer stops with the last watch). */
  stop(): void;
}

/**
 * Calls a watch's `onIdle` once when it has not been touched for `limitMs`.
 * The check runs every `checkMs` while something is watched, so a stall is
 * noticed between `limitMs` and `limitMs + checkMs` after the last activity.
 *
 * @example
 * ```ts
 * import { IdleWatchdog } from "./idle_watchdog.ts";
 * const watchdog = new IdleWatchdog(60_000);
 * const controller = new AbortController();
 * const watch = watchdog.watch(() => controller.abort(new Error("no data for 60 s")));
 * watch.touch(); // on each chunk
 * watch.stop();
 * ```
 */
export class IdleWatchdog {
  #limitMs: number;
  #checkMs: number;
  #watched = new Map<object, { last: number; onIdle: () => void }>();
  #interval: ReturnType<typeof setInterval> | undefined;
  #lastCheck = 0;

  /** @param limitMs Inactivity after which `onIdle` is called. @param checkMs How often to look. */
  constructor(limitMs: number, checkMs: number = Math.min(1000, limitMs)) {
    this.#limitMs = limitMs;
    this.#checkMs = checkMs;
  }

  /** The inactivity after which `onIdle` is called, in milliseconds. */
  get limitMs(): number {
    return this.#limitMs;
  }

  /** Starts watching one transfer, as of now. */
  watch(onIdle: () => void): Watch {
    const key = {};
    const entry = { last: performance.now(), onIdle };
    this.#watched.set(key, entry);
    if (this.#interval === undefined) {
      this.#lastCheck = performance.now();
      this.#interval = setInterval(() => this.#check(), this.#checkMs);
    }
    return {
      touch: () => {
        entry.last = performance.now();
      },
      stop: () => this.#forget(key),
    };
  }

  #check() {
    const now = performance.now();
    // A check that comes late means this thread was held up (a long synchronous call, a
    // stalled file system): no transfer could be touched meanwhile, so that time is not theirs.
    const heldUpMs = now - this.#lastCheck - this.#checkMs;
    this.#lastCheck = now;
    if (heldUpMs > this.#checkMs) {
      for (const entry of this.#watched.values()) entry.last = Math.min(now, entry.last + heldUpMs);
    }
    for (const [key, entry] of this.#watched) {
      if (now - entry.last < this.#limitMs) continue;
      this.#forget(key);
      entry.onIdle();
    }
  }

  #forget(key: object) {
    this.#watched.delete(key);
    if (this.#watched.size === 0 && this.#interval !== undefined) {
      clearInterval(this.#interval);
      this.#interval = undefined;
    }
  }
}
