import { describe, expect, test } from "bun:test";
import { Worker } from "node:worker_threads";
import { EVENT_READABLE, EVENT_WRITABLE, INTEREST_READABLE, INTEREST_WRITABLE } from "../src/sys/abi.ts";
import { socketAddress } from "../src/sys/address.ts";
import { SystemError } from "../src/sys/errors.ts";
import { EventBuffer, Poller, pollerBackend } from "../src/sys/poller.ts";
import { closeDescriptor, udpBind, udpLocalAddress, udpOpen } from "../src/sys/udp.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";

function boundSocket(host = "127.0.0.1"): { fd: number; [Symbol.dispose](): void } {
  const fd = udpOpen(host.includes(":") ? 6 : 4);
  udpBind(fd, socketAddress(host, 0));
  return { fd, [Symbol.dispose]: () => closeDescriptor(fd) };
}

describe("Poller", () => {
  test("the backend is epoll on Linux and kqueue on macOS", () => {
    expect(pollerBackend()).toBe(process.platform === "linux" ? "epoll" : "kqueue");
  });

  test("a wait with nothing ready times out with no events", () => {
    using poller = Poller.open();
    const events = new EventBuffer(8);
    const started = performance.now();
    expect(poller.wait(events, 50)).toBe(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  test("a datagram sent to a registered socket makes it readable, reported with its token", () => {
    using poller = Poller.open();
    using receiver = boundSocket();
    const events = new EventBuffer(8);
    poller.register(receiver.fd, 1234567, INTEREST_READABLE);

    // Nothing has been sent: nothing is readable.
    expect(poller.wait(events, 0)).toBe(0);

    // A datagram arrives: the socket is readable under its token.
    using sender = UdpSocket.bind("127.0.0.1:0");
    sender.trySendTo(new Uint8Array([1, 2, 3]), udpLocalAddress(receiver.fd));
    expect(poller.wait(events, 1000)).toBe(1);
    expect(events.token(0)).toBe(1234567);
    expect(events.flags(0) & EVENT_READABLE).toBe(EVENT_READABLE);
    expect(events.isWaker(0)).toBe(false);
  });

  test("tokens keep all 53 bits a number can hold", () => {
    using poller = Poller.open();
    using socket = boundSocket();
    const events = new EventBuffer(8);
    poller.register(socket.fd, Number.MAX_SAFE_INTEGER, INTEREST_WRITABLE);
    expect(poller.wait(events, 1000)).toBe(1);
    expect(events.token(0)).toBe(Number.MAX_SAFE_INTEGER);
    expect(events.flags(0) & EVENT_WRITABLE).toBe(EVENT_WRITABLE);
  });

  test("deregister stops events", () => {
    using poller = Poller.open();
    using receiver = boundSocket();
    using sender = UdpSocket.bind("127.0.0.1:0");
    const events = new EventBuffer(8);
    poller.register(receiver.fd, 1, INTEREST_READABLE);
    poller.deregister(receiver.fd);
    sender.trySendTo(new Uint8Array([1]), udpLocalAddress(receiver.fd));
    expect(poller.wait(events, 50)).toBe(0);
  });

  test("registering twice, deregistering an unknown descriptor and bad tokens are named errors", () => {
    using poller = Poller.open();
    using socket = boundSocket();
    poller.register(socket.fd, 1, INTEREST_READABLE);
    expect(() => poller.register(socket.fd, 2, INTEREST_READABLE)).toThrow(
      expect.objectContaining({ name: "SystemError", code: "EEXIST", syscall: "poller_register" }),
    );
    poller.deregister(socket.fd);
    expect(() => poller.deregister(socket.fd)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(() => poller.register(-1, 1, INTEREST_READABLE)).toThrow(expect.objectContaining({ code: "EBADF" }));
    expect(() => poller.register(socket.fd, -1, INTEREST_READABLE)).toThrow("token -1 is not a whole number");
    expect(() => poller.register(socket.fd, 2 ** 60, INTEREST_READABLE)).toThrow(RangeError);
  });

  test("the waker interrupts a blocking wait from a Bun Worker", async () => {
    using poller = Poller.open();
    const events = new EventBuffer(8);
    const worker = new Worker(new URL("./fixtures/wake-after.ts", import.meta.url), {
      workerData: { handle: poller.handle, delayMs: 100 },
    });
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    // A wait with no timeout: only the worker's wake can end it.
    const started = performance.now();
    expect(poller.wait(events, -1)).toBe(1);
    expect(events.isWaker(0)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
    await exited;
  });

  test("a closed poller refuses to be used, and closing twice is harmless", () => {
    const poller = Poller.open();
    poller.close();
    poller.close();
    expect(() => poller.wait(new EventBuffer(1), 0)).toThrow("Cannot wait: the poller is closed");
  });

  test("an event buffer's capacity is checked", () => {
    expect(() => new EventBuffer(0)).toThrow(RangeError);
    expect(() => new EventBuffer(1025)).toThrow("event capacity 1025");
  });

  test("errors are SystemErrors with the syscall", () => {
    using socket = boundSocket();
    using poller = Poller.open();
    try {
      poller.deregister(socket.fd);
      throw new Error("unreachable");
    } catch (error) {
      expect(error).toBeInstanceOf(SystemError);
      expect((error as SystemError).message).toBe(
        `Cannot deregister descriptor ${socket.fd}: no such file or directory (ENOENT)`,
      );
    }
  });
});
