/**
 * Abort controllers that follow a parent signal: a run's own stop, a download's idle timeout.
 *
 * @module
 */

/** An abort controller that also follows `parent`; `dispose` detaches it. */
export function childController(
  parent: AbortSignal | undefined,
): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  if (!parent) return { controller, dispose: () => {} };
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { controller, dispose: () => {} };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener("abort", onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener("abort", onAbort) };
}
