import { describe, expect, test } from "bun:test";
import { joinAll, select } from "../src/runtime/combinators.ts";
import { type Async, PENDING, pollFn, yieldNow } from "../src/runtime/future.ts";
import { Runtime, spawn } from "../src/runtime/runtime.ts";
import { TaskCancelledError } from "../src/runtime/task.ts";
import { sleep, timeout } from "../src/runtime/timers.ts";
import { SocketClosedError, UdpSocket } from "../src/net/udp-socket.ts";
import { drivers, quietRuntime } from "./helpers.ts";

describe.each(drivers)("cancellation (%s driver)", (driver) => {
  test("cancelling a task leaves the status map and the timer set empty and closes its socket", () => {
    using runtime = new Runtime({ driver });
    let socket: UdpSocket | null = null;
    const steps: string[] = [];
    runtime.blockOn(
      (function* (): Async<void> {
        const victim = spawn(
          (function* (): Async<void> {
            using owned = UdpSocket.bind("127.0.0.1:0");
            socket = owned;
            try {
              // Waits on the socket and on a timer at once.
              yield* select([owned.recvFrom(new Uint8Array(8)), sleep(60_000)]);
            } finally {
              steps.push("finally ran");
            }
          })(),
        );
        yield* yieldNow();
        expect(runtime.reactor.registrations).toBe(1);
        expect(runtime.reactor.waiters).toBe(1);
        expect(runtime.timers.size).toBe(1);

        victim.cancel();
        steps.push("cancelled");
      })(),
    );
    expect(steps).toEqual(["finally ran", "cancelled"]);
    expect(runtime.reactor.registrations).toBe(0);
    expect(runtime.reactor.waiters).toBe(0);
    expect(runtime.timers.size).toBe(0);
    expect(socket!.closed).toBe(true);
    expect(() => socket!.tryRecvFrom(new Uint8Array(1))).toThrow(SocketClosedError);
  });

  test("select returns the first to finish and cancels the losers", () => {
    using runtime = new Runtime({ driver });
    const log: string[] = [];
    function* contender(name: string, ms: number): Async<string> {
      try {
        yield* sleep(ms);
        return name;
      } finally {
        log.push(`${name} ended`);
      }
    }
    const winner = runtime.blockOn(select([contender("slow", 1000), contender("fast", 10), contender("slower", 2000)]));
    expect(winner).toEqual({ index: 1, value: "fast" });
    expect(log.sort()).toEqual(["fast ended", "slow ended", "slower ended"]);
    expect(runtime.timers.size).toBe(0);
  });

  test("select detaches from a losing join handle: its task runs on, and its other joiners get the value", () => {
    // select used to cancel the task behind a losing handle, and the other joiner got
    // TaskCancelledError: a joiner cancelled a task that another task joined.
    using runtime = new Runtime({ driver });
    const [otherJoiner, selected] = runtime.blockOn(
      (function* (): Async<[string, number]> {
        const fast = spawn(sleep(5));
        const slow = spawn(
          (function* (): Async<string> {
            yield* sleep(30);
            return "slow finished";
          })(),
        );
        const other = spawn(
          (function* (): Async<string> {
            return yield* slow;
          })(),
        );
        const winner = yield* select([fast, slow]);
        return [yield* other, winner.index];
      })(),
    );
    expect(selected).toBe(0);
    expect(otherJoiner).toBe("slow finished");
  });

  test("timeout over a join handle detaches from the task, which runs on; cancel() stops it", () => {
    using runtime = new Runtime({ driver });
    const log = runtime.blockOn(
      (function* (): Async<string[]> {
        const log: string[] = [];
        const work = spawn(
          (function* (): Async<void> {
            yield* sleep(30);
            log.push("work finished");
          })(),
        );
        try {
          yield* timeout(work, 5);
        } catch (error) {
          log.push((error as Error).name);
        }
        yield* work; // still running: it ends by itself
        const stopped = spawn(sleep(10_000));
        try {
          yield* timeout(stopped, 5);
        } catch {
          stopped.cancel(); // explicitly
        }
        log.push(stopped.outcome()?.state ?? "running");
        return log;
      })(),
    );
    expect(log).toEqual(["TimeoutError", "work finished", "cancelled"]);
  });

  test("joinAll gives every value in order", () => {
    using runtime = new Runtime({ driver });
    const values = runtime.blockOn(
      joinAll([
        (function* (): Async<number> {
          yield* sleep(20);
          return 1;
        })(),
        (function* (): Async<string> {
          yield* sleep(5);
          return "two";
        })(),
        runtime.spawn(
          (function* (): Async<boolean> {
            return true;
          })(),
        ),
      ] as const),
    );
    expect(values).toEqual([1, "two", true]);
  });

  test("joinAll fails with the first error and cancels the rest", () => {
    using runtime = quietRuntime(driver);
    let otherEnded = false;
    expect(() =>
      runtime.blockOn(
        joinAll([
          (function* (): Async<void> {
            try {
              yield* sleep(10_000);
            } finally {
              otherEnded = true;
            }
          })(),
          (function* (): Async<void> {
            yield* sleep(5);
            throw new Error("one failed");
          })(),
        ]),
      ),
    ).toThrow("one failed");
    expect(otherEnded).toBe(true);
    expect(runtime.timers.size).toBe(0);
  });

  test("joinAll drops the others as select does when one fails: a failing drop hides neither the error nor the rest", () => {
    using runtime = quietRuntime(driver);
    const dropped: string[] = [];
    const failingDrop = pollFn<void>(
      () => PENDING,
      () => {
        dropped.push("first");
        throw new Error("its drop failed too");
      },
    );
    const quietDrop = pollFn<void>(
      () => PENDING,
      () => void dropped.push("third"),
    );
    expect(() =>
      runtime.blockOn(
        joinAll([
          failingDrop,
          (function* (): Async<void> {
            yield* yieldNow();
            throw new Error("one failed");
          })(),
          quietDrop,
        ]),
      ),
    ).toThrow("one failed");
    expect(dropped).toEqual(["first", "third"]);
  });

  test("closing the runtime cancels every task, runs their finally blocks and closes their sockets", () => {
    const runtime = new Runtime({ driver });
    const socket = UdpSocket.bind("127.0.0.1:0");
    const ended: string[] = [];
    for (const name of ["a", "b"]) {
      runtime.spawn(
        (function* (): Async<void> {
          try {
            yield* socket.recvFrom(new Uint8Array(8));
          } finally {
            ended.push(name);
          }
        })(),
      );
    }
    runtime.executor.runReady();
    const handle = runtime.spawn(sleep(1000));
    runtime.close();
    expect(ended).toEqual(["a", "b"]);
    expect(socket.closed).toBe(true);
    expect(() => handle.value()).toThrow(TaskCancelledError);
    expect(runtime.executor.alive).toBe(0);
  });
});

