/**
 * The bun-reactor columns of `bench/runtime.ts`: one workload on one driver per process.
 *
 * Usage: bun bench/runtime/reactor.ts <inline|embedded> <runs> <workload> <sizes...>
 *
 * The workload runs `runs` times on one runtime, each run printing its line (see `report`).
 *
 * @module
 */
import { type Async, Future, PENDING, type Poll, pollFn, yieldNow } from "../../src/runtime/future.ts";
import type { Context } from "../../src/runtime/context.ts";
import { select } from "../../src/runtime/combinators.ts";
import { Runtime, spawn } from "../../src/runtime/runtime.ts";
import { type Sleep, sleep } from "../../src/runtime/timers.ts";
import type { Waker } from "../../src/runtime/waker.ts";
import { UdpSocket } from "../../src/net/udp-socket.ts";
import { dispatch, report, runsOf, sleepMs, timerMs, type Workload } from "./measure.ts";

/** A one-shot notification a task awaits, as tokio's `Notify`: set by one task, taken by another. */
class Notify extends Future<void> {
  #set = false;
  #waker: Waker | null = null;

  notify(): void {
    this.#set = true;
    const waker = this.#waker;
    this.#waker = null;
    waker?.wake();
  }

  poll(cx: Context): Poll<void> {
    if (this.#set) {
      this.#set = false;
      return undefined;
    }
    this.#waker = cx.waker;
    return PENDING;
  }
}

function* yields(tasks: number, count: number): Async<number> {
  function* task(): Async<void> {
    for (let index = 0; index < count; index++) yield* yieldNow();
  }
  const handles = Array.from({ length: tasks }, () => spawn(task()));
  for (const handle of handles) yield* handle;
  return tasks * count;
}

function* spawns(tasks: number): Async<number> {
  function* empty(): Async<void> {}
  const handles = Array.from({ length: tasks }, () => spawn(empty()));
  for (const handle of handles) yield* handle;
  return tasks;
}

function* pingPong(rounds: number): Async<number> {
  const ping = new Notify();
  const pong = new Notify();
  const other = spawn(
    (function* (): Async<void> {
      for (let index = 0; index < rounds; index++) {
        yield* ping;
        pong.notify();
      }
    })(),
  );
  for (let index = 0; index < rounds; index++) {
    ping.notify();
    yield* pong;
  }
  yield* other;
  return rounds * 2;
}

function* sleepers(tasks: number): Async<number> {
  function* sleeper(ms: number): Async<void> {
    yield* sleep(ms);
  }
  const handles = Array.from({ length: tasks }, (_, index) => spawn(sleeper(sleepMs(index))));
  for (const handle of handles) yield* handle;
  return tasks;
}

function* timers(count: number): Async<number> {
  const sleeps: Sleep[] = Array.from({ length: count }, (_, index) => sleep(timerMs(index)));
  // Each sleep is polled once with this task's context (which arms its timer), then dropped.
  yield* pollFn((cx) => {
    for (const entry of sleeps) if (entry.poll(cx) !== PENDING) throw new Error("a timer fired early");
    return undefined;
  });
  for (const entry of sleeps) entry.drop();
  return count;
}

function* selectRecv(rounds: number): Async<number> {
  using server = UdpSocket.bind("127.0.0.1:0");
  using client = UdpSocket.bind("127.0.0.1:0");
  const payload = new Uint8Array(32).fill(7);
  const buffer = new Uint8Array(2048);
  for (let index = 0; index < rounds; index++) {
    if (client.trySendTo(payload, server.localAddress).state !== "ok") throw new Error("the send would block");
    const winner = yield* select([sleep(1000), server.recvFrom(buffer)]);
    if (winner.index !== 1) throw new Error("no datagram within a second");
  }
  return rounds;
}

function workload(name: Workload, args: string[]): Async<number> {
  return dispatch(name, args, `reactor ${name}`, { yields, spawns, pingPong, sleepers, timers, selectRecv });
}

const [driver, runsArg, name, ...args] = process.argv.slice(2);
if (driver !== "inline" && driver !== "embedded") throw new RangeError(`driver "${driver}" is not "inline" or "embedded"`);
const runs = runsOf(runsArg, `reactor ${driver}`);
if (driver === "inline") {
  using runtime = new Runtime({ driver: "inline" });
  await report(runs, () => runtime.blockOn(workload(name as Workload, args)));
} else {
  await using runtime = new Runtime({ driver: "embedded" });
  await report(runs, () => runtime.spawn(workload(name as Workload, args)).promise());
}
