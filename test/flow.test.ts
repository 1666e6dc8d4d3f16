// The seed's 11-step flow (docs/architecture.md, "The seed's 11 steps, file by file"), shown one step at a
// time on a real socket.
//
// async_main awaits recvFrom on an empty socket; a client then sends "hello". The executor is
// driven by hand (runReady, park) so that the state between steps can be looked at.
import { beforeAll, describe, expect, test } from "bun:test";
import type { Async } from "../src/runtime/future.ts";
import type { JoinHandle } from "../src/runtime/join-handle.ts";
import { READ } from "../src/runtime/reactor.ts";
import type { TraceEvent } from "../src/runtime/trace.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { drivers, tracedRuntime } from "./helpers.ts";

interface Snapshot {
  readyTasks: number;
  waiters: number;
  status: unknown;
  finished: boolean;
  events: TraceEvent[];
}

describe.each(drivers)("the seed's flow, step by step (%s driver)", (driver) => {
  const snapshots: Record<string, Snapshot> = {};
  let main: JoinHandle<string>;
  let otherTaskPolls = 0;
  let token = 0;

  beforeAll(() => {
    using runtime = tracedRuntime(driver);
    using server = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    const buffer = new Uint8Array(64);
    let registration: { token: number; statuses: unknown[] } | null = null;

    function snapshot(name: string): void {
      snapshots[name] = {
        readyTasks: runtime.executor.ready,
        waiters: runtime.reactor.waiters,
        // A copy: the entry itself changes as the flow goes on.
        status:
          typeof registration?.statuses[READ] === "object"
            ? { ...(registration.statuses[READ] as object) }
            : (registration?.statuses[READ] ?? null),
        finished: main.finished,
        events: runtime.events.splice(0),
      };
    }

    function* asyncMain(): Async<string> {
      const received = yield* server.recvFrom(buffer);
      return new TextDecoder().decode(received.bytes);
    }

    function* otherTask(): Async<void> {
      otherTaskPolls++;
    }

    // 1. main() creates the executor and spawns async_main() as a task.
    main = runtime.spawn(asyncMain(), { name: "async_main" });
    snapshot("spawned");

    // 2–7. The executor takes the task from the queue and polls it; recvFrom would block, the
    //      waker is stored under the socket's token, and the task is pending.
    runtime.spawn(otherTask(), { name: "other" });
    runtime.executor.runReady();
    registration = server.registration({ runtime } as never);
    snapshot("pending");

    // 8–10. A datagram arrives; the driver's wait returns the OS event; the reactor sets the
    //       status to happened and wakes the task, which goes back on the queue.
    client.trySendTo(new TextEncoder().encode("hello"), server.localAddress);
    runtime.executor.park(-1);
    snapshot("woken");

    // 11. The executor polls the task again: recvFrom succeeds and async_main completes.
    runtime.executor.runReady();
    snapshot("done");
    token = registration!.token;
  });

  const kinds = (name: string): string[] => snapshots[name]!.events.map((event) => `${event.step}:${event.kind}`);

  test("step 1: spawn puts async_main on the run queue", () => {
    expect(snapshots.spawned!.readyTasks).toBe(1);
    expect(kinds("spawned")).toEqual(["1:spawn"]);
    expect(snapshots.spawned!.events[0]!.detail).toBe("async_main");
  });

  test("step 2: the executor takes the task from the queue and polls it", () => {
    expect(snapshots.pending!.events[1]).toMatchObject({ step: 2, kind: "poll", task: main.id });
  });

  test("step 3: the task runs async_main and awaits recvFrom", () => {
    expect(snapshots.pending!.events[2]).toMatchObject({ step: 3, kind: "await", task: main.id, detail: "RecvFrom" });
  });

  test("step 4: recvFrom tries the socket, which would block", () => {
    const attempt = snapshots.pending!.events[3]!;
    expect(attempt).toMatchObject({ step: 4, kind: "try-io", task: main.id });
    expect(attempt.detail).toEndWith("would block");
  });

  test("step 5: the future asks Reactor.poll with the task's context", () => {
    expect(snapshots.pending!.events[4]).toMatchObject({ step: 5, kind: "reactor-poll", task: main.id, direction: "read" });
  });

  test("step 6: the reactor stores the task's waker under the token and returns pending", () => {
    expect(snapshots.pending!.events[5]).toMatchObject({
      step: 6,
      kind: "waker-stored",
      task: main.id,
      token,
      direction: "read",
    });
    expect(snapshots.pending!.waiters).toBe(1);
    expect(snapshots.pending!.status).toMatchObject({ stored: true });
  });

  test("step 7: the executor sees pending, parks the task and runs the other task", () => {
    expect(snapshots.pending!.events[6]).toMatchObject({ step: 7, kind: "pending", task: main.id });
    expect(snapshots.pending!.finished).toBe(false);
    expect(snapshots.pending!.readyTasks).toBe(0);
    expect(otherTaskPolls).toBe(1);
  });

  test("step 8: the driver's wait for the OS ends with the socket's event", () => {
    const event = snapshots.woken!.events.find((e) => e.step === 8)!;
    expect(event.token).toBe(token);
    expect(event.detail).toContain("readable");
    expect(event.detail).toContain(`${driver} driver`);
  });

  test("step 9: the reactor sets the status to happened and calls the stored waker", () => {
    const happened = snapshots.woken!.events.find((e) => e.step === 9 && e.direction === "read")!;
    expect(happened).toMatchObject({ kind: "happened", token, detail: "was awaited by 1 waker(s)" });
    expect(snapshots.woken!.status).toBe(1); // Status::Happened
    expect(snapshots.woken!.waiters).toBe(0);
  });

  test("step 10: waker.wake() puts the task back on the run queue", () => {
    expect(kinds("woken").filter((kind) => kind.startsWith("10:"))).toEqual(["10:wake"]);
    expect(snapshots.woken!.events.find((e) => e.step === 10)!.task).toBe(main.id);
    expect(snapshots.woken!.readyTasks).toBe(1);
    expect(snapshots.woken!.finished).toBe(false);
  });

  test("step 11: the executor polls the task again, recvFrom succeeds and async_main completes", () => {
    expect(kinds("done")).toEqual(["11:re-poll", "4:try-io", "11:ready"]);
    expect(snapshots.done!.events[1]!.detail).toEndWith(": ready");
    expect(snapshots.done!.finished).toBe(true);
    expect(main.value()).toBe("hello");
  });
});
