// The timer wheel's warm-up: a scratch wheel run through years of a simulated clock, checked as
// it goes, leaving the runtime's own wheel alone.
import { expect, test } from "bun:test";
import { Runtime } from "../src/runtime/runtime.ts";
import { sleep } from "../src/runtime/timers.ts";
import { yieldNow as yieldOnce } from "../src/runtime/future.ts";
import { warmUpTimers } from "../src/runtime/timer-warm-up.ts";

test("warmUpTimers sets thousands of timers on a scratch wheel and each fires once or is removed, none early or late", () => {
  // It throws if a timer fires early, twice or late, or a wait would sleep past a deadline.
  const report = warmUpTimers();
  expect(report.set).toBeGreaterThan(1_000);
  expect(report.fired).toBeGreaterThan(1_000);
  expect(report.removed).toBeGreaterThan(100);
  // A few are still set when it ends (far or infinite deadlines): never more than it set.
  expect(report.fired + report.removed).toBeLessThanOrEqual(report.set);
  // The same clock every time: a failure can be replayed.
  expect(warmUpTimers()).toEqual(report);
});

test("warmUpTimers leaves the runtime's own timers as they were", () => {
  const runtime = new Runtime();
  try {
    let woke = false;
    runtime.blockOn(
      (function* () {
        // A task's sleep is set on the runtime's wheel; the warm-up runs; the sleep still fires.
        const nap = sleep(5);
        const napping = runtime.spawn(nap);
        yield* yieldOnce();
        const sizeBefore = runtime.timers.size;
        expect(sizeBefore).toBe(1);
        warmUpTimers();
        expect(runtime.timers.size).toBe(sizeBefore);
        yield* napping;
        woke = true;
      })(),
    );
    expect(woke).toBe(true);
  } finally {
    runtime.close();
  }
});
