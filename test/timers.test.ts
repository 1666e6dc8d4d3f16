import { describe, expect, test } from "bun:test";
import { joinAll } from "../src/runtime/combinators.ts";
import { type Async, yieldNow } from "../src/runtime/future.ts";
import { Runtime, spawn } from "../src/runtime/runtime.ts";
import { deadline, now, sleep, TimeoutError, TimerQueue, timeout } from "../src/runtime/timers.ts";
import { noopWaker } from "../src/runtime/waker.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { drivers } from "./helpers.ts";

describe("TimerQueue", () => {
  test("fires timers in deadline order, ties in the order they were set", () => {
    const queue = new TimerQueue();
    const fired: string[] = [];
    const waker = (name: string) => ({ wake: () => fired.push(name) });
    for (const [name, at] of [
      ["c", 30],
      ["a", 10],
      ["b1", 20],
      ["d", 40],
      ["b2", 20],
    ] as const)
      queue.add(at, waker(name));
    expect(queue.timeoutMs(0, -1)).toBe(10);
    expect(queue.fireDue(25)).toBe(3);
    expect(fired).toEqual(["a", "b1", "b2"]);
    queue.fireDue(100);
    expect(fired).toEqual(["a", "b1", "b2", "c", "d"]);
    expect(queue.size).toBe(0);
  });

  test("a removed timer never fires, and removing it twice is harmless", () => {
    const queue = new TimerQueue();
    const timers = Array.from({ length: 100 }, (_, index) => queue.add(index, noopWaker));
    for (const timer of timers.filter((_, index) => index % 3 === 0)) {
      queue.remove(timer);
      queue.remove(timer);
    }
    expect(queue.size).toBe(66);
    const order: number[] = [];
    for (const timer of timers) timer.waker = { wake: () => order.push(timer.deadline) };
    queue.fireDue(1000);
    expect(order).toEqual(timers.filter((_, index) => index % 3 !== 0).map((timer) => timer.deadline));
  });

  test("the wait is rounded up, so that the driver never wakes before a deadline", () => {
    const queue = new TimerQueue();
    queue.add(10.2, noopWaker);
    expect(queue.timeoutMs(0, -1)).toBe(11);
    expect(queue.timeoutMs(0, 5)).toBe(5);
    expect(queue.timeoutMs(20, -1)).toBe(0);
  });
});

describe.each(drivers)("timers on a runtime (%s driver)", (driver) => {
  test("sleeping tasks wake in deadline order, not in the order they slept", () => {
    using runtime = new Runtime({ driver });
    const order: number[] = [];
    runtime.blockOn(
      (function* (): Async<void> {
        const sleepers = [40, 10, 30, 20].map((ms) =>
          spawn(
            (function* (): Async<void> {
              yield* sleep(ms);
              order.push(ms);
            })(),
          ),
        );
        yield* joinAll(sleepers);
      })(),
    );
    expect(order).toEqual([10, 20, 30, 40]);
  });

  test("sleep never ends early", () => {
    // How late it may end is a matter for the benchmark, not for a unit test on a loaded machine.
    using runtime = new Runtime({ driver });
    const started = now();
    runtime.blockOn(sleep(50));
    expect(now() - started).toBeGreaterThanOrEqual(50);
  });

  test("timeout expires when the work takes longer, and the work is dropped", () => {
    using runtime = new Runtime({ driver });
    let finallyRan = false;
    const error = runtime.blockOn(
      (function* (): Async<unknown> {
        try {
          yield* timeout(
            (function* (): Async<void> {
              try {
                yield* sleep(10_000);
              } finally {
                finallyRan = true;
              }
            })(),
            20,
          );
        } catch (caught) {
          return caught;
        }
      })(),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe("timed out after 20 ms");
    expect(finallyRan).toBe(true);
    expect(runtime.timers.size).toBe(0);
  });

  test("timeout does not expire when the work is quicker, and its timer is removed", () => {
    using runtime = new Runtime({ driver });
    const value = runtime.blockOn(
      timeout(
        (function* (): Async<string> {
          yield* sleep(5);
          return "in time";
        })(),
        1000,
      ),
    );
    expect(value).toBe("in time");
    expect(runtime.timers.size).toBe(0);
  });

  test("a deadline in the past expires at once", () => {
    using runtime = new Runtime({ driver });
    expect(() => runtime.blockOn(deadline(sleep(1000), { at: now() - 5 }))).toThrow(TimeoutError);
  });

  test("a timeout of Infinity sets no timer, and the driver is asked to wait without limit", () => {
    // It used to set a timer at Infinity, and the inline driver's poller took the infinite
    // wait as 0: the runtime spun at 100% CPU while the work waited.
    using runtime = new Runtime({ driver });
    using server = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    const seen = runtime.blockOn(
      (function* (): Async<[number, number]> {
        const receiver = spawn(timeout(server.recvFrom(new Uint8Array(8)), Infinity));
        yield* yieldNow(); // the receiver waits now
        const waiting: [number, number] = [runtime.timers.size, runtime.timers.timeoutMs(now(), -1)];
        client.trySendTo(new Uint8Array([1]), server.localAddress);
        yield* receiver;
        return waiting;
      })(),
    );
    expect(seen).toEqual([0, -1]);
  });

  test("a timer beyond the poller's 32-bit timeout makes the driver wait at most 2^31 - 1 ms", () => {
    using runtime = new Runtime({ driver });
    const waitMs = runtime.blockOn(
      (function* (): Async<number> {
        spawn(sleep(30 * 24 * 3600 * 1000)); // a 30-day sleep, cancelled by the runtime's close
        yield* yieldNow();
        return runtime.timers.timeoutMs(now(), -1);
      })(),
    );
    expect(waitMs).toBe(2 ** 31 - 1);
  });

  test("deadline takes an instant, named, and refuses a duration by mistake", () => {
    using runtime = new Runtime({ driver });
    expect(runtime.blockOn(deadline(sleep(1), { at: now() + 1000 }))).toBeUndefined();
    expect(() => deadline(sleep(1), 1000 as never)).toThrow(
      "deadline(…, 1000): pass the instant as { at: now() + ms }; for a duration use timeout(…, ms)",
    );
    expect(() => deadline(sleep(1), { at: Number.NaN })).toThrow("deadline(…, { at: NaN })");
  });

  test("bad delays are refused with the value named", () => {
    expect(() => sleep(-1)).toThrow("sleep of -1 is not a number of milliseconds >= 0");
    expect(() => timeout(sleep(1), Number.NaN)).toThrow("timeout of NaN");
  });
});
