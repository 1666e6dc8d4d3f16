import { describe, expect, test } from "bun:test";
import type { Context } from "../src/runtime/context.ts";
import { DeadlockError, OS_CHECK_POLLS } from "../src/runtime/executor.ts";
import { type Async, Future, PENDING, type Poll, pollFn, yieldNow } from "../src/runtime/future.ts";
import type { JoinHandle } from "../src/runtime/join-handle.ts";
import { Runtime, RuntimeError, spawn } from "../src/runtime/runtime.ts";
import { TaskCancelledError } from "../src/runtime/task.ts";
import type { Waker } from "../src/runtime/waker.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { drivers, quietRuntime, tracedRuntime } from "./helpers.ts";

/** A future that stays pending until `open()`, keeping the waker it was polled with. */
class Gate extends Future<string> {
  waker: Waker | null = null;
  polls = 0;
  #open = false;

  open(): void {
    this.#open = true;
    this.waker?.wake();
  }

  poll(cx: Context): Poll<string> {
    this.polls++;
    if (this.#open) return "open";
    this.waker = cx.waker;
    return PENDING;
  }
}

describe.each(drivers)("Executor (%s driver)", (driver) => {
  test("blockOn returns the value of the main task", () => {
    using runtime = new Runtime({ driver });
    expect(
      runtime.blockOn(
        (function* (): Async<number> {
          return 42;
        })(),
      ),
    ).toBe(42);
  });

  test("blockOn throws the error of the main task", () => {
    using runtime = new Runtime({ driver });
    expect(() =>
      runtime.blockOn(
        (function* (): Async<void> {
          throw new Error("main failed");
        })(),
      ),
    ).toThrow("main failed");
  });

  test("tasks spawned from outside and from inside run in FIFO order", () => {
    using runtime = new Runtime({ driver });
    const order: string[] = [];
    function* child(name: string): Async<void> {
      order.push(name);
    }
    runtime.spawn(child("a"));
    runtime.spawn(child("b"));
    runtime.blockOn(
      (function* (): Async<void> {
        order.push("main");
        spawn(child("c"));
        spawn(child("d"));
        yield* yieldNow();
        order.push("main again");
      })(),
    );
    expect(order).toEqual(["a", "b", "main", "c", "d", "main again"]);
  });

  test("a join handle carries the value, and awaiting it waits for the task", () => {
    using runtime = new Runtime({ driver });
    const gate = new Gate();
    const result = runtime.blockOn(
      (function* (): Async<string> {
        const child = spawn(
          (function* (): Async<string> {
            return `child saw ${yield* gate}`;
          })(),
        );
        spawn(
          (function* (): Async<void> {
            yield* yieldNow();
            gate.open();
          })(),
        );
        return yield* child;
      })(),
    );
    expect(result).toBe("child saw open");
  });

  test("a join handle carries the error of its task", () => {
    using runtime = quietRuntime(driver);
    const caught = runtime.blockOn(
      (function* (): Async<unknown> {
        const child = spawn(
          (function* (): Async<void> {
            throw new TypeError("child broke");
          })(),
        );
        try {
          yield* child;
          return null;
        } catch (error) {
          return error;
        }
      })(),
    );
    expect(caught).toBeInstanceOf(TypeError);
    expect(runtime.errors).toEqual([]); // it was joined, so it is not reported
  });

  test("a failed task is reported only if nobody claimed, awaited or read it, and then once", () => {
    using runtime = quietRuntime(driver);
    function* fail(message: string): Async<void> {
      yield* yieldNow();
      throw new Error(message);
    }
    const claimed = runtime.spawn(fail("claimed"));
    claimed.claim();
    const awaited = runtime.spawn(fail("awaited"));
    runtime.spawn(
      (function* (): Async<void> {
        try {
          yield* awaited;
        } catch {
          // seen here: not to be reported
        }
      })(),
    );
    const ignored = runtime.spawn(fail("ignored"));
    runtime.run();
    expect(runtime.errors.map((error) => (error as Error).message)).toEqual(["ignored"]);
    // Read afterwards: the outcome is there, and the report is not repeated.
    expect(ignored.outcome()?.state).toBe("error");
    expect(claimed.outcome()?.state).toBe("error");
    runtime.run();
    expect(runtime.errors).toHaveLength(1);
  });

  test("a task woken twice before it runs is queued once", () => {
    using runtime = new Runtime({ driver });
    const gate = new Gate();
    const handle = runtime.spawn(gate);
    runtime.executor.runReady();
    expect(gate.polls).toBe(1);
    gate.waker!.wake();
    gate.waker!.wake();
    expect(runtime.executor.ready).toBe(1);
    runtime.executor.runReady();
    expect(gate.polls).toBe(2);
    expect(runtime.executor.ready).toBe(0);
    handle.cancel();
  });

  test("a task woken while it is being polled is polled again afterwards", () => {
    using runtime = new Runtime({ driver });
    let polls = 0;
    runtime.spawn(
      pollFn((cx) => {
        polls++;
        if (polls === 1) {
          cx.waker.wake(); // during the poll
          return PENDING;
        }
        return "done";
      }),
    );
    runtime.executor.runReady();
    expect(polls).toBe(1);
    expect(runtime.executor.ready).toBe(1);
    runtime.executor.runReady();
    expect(polls).toBe(2);
  });

  test("waking a finished or cancelled task does nothing", () => {
    using runtime = new Runtime({ driver });
    const finished = new Gate();
    const cancelled = new Gate();
    runtime.spawn(finished);
    const handle = runtime.spawn(cancelled);
    runtime.executor.runReady();
    finished.open();
    runtime.executor.runReady();
    handle.cancel();
    finished.waker!.wake();
    cancelled.waker!.wake();
    expect(runtime.executor.ready).toBe(0);
    expect(runtime.executor.alive).toBe(0);
    expect(finished.polls).toBe(2);
    expect(cancelled.polls).toBe(1);
  });

  test("10,000 tasks pass a token round a ring: all complete, in fair order", () => {
    using runtime = new Runtime({ driver });
    const count = 10_000;
    const laps = 3;
    const gates: Gate[] = [];
    const order: number[] = [];
    let holder = 0;
    function* member(index: number): Async<void> {
      for (let lap = 0; lap < laps; lap++) {
        while (holder !== index) {
          gates[index] = new Gate();
          yield* gates[index]!;
        }
        order.push(index);
        holder = (index + 1) % count;
        gates[holder]?.open();
      }
    }
    const handles = Array.from({ length: count }, (_, index) => runtime.spawn(member(index)));
    runtime.run();
    expect(handles.every((handle) => handle.finished && handle.outcome()?.state === "ok")).toBe(true);
    expect(order).toHaveLength(count * laps);
    expect(order.every((index, position) => index === position % count)).toBe(true);
  });

  test("tasks that yield take turns in FIFO order", () => {
    using runtime = new Runtime({ driver });
    const order: string[] = [];
    function* worker(name: string): Async<void> {
      for (let turn = 0; turn < 3; turn++) {
        order.push(`${name}${turn}`);
        yield* yieldNow();
      }
    }
    for (const name of ["a", "b", "c"]) runtime.spawn(worker(name));
    runtime.run();
    expect(order).toEqual(["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]);
  });

  test("a task that is always ready yields to others after its poll budget", () => {
    using runtime = new Runtime({ driver });
    const order: string[] = [];
    runtime.spawn(
      (function* (): Async<void> {
        for (let index = 0; index < 1000; index++) yield* pollFn(() => index);
        order.push("busy done");
      })(),
    );
    runtime.spawn(
      (function* (): Async<void> {
        order.push("other ran");
      })(),
    );
    runtime.run();
    expect(order).toEqual(["other ran", "busy done"]);
  });

  test("an exception in one task does not stop another, and is reported with its stack", () => {
    using runtime = quietRuntime(driver);
    let survivorDone = false;
    runtime.spawn(
      (function* (): Async<void> {
        yield* yieldNow();
        throw new Error("this task fails");
      })(),
      { name: "failing" },
    );
    runtime.blockOn(
      (function* (): Async<void> {
        for (let index = 0; index < 5; index++) yield* yieldNow();
        survivorDone = true;
      })(),
    );
    expect(survivorDone).toBe(true);
    expect(runtime.errors).toHaveLength(1);
    expect((runtime.errors[0] as Error).message).toBe("this task fails");
    expect((runtime.errors[0] as Error).stack).toContain("executor.test.ts");
  });

  test("the default report of an unjoined failure names the task and prints the stack", () => {
    const lines: string[] = [];
    const original = console.error;
    console.error = (line: string) => lines.push(line);
    try {
      using runtime = new Runtime({ driver });
      runtime.spawn(
        (function* (): Async<void> {
          throw new Error("nobody joins me");
        })(),
        { name: "lonely" },
      );
      runtime.run();
    } finally {
      console.error = original;
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("lonely (task");
    expect(lines[0]).toContain("failed and nobody joined it");
    expect(lines[0]).toContain("Error: nobody joins me");
    expect(lines[0]).toContain("executor.test.ts");
  });

  test("yielding something that is not a future is an error at that line", () => {
    using runtime = new Runtime({ driver });
    expect(() =>
      runtime.blockOn(
        (function* (): Async<void> {
          yield 5 as never;
        })(),
      ),
    ).toThrow("a task yielded 5, not a future: await with `yield*`");
  });

  test("blockOn refuses to wait forever when nothing can wake the main task", () => {
    using runtime = new Runtime({ driver });
    expect(() => runtime.blockOn(new Gate())).toThrow(DeadlockError);
  });

  test("runtime functions outside a runtime, and nested blockOn, are named errors", () => {
    using runtime = new Runtime({ driver });
    expect(() => spawn(new Gate())).toThrow("no bun-reactor runtime is running here");
    expect(() =>
      runtime.blockOn(
        (function* (): Async<void> {
          runtime.blockOn(new Gate());
        })(),
      ),
    ).toThrow("Cannot block on the runtime from inside one of its own tasks");
  });

  test("a cancelled task fails its join handle with TaskCancelledError", () => {
    using runtime = new Runtime({ driver });
    const error = runtime.blockOn(
      (function* (): Async<unknown> {
        const child = spawn(new Gate(), { name: "victim" });
        yield* yieldNow();
        child.cancel();
        try {
          yield* child;
        } catch (caught) {
          return caught;
        }
      })(),
    );
    expect(error).toBeInstanceOf(TaskCancelledError);
    expect((error as Error).message).toMatch(/task \d+ \(victim\) was cancelled/);
  });

  test("a task can cancel itself; its finally block runs after its poll", () => {
    using runtime = tracedRuntime(driver);
    const steps: string[] = [];
    let self: JoinHandle<void> | null = null;
    self = runtime.spawn(
      (function* (): Async<void> {
        try {
          steps.push("running");
          self!.cancel();
          steps.push("still running this poll");
          yield* yieldNow();
          steps.push("never");
        } finally {
          steps.push("finally");
        }
      })(),
    );
    runtime.run();
    expect(steps).toEqual(["running", "still running this poll", "finally"]);
    expect(self.outcome()).toEqual({ state: "cancelled" });
  });

  test("a task that woke itself and then cancelled itself in one poll is cancelled, not polled again", () => {
    using runtime = new Runtime({ driver });
    const steps: string[] = [];
    let polls = 0;
    let self: JoinHandle<void> | null = null;
    self = runtime.spawn(
      (function* (): Async<void> {
        try {
          yield* pollFn<void>((cx) => {
            polls++;
            cx.waker.wake(); // woken while it runs: it would be polled again...
            self!.cancel(); // ...but the cancel, asked for after, wins when the poll returns
            return PENDING;
          });
          steps.push("never");
        } finally {
          steps.push("finally");
        }
      })(),
    );
    runtime.run();
    expect(polls).toBe(1);
    expect(steps).toEqual(["finally"]);
    expect(self.outcome()).toEqual({ state: "cancelled" });
    self.cancel(); // cancelling a finished task does nothing
    expect(self.outcome()).toEqual({ state: "cancelled" });
  });

  test("a closed runtime refuses new work", () => {
    const runtime = new Runtime({ driver });
    runtime.close();
    runtime.close();
    expect(() => runtime.spawn(new Gate())).toThrow(RuntimeError);
    expect(() => runtime.run()).toThrow("Cannot run: the runtime is closed");
  });
});

// The thread driver too: while tasks are ready, the executor checks the OS itself and its
// reactor thread sleeps, so an event is seen at the executor's first check there as well.
describe.each(["inline", "thread"] as const)("the executor's checks of the OS (%s driver)", (driver) => {
  test("a task that keeps waking itself does not starve I/O: the OS is checked at least every OS_CHECK_POLLS polls", () => {
    using runtime = new Runtime({ driver });
    using server = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    let received = 0;
    runtime.spawn(
      (function* (): Async<never> {
        for (;;) {
          yield* server.recvFrom(new Uint8Array(16));
          received++;
        }
      })(),
    );
    // The first datagram comes while no task is ready: the executor waits for it (the thread
    // driver's reactor thread hands it over, then sleeps while the executor is busy).
    runtime.executor.runReady();
    client.trySendTo(new Uint8Array([1]), server.localAddress);
    while (received === 0) {
      runtime.executor.park(-1);
      runtime.executor.runReady();
    }
    let busyPolls = 0;
    const busy = runtime.spawn(
      (function* (): Async<never> {
        for (;;) {
          busyPolls++;
          yield* yieldNow();
        }
      })(),
    );
    runtime.executor.runReady();
    for (let round = 2; round <= 11; round++) {
      busyPolls = 0;
      client.trySendTo(new Uint8Array([round]), server.localAddress);
      while (received < round && busyPolls < 10 * OS_CHECK_POLLS) {
        runtime.executor.runReady();
        runtime.executor.park(-1);
      }
      expect(received).toBe(round);
      // At most one interval of polls passes before the OS is asked, then one more to run the receiver.
      expect(busyPolls).toBeLessThanOrEqual(OS_CHECK_POLLS + 1);
    }
    busy.cancel();
  });
});

describe("a task is its own join handle", () => {
  test("the same handle awaited by several tasks gives each the value, and a promise too", async () => {
    using runtime = new Runtime();
    const gate = new Gate();
    const handle = runtime.spawn(gate);
    const joiners = [0, 1, 2].map(() =>
      runtime.spawn(
        (function* (): Async<string> {
          return yield* handle;
        })(),
      ),
    );
    const promised = handle.promise();
    runtime.spawn(
      (function* (): Async<void> {
        yield* yieldNow(); // every joiner waits first
        gate.open();
      })(),
    );
    runtime.run();
    expect(joiners.map((joiner) => joiner.value())).toEqual(["open", "open", "open"]);
    expect(await promised).toBe("open");
  });
});
