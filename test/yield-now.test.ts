// yieldNow(): pending once, ready on its next poll; a yield whose await is over is reused by the
// next call, so a task that yields again and again allocates no future per yield.
import { describe, expect, test } from "bun:test";
import { Context } from "../src/runtime/context.ts";
import { type Async, type Future, PENDING, yieldNow } from "../src/runtime/future.ts";
import { Runtime, spawn } from "../src/runtime/runtime.ts";
import { drivers, tracedRuntime } from "./helpers.ts";

describe.each(drivers)("yieldNow (%s driver)", (driver) => {
  test("tasks that yield again and again each reuse one yield: no future is made per yield", () => {
    using runtime = new Runtime({ driver });
    const seen = new Set<Future<void>>();
    const order: string[] = [];
    runtime.blockOn(
      (function* (): Async<void> {
        function* yielder(name: string): Async<void> {
          for (let round = 0; round < 100; round++) {
            order.push(name);
            const yielded = yieldNow();
            seen.add(yielded);
            yield* yielded;
          }
        }
        const handles = ["a", "b", "c"].map((name) => spawn(yielder(name)));
        for (const handle of handles) yield* handle;
      })(),
    );
    // Each yield let the others run (round robin)...
    expect(order.slice(0, 9)).toEqual(["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
    expect(order).toHaveLength(300);
    // ...and 300 yields took three futures, one per task (each made at its first yield).
    expect(seen.size).toBe(3);
  });

  test("a yield polled on its own is pending once, then ready, every time it is handed out", () => {
    using runtime = tracedRuntime(driver);
    // The same yield is handed out three times (the first is reused once its await is over).
    for (let run = 0; run < 3; run++) expect(runtime.blockOn(yieldNow())).toBeUndefined();
    const steps = runtime.events.filter((event) => ["poll", "re-poll", "ready"].includes(event.kind)).map((e) => e.kind);
    expect(steps).toEqual(["poll", "re-poll", "ready", "poll", "re-poll", "ready", "poll", "re-poll", "ready"]);
  });
});

test("a yield that is ready but not yet resumed (its task's poll stopped there) is not handed out again", () => {
  using runtime = new Runtime({ driver: "inline" });
  const cx = new Context({ wake() {} }, 0, runtime);
  // A task awaits `first`: yield* hands it over, its poll is pending, the next poll is ready...
  const first = yieldNow();
  const awaiting = first[Symbol.iterator]();
  expect(awaiting.next().done).toBe(false);
  expect(first.poll(cx)).toBe(PENDING);
  expect(first.poll(cx)).toBeUndefined();
  // ...but the task's poll stopped before resuming it (a spent budget): the await is not over.
  expect(yieldNow()).not.toBe(first);
  // Once the task is resumed past it, the next yieldNow() reuses it, pending once again.
  expect(awaiting.next().done).toBe(true);
  const again = yieldNow();
  expect(again).toBe(first);
  expect(again.poll(cx)).toBe(PENDING);
  expect(again.poll(cx)).toBeUndefined();
});
