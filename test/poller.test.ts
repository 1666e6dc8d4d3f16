import { describe, expect, test } from "bun:test";
import { Worker } from "node:worker_threads";
import { EVENT_READABLE, EVENT_WRITABLE } from "../src/sys/abi.ts";
import { socketAddress } from "../src/sys/address.ts";
import { SystemError } from "../src/sys/errors.ts";
import { asFd, asToken, EventBuffer, type Fd, Interest, Poller, pollerBackend, type Token } from "../src/sys/poller.ts";
import { closeDescriptor, udpBind, udpLocalAddress, udpOpen } from "../src/sys/udp.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";

function boundSocket(host = "127.0.0.1"): { fd: Fd; [Symbol.dispose](): void } {
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
    poller.register(receiver.fd, asToken(1234567), Interest.READABLE);

    // Nothing has been sent: nothing is readable.
    expect(poller.wait(events, 0)).toBe(0);

    // A datagram arrives: the socket is readable under its token.
    using sender = UdpSocket.bind("127.0.0.1:0");
    sender.trySendTo(new Uint8Array([1, 2, 3]), udpLocalAddress(receiver.fd));
    expect(poller.wait(events, 1000)).toBe(1);
    expect(events.token(0)).toBe(asToken(1234567));
    expect(events.flags(0) & EVENT_READABLE).toBe(EVENT_READABLE);
    expect(events.isWaker(0)).toBe(false);
  });

  test("tokens keep all 53 bits a number can hold", () => {
    using poller = Poller.open();
    using socket = boundSocket();
    const events = new EventBuffer(8);
    poller.register(socket.fd, asToken(Number.MAX_SAFE_INTEGER), Interest.WRITABLE);
    expect(poller.wait(events, 1000)).toBe(1);
    expect(events.token(0)).toBe(asToken(Number.MAX_SAFE_INTEGER));
    expect(events.flags(0) & EVENT_WRITABLE).toBe(EVENT_WRITABLE);
  });

  test("deregister stops events", () => {
    using poller = Poller.open();
    using receiver = boundSocket();
    using sender = UdpSocket.bind("127.0.0.1:0");
    const events = new EventBuffer(8);
    poller.register(receiver.fd, asToken(1), Interest.READABLE);
    poller.deregister(receiver.fd);
    sender.trySendTo(new Uint8Array([1]), udpLocalAddress(receiver.fd));
    expect(poller.wait(events, 50)).toBe(0);
  });

  test("registering twice, deregistering an unknown descriptor and bad tokens are named errors", () => {
    using poller = Poller.open();
    using socket = boundSocket();
    expect(() => poller.reregister(socket.fd, asToken(1), Interest.READABLE)).toThrow(
      expect.objectContaining({ code: "ENOENT", syscall: "poller_reregister" }),
    );
    poller.register(socket.fd, asToken(1), Interest.READABLE);
    expect(() => poller.register(socket.fd, asToken(2), Interest.BOTH)).toThrow(
      expect.objectContaining({ name: "SystemError", code: "EEXIST", syscall: "poller_register" }),
    );
    poller.deregister(socket.fd);
    expect(() => poller.deregister(socket.fd)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    const closed = boundSocket();
    const closedFd = closed.fd;
    closed[Symbol.dispose]();
    expect(() => poller.register(closedFd, asToken(1), Interest.READABLE)).toThrow(expect.objectContaining({ code: "EBADF" }));
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

describe("descriptors, tokens and interests", () => {
  test("bad descriptors and tokens are refused with their value before reaching the library", () => {
    expect(() => asFd(-1)).toThrow("descriptor -1 is not a whole number from 0 to 2147483647");
    expect(() => asFd(1.5)).toThrow(RangeError);
    expect(() => asFd(2 ** 31)).toThrow(RangeError);
    expect(() => asToken(-1)).toThrow("token -1 is not a whole number from 0 to 9007199254740991");
    expect(() => asToken(2 ** 60)).toThrow(RangeError);
    expect(asFd(0)).toBe(0 as Fd);
    expect(asToken(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER as Token);
  });

  test("a value cast past the types is still checked at the call", () => {
    using poller = Poller.open();
    using socket = boundSocket();
    expect(() => poller.register(-1 as Fd, asToken(1), Interest.READABLE)).toThrow("descriptor -1");
    expect(() => poller.register(socket.fd, -1 as Token, Interest.READABLE)).toThrow("token -1");
    expect(() => poller.register(socket.fd, asToken(1), 0 as unknown as Interest)).toThrow("interest 0 is not an Interest");
    expect(() => poller.deregister(-5 as Fd)).toThrow("descriptor -5");
  });

  test("an interest is readable, writable or both, and never empty", () => {
    expect([Interest.READABLE.isReadable, Interest.READABLE.isWritable]).toEqual([true, false]);
    expect([Interest.WRITABLE.isReadable, Interest.WRITABLE.isWritable]).toEqual([false, true]);
    expect(Interest.READABLE.add(Interest.WRITABLE)).toBe(Interest.BOTH);
    expect(Interest.WRITABLE.add(Interest.READABLE)).toBe(Interest.BOTH);
    expect(Interest.READABLE.add(Interest.READABLE)).toBe(Interest.READABLE);
    expect(`${Interest.BOTH}`).toBe("readable | writable");
  });

  // Checked by `tsc --noEmit` (in `npm test`), never run: each line below must fail to compile,
  // or tsc reports the `@ts-expect-error` as unused. Running it would register descriptor 1.
  function swappedArgumentsDoNotCompile(poller: Poller, fd: Fd, token: Token): void {
    // @ts-expect-error: a token where the descriptor goes, and the descriptor as the token.
    poller.register(token, fd, Interest.READABLE);
    // @ts-expect-error: a plain number is neither a descriptor nor a token.
    poller.register(3, token, Interest.READABLE);
    // @ts-expect-error: a plain number is not a token.
    poller.reregister(fd, 7, Interest.READABLE);
    // @ts-expect-error: interests are the class's values, not bits.
    poller.register(fd, token, 1);
    // @ts-expect-error: there is no way to make an empty interest.
    new Interest(0);
    // @ts-expect-error: a token is not a descriptor.
    poller.deregister(token);
  }

  void swappedArgumentsDoNotCompile;
});
