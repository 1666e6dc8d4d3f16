import { describe, expect, test } from "bun:test";
import { EVENT_ERROR, EVENT_READABLE, EVENT_WRITABLE } from "../src/sys/abi.ts";
import { Context } from "../src/runtime/context.ts";
import type { Async } from "../src/runtime/future.ts";
import { READ, RegistrationError, type Waiter, WRITE } from "../src/runtime/reactor.ts";
import { Runtime, spawn } from "../src/runtime/runtime.ts";
import { timeout } from "../src/runtime/timers.ts";
import type { Waker } from "../src/runtime/waker.ts";
import { DatagramBatch } from "../src/net/datagram-batch.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { drivers, osEvent, tracedRuntime } from "./helpers.ts";

/** A waker that counts its wakes, a context that carries it, and a waiting future's entry. */
function countingContext(runtime: Runtime): { cx: Context; waiter: Waiter; wakes: () => number } {
  let count = 0;
  const waker: Waker = { wake: () => void count++ };
  return { cx: new Context(waker, 0, runtime), waiter: { waker: null, stored: false }, wakes: () => count };
}

const HAPPENED = 1;

/**
 * Parks until `done()` (at most 2 s). With the thread driver one park may return with an event
 * handed over earlier (the socket's initial "writable") before the one the test waits for.
 */
function parkUntil(runtime: Runtime, done: () => boolean): void {
  const deadline = performance.now() + 2000;
  while (!done() && performance.now() < deadline) runtime.executor.park(100);
}

