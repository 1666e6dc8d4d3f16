// The runtime keeps its word at the edges: a bad value or a call from the wrong place is refused
// before anything happens, and closing one runtime leaves everything else as it was. Each test
// is the regression test of a defect of issue 12.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { joinAll } from "../src/runtime/combinators.ts";
import { type Async, yieldNow } from "../src/runtime/future.ts";
import type { JoinHandle } from "../src/runtime/join-handle.ts";
import { remoteCondition } from "../src/runtime/remote.ts";
import { Runtime, RuntimeError, spawn } from "../src/runtime/runtime.ts";
import { TaskCancelledError } from "../src/runtime/task.ts";
import { sleep } from "../src/runtime/timers.ts";
import { drivers, quietRuntime } from "./helpers.ts";

/**
 * The descriptors this process has open now. Tests compare which are new, not how many there
 * are: descriptors of earlier tests may still be closing (reactor threads end asynchronously).
 */
function openDescriptors(): Set<string> {
  return new Set(readdirSync(existsSync("/proc/self/fd") ? "/proc/self/fd" : "/dev/fd"));
}

function opened(before: Set<string>): string[] {
  return [...openDescriptors()].filter((fd) => !before.has(fd));
}

describe("Runtime options", () => {
  test("an event capacity out of range is refused, named, without leaking the poller's descriptors", () => {
    const before = openDescriptors();
    for (let attempt = 0; attempt < 10; attempt++) {
      expect(() => new Runtime({ eventCapacity: 0 })).toThrow("eventCapacity 0 is not a whole number from 1 to 1024");
    }
    expect(() => new Runtime({ driver: "thread", eventCapacity: 1.5 })).toThrow("eventCapacity 1.5");
    expect(() => new Runtime({ eventCapacity: 4096 })).toThrow("eventCapacity 4096");
    expect(() => new Runtime({ trace: "yes" as never })).toThrow("Runtime option trace yes is not a function");
    expect(() => new Runtime({ onUnjoinedError: 1 as never })).toThrow("Runtime option onUnjoinedError 1 is not a function");
    expect(opened(before)).toEqual([]);
  });
});

describe.each(drivers)("the runtime at its edges (%s driver)", (driver) => {
  test("blockOn inside a task is refused before the awaitable is spawned: it never runs", () => {
    using runtime = quietRuntime(driver);
    let ran = false;
    const refusal = runtime.blockOn(
      (function* (): Async<unknown> {
        yield* yieldNow();
        try {
          runtime.blockOn(
            (function* (): Async<void> {
              ran = true;
            })(),
          );
        } catch (error) {
          return error;
        }
      })(),
    );
    expect(refusal).toBeInstanceOf(RuntimeError);
    expect((refusal as Error).message).toBe("Cannot block on the runtime from inside one of its own tasks");
    runtime.blockOn(sleep(5)); // anything spawned would have run by now
    expect(ran).toBe(false);
    expect(runtime.tasksAlive).toBe(0);
    expect(runtime.errors).toEqual([]);
  });

  test("closing runtime B from a task of runtime A leaves A current: spawn still works there", () => {
    using a = new Runtime({ driver });
    const b = new Runtime({ driver });
    const seenInFinally: Runtime[] = [];
    b.spawn(
      (function* (): Async<void> {
        try {
          yield* sleep(60_000);
        } finally {
          seenInFinally.push(Runtime.current());
        }
      })(),
    );
    b.blockOn(yieldNow());
    const value = a.blockOn(
      (function* (): Async<number> {
        b.close();
        const child = spawn(
          (function* (): Async<number> {
            return 7;
          })(),
        );
        return yield* child;
      })(),
    );
    expect(value).toBe(7);
    expect(seenInFinally).toEqual([b]);
  });

  test("a task spawned from a finally block while close() cancels everything is cancelled too, never left alive", async () => {
    const runtime = new Runtime({ driver });
    let lateRan = false;
    const late: JoinHandle<void>[] = [];
    runtime.spawn(
      (function* (): Async<void> {
        try {
          yield* sleep(60_000);
        } finally {
          late.push(
            spawn(
              (function* (): Async<void> {
                lateRan = true;
              })(),
            ),
          );
        }
      })(),
    );
    runtime.blockOn(yieldNow());
    runtime.close();
    expect(late[0]!.outcome()).toEqual({ state: "cancelled" });
    expect(lateRan).toBe(false);
    expect(runtime.tasksAlive).toBe(0);
    expect(await late[0]!.promise().catch((error: unknown) => error)).toBeInstanceOf(TaskCancelledError);
  });

  test("two remoteCondition futures in one task are woken apart: when one holds, the other still waits", () => {
    using runtime = new Runtime({ driver });
    const flags = { first: false, second: false };
    runtime.blockOn(
      (function* (): Async<void> {
        spawn(
          (function* (): Async<void> {
            // Another thread would set a flag in shared memory and unpark the runtime.
            yield* sleep(5);
            flags.first = true;
            Runtime.current().unpark();
            yield* sleep(5);
            flags.second = true;
            Runtime.current().unpark();
          })(),
        );
        // The one that holds first comes second: its drop used to take the other's wake away.
        yield* joinAll([remoteCondition(() => flags.second), remoteCondition(() => flags.first)]);
      })(),
    );
    expect(flags).toEqual({ first: true, second: true });
    expect(runtime.reactor.waiters).toBe(0);
  });
});

describe("what a task or a combinator can run", () => {
  test("anything but a future or a generator is refused, named, before a task is spawned", () => {
    using runtime = new Runtime();
    function* main(): Async<void> {}
    expect(() => runtime.spawn(main as never)).toThrow(
      "function main is not a future or a generator: call the generator function to make one (main(), not main)",
    );
    expect(() => runtime.spawn(Promise.resolve(1) as never)).toThrow("a Promise is not a future: wrap it with fromPromise");
    expect(() => runtime.blockOn(42 as never)).toThrow("42 is not a future or a generator");
    expect(() => joinAll([sleep(1), null as never])).toThrow("null is not a future or a generator");
    expect(runtime.tasksAlive).toBe(0);
  });
});
