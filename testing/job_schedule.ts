/**
 * What the job scheduler of one test server remembers between calls: the
 * failures a test asked for, and the runner to wake when a job is created.
 * It lives on the server's state, so that route code, which only has the
 * state, reaches the runner of its own server.
 *
 * @module
 */

/**
 * The scheduler's state of one server.
 *
 * @example
 * ```ts
 * import { JobSchedule } from "./job_schedule.ts";
 * const schedule = new JobSchedule();
 * schedule.failNext("00000000-0000-0000-0000-000000000000", "Simulated worker crash");
 * schedule.takeFailure("00000000-0000-0000-0000-000000000000"); // "Simulated worker crash"
 * ```
 */
export class JobSchedule {
  #failures = new Map<string, string>();
  #waker: (() => void) | undefined;

  /** Makes the next job of the project that starts fail with a message. */
  failNext(projectId: string, message: string): void {
    this.#failures.set(projectId.toLowerCase(), message);
  }

  /** The failure asked for the project's next job, if any; it is used up. */
  takeFailure(projectId: string): string | undefined {
    const message = this.#failures.get(projectId);
    this.#failures.delete(projectId);
    return message;
  }

  /** Sets the function that wakes the running runner. */
  setWaker(waker: () => void): void {
    this.#waker = waker;
  }

  /** Forgets the waker, if it is still this one (a newer runner may have replaced it). */
  clearWaker(waker: () => void): void {
    if (this.#waker === waker) this.#waker = undefined;
  }

  /** Called when a job is created: wakes the runner, if one runs. */
  jobCreated(): void {
    this.#waker?.();
  }
}