describe.each(drivers)("futures shared, failed or left behind (%s driver)", (driver) => {
  test("awaiting a future from a second task while the first waits is a named error", () => {
    using runtime = quietRuntime(driver);
    using socket = UdpSocket.bind("127.0.0.1:0");
    const shared = socket.recvFrom(new Uint8Array(8));
    const first = runtime.spawn(
      (function* (): Async<void> {
        yield* shared;
      })(),
    );
    const second = runtime.spawn(
      (function* (): Async<void> {
        yield* shared;
      })(),
    );
    runtime.executor.runReady();
    expect(() => second.value()).toThrow("this RecvFrom is already being awaited: a future is awaited by one task at a time");
    expect(first.finished).toBe(false);
    first.cancel();
  });

  test("several tasks join one task through one handle; cancelling one joiner strands no other", () => {
    using runtime = new Runtime({ driver });
    const results = runtime.blockOn(
      (function* (): Async<string[]> {
        const child = spawn(
          (function* (): Async<string> {
            yield* sleep(20);
            return "done";
          })(),
        );
        const joiner = (name: string) =>
          spawn(
            (function* (): Async<string> {
              return `${name} got ${yield* child}`;
            })(),
          );
        const a = joiner("a");
        const b = joiner("b");
        yield* yieldNow();
        a.cancel();
        return [yield* b, yield* child];
      })(),
    );
    expect(results).toEqual(["b got done", "done"]);
  });

  test("closing a socket wakes the tasks waiting on it, and they fail with SocketClosedError", () => {
    using runtime = new Runtime({ driver });
    const socket = UdpSocket.bind("127.0.0.1:0");
    const reader = runtime.spawn(socket.recvFrom(new Uint8Array(8)));
    runtime.executor.runReady();
    expect(runtime.reactor.waiters).toBe(1);
    socket.close();
    expect(runtime.reactor.waiters).toBe(0);
    runtime.executor.runReady();
    expect(() => reader.value()).toThrow(SocketClosedError);
  });

  test("a timeout whose work fails leaves no timer behind", () => {
    using runtime = quietRuntime(driver);
    expect(() =>
      runtime.blockOn(
        timeout(
          (function* (): Async<void> {
            yield* sleep(1);
            throw new Error("the work failed");
          })(),
          60_000,
        ),
      ),
    ).toThrow("the work failed");
    expect(runtime.timers.size).toBe(0);
  });

  test("an I/O future whose attempt fails keeps nothing in the reactor", () => {
    using runtime = quietRuntime(driver);
    const socket = UdpSocket.bind("127.0.0.1:0");
    const handle = runtime.spawn(
      (function* (): Async<string> {
        try {
          yield* socket.recvFrom(new Uint8Array(8));
          return "received";
        } catch (error) {
          return (error as Error).name;
        }
      })(),
    );
    runtime.executor.runReady();
    socket.close();
    runtime.executor.runReady();
    expect(handle.value()).toBe("SocketClosedError");
    expect(runtime.reactor.waiters).toBe(0);
    expect(runtime.reactor.registrations).toBe(0);
  });
});
