import { expect } from "expect";
import { IdleWatchdog } from "../src/transfer/idle_watchdog.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("IdleWatchdog calls onIdle once for a silent transfer, never for a busy one", async () => {
  const watchdog = new IdleWatchdog(60, 10);
  const idle: string[] = [];
  const silent = watchdog.watch(() => idle.push("silent"));
  const busy = watchdog.watch(() => idle.push("busy"));
  for (let i = 0; i < 15; i++) {
    busy.touch();
    await sleep(10);
  }
  expect(idle).toEqual(["silent"]); // 150 ms without a touch, reported once
  busy.stop();
  silent.stop(); // after onIdle: harmless
  // The test sanitizer fails the test if the interval were still running.
});

Deno.test("IdleWatchdog stops its timer with the last watch", async () => {
  const watchdog = new IdleWatchdog(1000, 5);
  const a = watchdog.watch(() => {});
  const b = watchdog.watch(() => {});
  a.stop();
  await sleep(20);
  b.stop();
  const c = watchdog.watch(() => {}); // starts a timer again
  c.stop();
});
