import { expect } from "expect";
import { IdleWatchdog } from "../src/transfer/idle_watchdog.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("IdleWatchdog calls onIdle once for a silent transfer, never for a busy one", async () => {
  // Wide margins: touches every 10 ms against a 300 ms limit, silence for 1 s.
  const watchdog = new IdleWatchdog(300, 10);
  const idle: string[] = [];
  const silent = watchdog.watch(() => idle.push("silent"));
  const busy = watchdog.watch(() => idle.push("busy"));
  const until = performance.now() + 1000;
  while (performance.now() < until) {
    busy.touch();
    await sleep(10);
  }
  expect(idle).toEqual(["silent"]); // reported once, the busy one never
  busy.stop();
  silent.stop(); // after onIdle: harmless
  // The test sanitizer fails the test if the interval were still running.
});

Deno.test("IdleWatchdog keeps watching the others when one stops, and stops with the last", async () => {
  const watchdog = new IdleWatchdog(50, 5);
  const idle: string[] = [];
  const a = watchdog.watch(() => idle.push("a"));
  watchdog.watch(() => idle.push("b")); // stops itself by firing
  a.stop();
  const until = performance.now() + 2000;
  while (idle.length === 0 && performance.now() < until) await sleep(10);
  expect(idle).toEqual(["b"]);
  // b fired and was forgotten, a was stopped: no timer is left (the sanitizer checks).
  const c = watchdog.watch(() => idle.push("c")); // starts a timer again
  c.stop();
  await sleep(100);
  expect(idle).toEqual(["b"]);
});

Deno.test("IdleWatchdog does not count a time the thread was held up against the transfers", async () => {
  const watchdog = new IdleWatchdog(200, 10);
  const idle: string[] = [];
  watchdog.watch(() => idle.push("held up")); // stops itself by firing
  await sleep(30);
  // A synchronous call that holds the thread for longer than the limit: nothing could arrive.
  const until = performance.now() + 400;
  while (performance.now() < until) { /* held up */ }
  await sleep(50); // the late check runs first: the time held up is not silence
  expect(idle).toEqual([]);
  // A real silence afterwards is still noticed.
  const deadline = performance.now() + 2000;
  while (idle.length === 0 && performance.now() < deadline) await sleep(10);
  expect(idle).toEqual(["held up"]);
});
