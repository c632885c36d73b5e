/**
 * Waits `ms` milliseconds, or rejects with the abort reason as soon as any of
 * the given signals aborts.
 */
export function delay(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  const active = signals.filter((s) => s !== undefined);
  return new Promise((resolve, reject) => {
    const aborted = active.find((s) => s.aborted);
    if (aborted) return reject(aborted.reason);
    const onAbort = (event: Event) => {
      clearTimeout(timer);
      for (const s of active) s.removeEventListener("abort", onAbort);
      reject((event.target as AbortSignal).reason);
    };
    const timer = setTimeout(() => {
      for (const s of active) s.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    for (const s of active) s.addEventListener("abort", onAbort, { once: true });
  });
}
