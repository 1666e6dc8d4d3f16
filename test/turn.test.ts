// Runtime.turn(), the turn that never blocks, and the turn's time budget. The budget is
// measured on a fake clock that only the tasks move, so that no assertion depends on how fast
// this machine is.
import { describe, expect, test } from "bun:test";
import { type Async, pollFn, yieldNow } from "../src/runtime/future.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { sleep } from "../src/runtime/timers.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { STEPS_PER_CLOCK_READ_MAX } from "../src/runtime/turn.ts";
import { drivers } from "./helpers.ts";

/** A clock that stands still until a task does "work", which moves it on. */
class FakeClock {
  nowMs = 0;
  reads = 0;
  readonly read = () => {
    this.reads++;
    return this.nowMs;
  };

  /** A future that is ready at once, after `costMs` of (fake) work. */
  work(costMs: number) {
    return pollFn(() => {
      this.nowMs += costMs;
    });
  }
}

describe.each(drivers)("Runtime.turn (%s driver)", (driver) => {
  test("a turn runs the ready tasks and returns without waiting for anything", () => {
    using runtime = new Runtime({ driver });
    using socket = UdpSocket.bind("127.0.0.1:0");
    const steps: string[] = [];
    runtime.spawn(
      (function* (): Async<void> {
        steps.push("started");
        yield* socket.recvFrom(new Uint8Array(16)); // nobody sends: it waits for I/O
        steps.push("received");
      })(),
    );
    // Nothing can become ready but I/O: the turn says so with -1, instead of blocking on it.
    expect(runtime.turn()).toBe(-1);
    expect(steps).toEqual(["started"]);
    expect(runtime.executor.alive).toBe(1);
  });

  test("a turn returns 0 while tasks are ready, else the time until the next timer", () => {
    using runtime = new Runtime({ driver });
    runtime.spawn(sleep(5_000));
    const busy = runtime.spawn(
      (function* (): Async<void> {
        for (;;) yield* yieldNow();
      })(),
    );
    expect(runtime.turn()).toBe(0);
    busy.cancel();
    const waitMs = runtime.turn();
    expect(waitMs).toBeGreaterThan(4_000);
    // Timers fire on whole milliseconds of the wheel: the deadline rounded up, so one more.
    expect(waitMs).toBeLessThanOrEqual(5_001);
  });

  test("a task awaiting ready futures stops before the await that would pass the turn's budget", () => {
    const clock = new FakeClock();
    using runtime = new Runtime({ driver, turnBudgetMs: 1, turnClock: clock.read });
    let awaits = 0;
    runtime.spawn(
      (function* (): Async<void> {
        // Always ready: only the budget can stop it within a poll (its await budget is 128).
        for (;;) {
          yield* clock.work(0.3);
          awaits++;
        }
      })(),
    );
    for (let turn = 0; turn < 20; turn++) {
      const startMs = clock.nowMs;
      expect(runtime.turn()).toBe(0);
      // 1 ms budget, 0.3 ms per await: a fourth would end at 1.2 ms, so the turn ends after
      // the third (the moving average of the steps has seen enough of them by then).
      expect(clock.nowMs - startMs).toBeCloseTo(0.9, 9);
    }
    // Three awaits a turn; the last one's count lands in the next turn.
    expect(awaits).toBe(20 * 3 - 1);
  });

  test("a step longer than the ones before passes the budget by that one step at most, and the next turns learn it", () => {
    const clock = new FakeClock();
    using runtime = new Runtime({ driver, turnBudgetMs: 1, turnClock: clock.read });
    const stepsMs = [0.1, 0.1, 0.1, 0.1, 0.1, 0.8, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4];
    let step = 0;
    runtime.spawn(
      (function* (): Async<void> {
        while (step < stepsMs.length) yield* clock.work(stepsMs[step++]!);
      })(),
    );
    const spentMs: number[] = [];
    while (runtime.executor.alive > 0) {
      const startMs = clock.nowMs;
      runtime.turn();
      spentMs.push(Number((clock.nowMs - startMs).toFixed(6)));
    }
    // Five steps of 0.1 ms predict short steps; the 0.8 ms one passes the budget (1.3 ms), and is
    // the turn's last. Then the 0.4 ms steps: two a turn (a third would end at 1.2 ms).
    expect(spentMs[0]).toBe(1.3);
    expect(Math.max(...spentMs)).toBeLessThanOrEqual(1.3);
    expect(spentMs.slice(2, -1).every((ms) => ms === 0.8)).toBe(true);
    expect(step).toBe(stepsMs.length);
  });

  test("tasks not reached in a turn run first in the next, in their order; none is lost", () => {
    const clock = new FakeClock();
    using runtime = new Runtime({ driver, turnBudgetMs: 1, turnClock: clock.read });
    const order: number[] = [];
    const spentMs: number[] = [];
    for (let id = 0; id < 10; id++) {
      runtime.spawn(
        (function* (): Async<void> {
          yield* clock.work(0.4);
          order.push(id);
        })(),
      );
    }
    while (runtime.executor.alive > 0) {
      const startMs = clock.nowMs;
      runtime.turn();
      spentMs.push(clock.nowMs - startMs);
    }
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Three tasks of 0.4 ms fit a 1 ms budget (the third passes it): 10 tasks take 4 turns.
    expect(spentMs.map((ms) => Number(ms.toFixed(6)))).toEqual([1.2, 1.2, 1.2, 0.4]);
  });

  test("a task stopped by the budget in the middle of a poll goes on first next turn: the order is the unbudgeted one", () => {
    function orderOfWork(turnBudgetMs: number): string[] {
      const clock = new FakeClock();
      using runtime = new Runtime({ driver, turnBudgetMs, turnClock: clock.read });
      const order: string[] = [];
      for (const name of ["long", "short", "longer"]) {
        runtime.spawn(
          (function* (): Async<void> {
            const steps = name === "short" ? 1 : name === "long" ? 6 : 200;
            for (let step = 0; step < steps; step++) {
              yield* clock.work(0.5);
              order.push(`${name} ${step}`);
            }
          })(),
        );
      }
      while (runtime.executor.alive > 0) runtime.turn();
      return order;
    }
    const unbudgeted = orderOfWork(Infinity);
    expect(unbudgeted.slice(0, 8)).toEqual(["long 0", "long 1", "long 2", "long 3", "long 4", "long 5", "short 0", "longer 0"]);
    expect(orderOfWork(1)).toEqual(unbudgeted);
  });

  test("tasks woken during a turn run in it, pass after pass, until its budget is spent; without a budget, one pass", () => {
    function pollsPerTurn(turnBudgetMs: number): number[] {
      const clock = new FakeClock();
      using runtime = new Runtime({ driver, turnBudgetMs, turnClock: clock.read });
      let polls = 0;
      // Two tasks that take turns: each poll costs 0.125 ms (exact in binary, so that no
      // rounding moves the deadline), then the task yields: it wakes itself, so it waits for
      // the next pass, behind the other.
      for (let task = 0; task < 2; task++) {
        runtime.spawn(
          (function* (): Async<never> {
            for (;;) {
              clock.nowMs += 0.125;
              polls++;
              yield* yieldNow();
            }
          })(),
        );
      }
      const perTurn: number[] = [];
      for (let turn = 0; turn < 5; turn++) {
        const before = polls;
        expect(runtime.turn()).toBe(0);
        perTurn.push(polls - before);
      }
      return perTurn;
    }
    // 1 ms: four passes of two 0.125 ms polls; the fourth ends at 1 ms, and the turn with it.
    expect(pollsPerTurn(1)).toEqual([8, 8, 8, 8, 8]);
    expect(pollsPerTurn(Infinity)).toEqual([2, 2, 2, 2, 2]);
  });

  test("short steps read the clock once per several of them, and the turn still ends within its budget", () => {
    const clock = new FakeClock();
    using runtime = new Runtime({ driver, turnBudgetMs: 1, turnClock: clock.read });
    let awaits = 0;
    for (let id = 0; id < 4; id++) {
      runtime.spawn(
        (function* (): Async<void> {
          // Each poll: one short step, then a yield (a ready await, then a task boundary).
          for (;;) {
            yield* clock.work(0.001);
            awaits++;
            yield* yieldNow();
          }
        })(),
      );
    }
    runtime.turn(); // the first turn learns how long a step is
    for (let turn = 0; turn < 5; turn++) {
      const [startMs, readsBefore, awaitsBefore] = [clock.nowMs, clock.reads, awaits];
      runtime.turn();
      const steps = awaits - awaitsBefore;
      // A thousand 1 µs steps fit in the 1 ms budget: the turn takes most of them, and passes
      // the budget by at most STEPS_PER_CLOCK_READ_MAX steps.
      expect(steps).toBeGreaterThan(900);
      expect(clock.nowMs - startMs).toBeLessThanOrEqual(1 + STEPS_PER_CLOCK_READ_MAX * 0.001 + 1e-9);
      // Two places could read the clock per step (the await, the next task): far fewer do.
      expect(clock.reads - readsBefore).toBeLessThan(steps / 4);
    }
  });

  test("without a budget, the clock is never read and a task keeps its await budget of 128", () => {
    const clock = new FakeClock();
    using runtime = new Runtime({ driver, turnClock: clock.read });
    let awaits = 0;
    runtime.spawn(
      (function* (): Async<void> {
        for (;;) {
          yield* clock.work(1);
          awaits++;
        }
      })(),
    );
    runtime.turn();
    expect(awaits).toBe(127); // the 128th await's value is kept for the next poll
    expect(clock.reads).toBe(0);
  });

  test("run honours the budget too, and every task still finishes", () => {
    const clock = new FakeClock();
    using runtime = new Runtime({ driver, turnBudgetMs: 1, turnClock: clock.read });
    const order: number[] = [];
    for (let id = 0; id < 5; id++) {
      runtime.spawn(
        (function* (): Async<void> {
          for (let step = 0; step < 3; step++) yield* clock.work(0.7);
          order.push(id);
        })(),
      );
    }
    runtime.run();
    expect(order.length).toBe(5);
    expect(new Set(order).size).toBe(5);
  });
});

describe("the turn budget option", () => {
  test.each([0, -1, Number.NaN, "1" as unknown as number])("turnBudgetMs %p is refused before anything is opened", (value) => {
    expect(() => new Runtime({ turnBudgetMs: value })).toThrow(`turnBudgetMs ${String(value)} is not a positive number`);
  });

  test("Infinity turns the budget off", () => {
    using runtime = new Runtime({ turnBudgetMs: Infinity });
    expect(runtime.blockOn(yieldNow())).toBeUndefined();
  });
});