describe.each(drivers)("Reactor (%s driver)", (driver) => {
  test("an event that happens before anyone waits is remembered", () => {
    using runtime = new Runtime({ driver });
    using receiver = UdpSocket.bind("127.0.0.1:0");
    using sender = UdpSocket.bind("127.0.0.1:0");
    const { cx, waiter, wakes } = countingContext(runtime);
    const registration = receiver.registration(cx);

    // The datagram arrives and the OS event is handled while nobody waits: status Happened.
    sender.trySendTo(new Uint8Array([1]), receiver.localAddress);
    parkUntil(runtime, () => registration.statuses[READ] === HAPPENED);
    expect(registration.statuses[READ]).toBe(HAPPENED);

    // A waiter that comes now is told at once: it retries its system call instead of waiting,
    // and no waker is stored.
    expect(runtime.reactor.poll(registration, READ, waiter, cx)).toBe(true);
    expect(registration.statuses[READ]).toBeNull();
    expect(runtime.reactor.waiters).toBe(0);
    expect(wakes()).toBe(0);
  });

  test("a waiter that comes before the event is woken by it", () => {
    using runtime = new Runtime({ driver });
    using receiver = UdpSocket.bind("127.0.0.1:0");
    using sender = UdpSocket.bind("127.0.0.1:0");
    const { cx, waiter, wakes } = countingContext(runtime);
    const registration = receiver.registration(cx);
    runtime.executor.park(0); // the initial "writable" event, out of the way

    // Nothing is readable yet: the waker is stored under the token.
    expect(runtime.reactor.poll(registration, READ, waiter, cx)).toBe(false);
    expect(registration.statuses[READ]).toBe(waiter);
    expect(waiter).toEqual({ waker: cx.waker, stored: true });
    expect(runtime.reactor.waiters).toBe(1);

    // The event comes: the waiter is woken once and the status becomes Happened.
    sender.trySendTo(new Uint8Array([1]), receiver.localAddress);
    parkUntil(runtime, () => wakes() > 0);
    expect(wakes()).toBe(1);
    expect(registration.statuses[READ]).toBe(HAPPENED);
    expect(runtime.reactor.waiters).toBe(0);
  });

  test("a reader and a writer of one socket are woken separately", () => {
    using runtime = new Runtime({ driver });
    using socket = UdpSocket.bind("127.0.0.1:0");
    const reader = countingContext(runtime);
    const writer = countingContext(runtime);
    const registration = socket.registration(reader.cx);
    registration.statuses[WRITE] = null; // forget the initial "writable", whenever it came

    // Both wait on the same token, one per direction: neither displaces the other (the seed
    // keeps one status per token, so the second waiter would overwrite the first).
    expect(runtime.reactor.poll(registration, READ, reader.waiter, reader.cx)).toBe(false);
    expect(runtime.reactor.poll(registration, WRITE, writer.waiter, writer.cx)).toBe(false);
    expect(runtime.reactor.waiters).toBe(2);

    // The OS reports the socket readable: only the reader wakes; the writer still waits.
    runtime.reactor.dispatch(...osEvent(registration.token, EVENT_READABLE));
    expect([reader.wakes(), writer.wakes()]).toEqual([1, 0]);
    expect(registration.statuses[WRITE] as unknown).toBe(writer.waiter);

    // Then writable: now the writer wakes too.
    runtime.reactor.dispatch(...osEvent(registration.token, EVENT_WRITABLE));
    expect([reader.wakes(), writer.wakes()]).toEqual([1, 1]);
    expect(runtime.reactor.waiters).toBe(0);
  });

  test("an error or hang-up wakes both directions, so that whoever tries I/O meets it", () => {
    using runtime = new Runtime({ driver });
    using socket = UdpSocket.bind("127.0.0.1:0");
    const reader = countingContext(runtime);
    const writer = countingContext(runtime);
    const registration = socket.registration(reader.cx);
    registration.statuses[WRITE] = null;
    runtime.reactor.poll(registration, READ, reader.waiter, reader.cx);
    runtime.reactor.poll(registration, WRITE, writer.waiter, writer.cx);
    runtime.reactor.dispatch(...osEvent(registration.token, EVENT_ERROR));
    expect([reader.wakes(), writer.wakes()]).toEqual([1, 1]);
  });

  test("an event for a token nobody holds wakes nobody", () => {
    using runtime = new Runtime({ driver });
    runtime.reactor.dispatch(...osEvent(999_999, EVENT_READABLE));
    expect(runtime.reactor.waiters).toBe(0);
  });

  test("two tasks reading one socket both wait, and neither wake is lost", () => {
    using runtime = new Runtime({ driver });
    using socket = UdpSocket.bind("127.0.0.1:0");
    using sender = UdpSocket.bind("127.0.0.1:0");
    const first = countingContext(runtime);
    const second = countingContext(runtime);
    const registration = socket.registration(first.cx);
    runtime.executor.park(0);
    runtime.reactor.poll(registration, READ, first.waiter, first.cx);
    runtime.reactor.poll(registration, READ, second.waiter, second.cx);
    expect(runtime.reactor.waiters).toBe(2);
    sender.trySendTo(new Uint8Array([1]), socket.localAddress);
    parkUntil(runtime, () => first.wakes() + second.wakes() === 2);
    expect([first.wakes(), second.wakes()]).toEqual([1, 1]);
  });

  test("a spurious wake costs one retry that would-blocks again, then the task waits", () => {
    using runtime = tracedRuntime(driver);
    using socket = UdpSocket.bind("127.0.0.1:0");
    using sender = UdpSocket.bind("127.0.0.1:0");
    const buffer = new Uint8Array(16);
    const handle = runtime.spawn(socket.recvFrom(buffer));
    runtime.executor.runReady();
    const attemptsBefore = runtime.events.filter((event) => event.kind === "try-io").length;

    // Wake the task with nothing to read: it retries once, would-block, and parks again.
    (socket.registration({ runtime } as never).statuses[READ] as Waiter).waker!.wake();
    runtime.executor.runReady();
    const attempts = runtime.events.filter((event) => event.kind === "try-io");
    expect(attempts.length - attemptsBefore).toBe(1);
    expect(attempts.at(-1)!.detail).toEndWith("would block");
    expect(handle.finished).toBe(false);
    expect(runtime.reactor.waiters).toBe(1);

    // The real datagram then completes it.
    sender.trySendTo(new Uint8Array([9]), socket.localAddress);
    parkUntil(runtime, () => runtime.executor.ready > 0);
    runtime.executor.runReady();
    expect(handle.value().bytes).toEqual(new Uint8Array([9]));
  });

  test("deregistering removes the statuses, and the old token is never reused", () => {
    using runtime = new Runtime({ driver });
    const { cx, waiter } = countingContext(runtime);
    const first = UdpSocket.bind("127.0.0.1:0");
    const registration = first.registration(cx);
    runtime.reactor.poll(registration, READ, waiter, cx);
    expect(runtime.reactor.registrations).toBe(1);
    expect(runtime.reactor.waiters).toBe(1);
    first.close();
    expect(runtime.reactor.registrations).toBe(0);
    expect(runtime.reactor.waiters).toBe(0);

    // A new socket may get the same descriptor number, but never the same token.
    using second = UdpSocket.bind("127.0.0.1:0");
    expect(second.registration(cx).token).toBeGreaterThan(registration.token);
    expect(() => runtime.reactor.poll(registration, READ, waiter, cx)).toThrow(RegistrationError);
  });

  test("deregistering a registration that is not there is a named error", () => {
    using runtime = new Runtime({ driver });
    using socket = UdpSocket.bind("127.0.0.1:0");
    const registration = runtime.reactor.register(socket.fd, null);
    runtime.reactor.deregister(registration);
    expect(() => runtime.reactor.deregister(registration)).toThrow(
      `Cannot deregister token ${registration.token}: it is not registered`,
    );
  });

  test("a descriptor cannot be registered twice", () => {
    using runtime = new Runtime({ driver });
    using socket = UdpSocket.bind("127.0.0.1:0");
    socket.registration(countingContext(runtime).cx);
    expect(() => runtime.reactor.register(socket.fd, null)).toThrow(
      `Cannot register descriptor ${socket.fd}: it is already registered`,
    );
  });

  test("a task waiting on a socket is woken when data arrives, through the whole runtime", () => {
    using runtime = new Runtime({ driver });
    using server = UdpSocket.bind("127.0.0.1:0");
    const echoed = runtime.blockOn(
      (function* (): Async<string> {
        spawn(
          (function* (): Async<void> {
            const batch = new DatagramBatch(8, 64);
            const count = yield* server.recvBatch(batch);
            yield* server.sendBatch(batch, count);
          })(),
        );
        using client = UdpSocket.bind("127.0.0.1:0");
        yield* client.sendTo(new TextEncoder().encode("ping"), server.localAddress);
        const { bytes } = yield* timeout(client.recvFrom(new Uint8Array(64)), 2000);
        return new TextDecoder().decode(bytes);
      })(),
    );
    expect(echoed).toBe("ping");
  });
});

