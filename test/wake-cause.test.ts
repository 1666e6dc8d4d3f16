// Each `wake` trace event names what woke the task, which the console shows as "woken by".
import { describe, expect, test } from "bun:test";
import { type Async, PENDING, pollFn, yieldNow } from "../src/runtime/future.ts";
import { remoteCondition } from "../src/runtime/remote.ts";
import { spawn } from "../src/runtime/runtime.ts";
import { sleep } from "../src/runtime/timers.ts";
import type { Waker } from "../src/runtime/waker.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { drivers, tracedRuntime } from "./helpers.ts";

describe.each(drivers)("wake causes (%s driver)", (driver) => {
  test("a timer, the reactor, a join, the task itself, another task and a remote wake are told apart", () => {
    using runtime = tracedRuntime(driver);
    using server = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    let parked: Waker | null = null;
    let released = false;
    const ids: Record<string, number> = {};
    runtime.blockOn(
      (function* (): Async<void> {
        const sleeper = spawn(sleep(20), { name: "sleeper" });
        const reader = spawn(server.recvFrom(new Uint8Array(16)), { name: "reader" });
        const yielder = spawn(yieldNow(), { name: "yielder" });
        const waiter = spawn(
          pollFn((cx) => {
            if (parked !== null) return undefined;
            parked = cx.waker; // woken later by another task
            return PENDING;
          }),
          { name: "waiter" },
        );
        const remote = spawn(
          remoteCondition(() => released),
          { name: "remote" },
        );
        Object.assign(ids, { sleeper: sleeper.id, reader: reader.id, yielder: yielder.id, waiter: waiter.id, remote: remote.id });
        yield* yieldNow(); // all of them have been polled once and wait
        parked!.wake();
        released = true;
        runtime.unpark();
        yield* client.sendTo(new Uint8Array([1]), server.localAddress);
        yield* sleeper;
        yield* reader;
        yield* yielder;
        yield* waiter;
        yield* remote;
      })(),
      { name: "main" },
    );
    const causes = (id: number) =>
      runtime.events.filter((event) => event.kind === "wake" && event.task === id).map((e) => e.detail);
    expect(causes(ids.sleeper!)).toEqual(["timer"]);
    expect(causes(ids.reader!)).toEqual(["reactor"]);
    expect(causes(ids.yielder!)).toEqual(["itself"]);
    expect(causes(ids.waiter!)).toEqual(["another task"]);
    expect(causes(ids.remote!)).toEqual(["another thread"]);
    // main itself: woken once by its own yieldNow, then by the ends of the tasks it joins.
    const main = runtime.events.find((event) => event.kind === "spawn" && event.detail === "main")!.task!;
    expect(causes(main)[0]).toBe("itself");
    expect(
      causes(main)
        .slice(1)
        .every((cause) => cause === "join"),
    ).toBe(true);
  });
});