describe.each(drivers)("Reactor waiters (%s driver)", (driver) => {
  test("two futures of one task waiting on one socket and direction are tracked apart", () => {
    using runtime = new Runtime({ driver });
    using socket = UdpSocket.bind("127.0.0.1:0");
    const { cx, wakes } = countingContext(runtime);
    const first: Waiter = { waker: null, stored: false };
    const second: Waiter = { waker: null, stored: false };
    const registration = socket.registration(cx);
    registration.statuses[READ] = null;
    runtime.reactor.poll(registration, READ, first, cx);
    runtime.reactor.poll(registration, READ, second, cx);
    expect(runtime.reactor.waiters).toBe(2);

    // One is dropped: the other still waits, and the next event wakes the task for it.
    runtime.reactor.forget(registration, READ, first);
    expect(runtime.reactor.waiters).toBe(1);
    runtime.reactor.dispatch(...osEvent(registration.token, EVENT_READABLE));
    expect(wakes()).toBe(1);
    expect(second.stored).toBe(false);
  });

  test("polling again while waiting keeps one entry, not two", () => {
    using runtime = new Runtime({ driver });
    using socket = UdpSocket.bind("127.0.0.1:0");
    const { cx, waiter } = countingContext(runtime);
    const registration = socket.registration(cx);
    registration.statuses[READ] = null;
    runtime.reactor.poll(registration, READ, waiter, cx);
    runtime.reactor.poll(registration, READ, waiter, cx);
    expect(runtime.reactor.waiters).toBe(1);
  });
});
