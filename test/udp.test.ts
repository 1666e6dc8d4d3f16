import { describe, expect, test } from "bun:test";
import { DatagramBatch } from "../src/net/datagram-batch.ts";
import { SocketClosedError, UdpSocket } from "../src/net/udp-socket.ts";
import type { Async } from "../src/runtime/future.ts";
import { Runtime, spawn } from "../src/runtime/runtime.ts";
import { sleep } from "../src/runtime/timers.ts";
import { drivers, openSockets, socketsOpenedSince } from "./helpers.ts";

/** Polls a try* call until it is ready: the sockets are non-blocking and loopback is quick. */
function until<T>(attempt: () => { state: "ok"; value: T } | { state: "would-block" }): T {
  const deadline = performance.now() + 2000;
  for (;;) {
    const result = attempt();
    if (result.state === "ok") return result.value;
    if (performance.now() > deadline) throw new Error("nothing arrived within 2 s");
  }
}

describe.each([
  ["IPv4", "127.0.0.1"],
  ["IPv6", "::1"],
])("UDP over %s", (_family, host) => {
  const any = host.includes(":") ? `[${host}]:0` : `${host}:0`;

  test("port 0 binds to a port the OS picks, and the socket reports it", () => {
    using socket = UdpSocket.bind(any);
    expect(socket.localAddress.host).toBe(host);
    expect(socket.localAddress.port).toBeGreaterThan(0);
  });

  test("one datagram makes the round trip with its bytes and peer address", () => {
    using a = UdpSocket.bind(any);
    using b = UdpSocket.bind(any);
    const buffer = new Uint8Array(100);

    // Nothing sent yet: b would block.
    expect(b.tryRecvFrom(buffer)).toEqual({ state: "would-block" });

    // a → b, then b echoes it back to the peer it saw.
    const message = new TextEncoder().encode("hello, reactor");
    expect(a.trySendTo(message, b.localAddress)).toEqual({ state: "ok", value: message.byteLength });
    const received = until(() => b.tryRecvFrom(buffer));
    expect(received.bytes).toEqual(message);
    expect(received.peer).toEqual(a.localAddress);
    expect(received.truncated).toBe(false);
    expect(b.trySendTo(received.bytes, received.peer).state).toBe("ok");
    const echoed = until(() => a.tryRecvFrom(new Uint8Array(100)));
    expect(echoed.bytes).toEqual(message);
    expect(echoed.peer).toEqual(b.localAddress);
  });

  test("a batch of 64 datagrams makes the round trip with bytes and peers intact", () => {
    using client = UdpSocket.bind(any);
    using server = UdpSocket.bind(any);
    const outgoing = new DatagramBatch(64, 128);
    for (let index = 0; index < 64; index++) {
      const payload = new Uint8Array(index + 1).map((_, offset) => (index * 7 + offset) & 0xff);
      outgoing.set(index, payload, server.localAddress);
    }
    // All 64 go in one sendmmsg.
    const sent = client.trySendBatch(outgoing, 64);
    expect(sent.state === "ok" && { ...sent.value }).toEqual({
      next: 64,
      sent: 64,
      datagrams: 64,
      bytes: (64 * 65) / 2,
      refused: 0,
      refusedDatagrams: 0,
      stalled: null,
    });

    const incoming = new DatagramBatch(64, 128);
    let received = 0;
    const seen: Uint8Array[] = [];
    while (received < 64) {
      const count = until(() => server.tryRecvBatch(incoming));
      for (let index = 0; index < count; index++) {
        expect(incoming.peer(index)).toEqual(client.localAddress);
        seen.push(incoming.payload(index).slice());
      }
      received += count;
    }
    seen.forEach((payload, index) => expect(payload).toEqual(outgoing.payload(index)));

    // The server echoes a batch straight from the buffers it received into.
    const echoed = server.trySendBatch(incoming, 1);
    expect(echoed.state === "ok" && echoed.value.sent).toBe(1);
    expect(until(() => client.tryRecvFrom(new Uint8Array(128))).peer).toEqual(server.localAddress);
  });

  test("a zero-length buffer receives the datagram as truncated, and an empty datagram is not", () => {
    using a = UdpSocket.bind(any);
    using b = UdpSocket.bind(any);
    a.trySendTo(new Uint8Array(3), b.localAddress);
    const cut = until(() => b.tryRecvFrom(new Uint8Array(0)));
    expect(cut.bytes.byteLength).toBe(0);
    expect(cut.truncated).toBe(true);
    a.trySendTo(new Uint8Array(0), b.localAddress);
    const empty = until(() => b.tryRecvFrom(new Uint8Array(0)));
    expect(empty.truncated).toBe(false);
  });

  test("a datagram larger than the buffer is reported truncated", () => {
    using a = UdpSocket.bind(any);
    using b = UdpSocket.bind(any);
    a.trySendTo(new Uint8Array(10).fill(7), b.localAddress);
    const received = until(() => b.tryRecvFrom(new Uint8Array(4)));
    expect(received.truncated).toBe(true);
    expect(received.bytes).toEqual(new Uint8Array(4).fill(7));
  });
});

describe("UdpSocket", () => {
  test("binding a port in use names the address and the errno", () => {
    using first = UdpSocket.bind("127.0.0.1:0");
    const address = `127.0.0.1:${first.localAddress.port}`;
    expect(() => UdpSocket.bind(address)).toThrow(`Cannot bind UDP socket to ${address}: address already in use (EADDRINUSE)`);
  });

  test("two sockets with reusePort share a port", () => {
    using first = UdpSocket.bind("127.0.0.1:0", { reusePort: true });
    using second = UdpSocket.bind({ host: "127.0.0.1", port: first.localAddress.port }, { reusePort: true });
    expect(second.localAddress.port).toBe(first.localAddress.port);
    expect(first.option("reusePort")).toBe(1);
  });

  test("buffer sizes can be set", () => {
    using socket = UdpSocket.bind("127.0.0.1:0", { recvBufferBytes: 1 << 20, sendBufferBytes: 1 << 18 });
    expect(socket.option("recvBuffer")).toBeGreaterThanOrEqual(1 << 18);
    expect(socket.option("sendBuffer")).toBeGreaterThanOrEqual(1 << 17);
  });

  test("operations on a closed socket give a named error; closing twice is harmless", () => {
    const socket = UdpSocket.bind("127.0.0.1:0");
    socket.close();
    socket.close();
    expect(() => socket.tryRecvFrom(new Uint8Array(8))).toThrow(SocketClosedError);
    expect(() => socket.trySendTo(new Uint8Array(1), socket.localAddress)).toThrow(
      `Cannot send on UDP socket 127.0.0.1:${socket.localAddress.port}: it is closed`,
    );
    expect(() => socket.option("reusePort")).toThrow(SocketClosedError);
  });

  test("an address of the wrong family is refused by the OS, named", () => {
    using socket = UdpSocket.bind("127.0.0.1:0");
    expect(() => socket.trySendTo(new Uint8Array(1), { family: 6, host: "::1", port: 9, scopeId: 0 })).toThrow(
      expect.objectContaining({ name: "SystemError", syscall: "sendmsg" }),
    );
  });

  test("bad batch sizes are refused before any system call", () => {
    expect(() => new DatagramBatch(0, 10)).toThrow("batch capacity 0");
    expect(() => new DatagramBatch(257, 10)).toThrow(RangeError);
    expect(() => new DatagramBatch(1, 0)).toThrow("slot size 0");
    expect(() =>
      new DatagramBatch(1, 4).set(0, new Uint8Array(5), { family: 4, host: "127.0.0.1", port: 1, scopeId: 0 }),
    ).toThrow("a datagram of 5 bytes does not fit a slot of 4");
  });

  test("a batch send reports each datagram the OS refuses, and sends the others", () => {
    using client = UdpSocket.bind("127.0.0.1:0");
    using server = UdpSocket.bind("127.0.0.1:0");
    const batch = new DatagramBatch(4, 8);
    batch.set(0, new Uint8Array([1]), server.localAddress);
    // An IPv6 peer for an IPv4 socket: the OS refuses this one datagram, not the socket.
    batch.set(1, new Uint8Array([2, 2]), { family: 6, host: "::1", port: 9, scopeId: 0 });
    batch.set(2, new Uint8Array([3, 3, 3]), server.localAddress);
    const result = client.trySendBatch(batch, 3);
    expect(result.state === "ok" && { ...result.value }).toEqual({
      next: 3,
      sent: 2,
      datagrams: 2,
      bytes: 4,
      refused: 1,
      refusedDatagrams: 1,
      stalled: null,
    });
    expect([batch.refusal(0), batch.refusal(2)]).toEqual([null, null]);
    expect(batch.refusal(1)).toMatch(/^E[A-Z]+$/);
    // The two others arrived, in order.
    expect(until(() => server.tryRecvFrom(new Uint8Array(8))).bytes).toEqual(new Uint8Array([1]));
    expect(until(() => server.tryRecvFrom(new Uint8Array(8))).bytes).toEqual(new Uint8Array([3, 3, 3]));
  });

  test("a batch send from a start index sends only the rest of the range", () => {
    using client = UdpSocket.bind("127.0.0.1:0");
    using server = UdpSocket.bind("127.0.0.1:0");
    const batch = new DatagramBatch(4, 8);
    for (let index = 0; index < 4; index++) batch.set(index, new Uint8Array([index]), server.localAddress);
    const result = client.trySendBatch(batch, 3, { start: 1 });
    expect(result.state === "ok" && { ...result.value }).toEqual({
      next: 3,
      sent: 2,
      datagrams: 2,
      bytes: 2,
      refused: 0,
      refusedDatagrams: 0,
      stalled: null,
    });
    expect(until(() => server.tryRecvFrom(new Uint8Array(8))).bytes).toEqual(new Uint8Array([1]));
    expect(until(() => server.tryRecvFrom(new Uint8Array(8))).bytes).toEqual(new Uint8Array([2]));
  });

  test("a batch range outside the batch is refused, naming the value, before anything is sent", () => {
    using socket = UdpSocket.bind("127.0.0.1:0");
    const batch = new DatagramBatch(4, 8);
    expect(() => socket.trySendBatch(batch, 5)).toThrow(
      "trySendBatch: end 5 is not a whole number from 0 to the batch capacity 4",
    );
    expect(() => socket.sendBatch(batch, 2, { start: 3 })).toThrow("sendBatch: start 3 is not a whole number from 0 to end 2");
    expect(() => socket.trySendBatch(batch, 1.5)).toThrow("end 1.5");
  });

  test("binding something that is not an address names it before a descriptor is opened", () => {
    expect(() => UdpSocket.bind(7777 as never)).toThrow(
      expect.objectContaining({ name: "AddressError", message: expect.stringContaining("UdpSocket.bind(7777)") }),
    );
    expect(() => UdpSocket.bind(null as never)).toThrow("UdpSocket.bind(null)");
    expect(() => UdpSocket.bind({ port: 1 } as never)).toThrow("UdpSocket.bind(Object)");
  });

  test("a buffer that is not a Uint8Array is refused, naming it, and the datagram stays queued", () => {
    using a = UdpSocket.bind("127.0.0.1:0");
    using b = UdpSocket.bind("127.0.0.1:0");
    a.trySendTo(new Uint8Array([1, 2, 3, 4]), b.localAddress);
    for (const buffer of [new DataView(new ArrayBuffer(8)), new Uint16Array(4), new Float64Array(2)]) {
      const name = buffer.constructor.name;
      expect(() => b.recvFrom(buffer as never)).toThrow(`recvFrom: ${name} is not a Uint8Array`);
      expect(() => b.tryRecvFrom(buffer as never)).toThrow(`tryRecvFrom: ${name} is not a Uint8Array`);
      expect(() => a.trySendTo(buffer as never, b.localAddress)).toThrow(`trySendTo: ${name} is not a Uint8Array`);
    }
    // Nothing was consumed: the datagram is still there, whole.
    expect(until(() => b.tryRecvFrom(new Uint8Array(8))).bytes).toEqual(new Uint8Array([1, 2, 3, 4]));
  });

  test("a peer that is not an address is refused by sendTo before a future is made", () => {
    using socket = UdpSocket.bind("127.0.0.1:0");
    expect(() => socket.sendTo(new Uint8Array(1), 9 as never)).toThrow("sendTo: the peer 9 is not a socket address");
    expect(() => socket.sendTo(new Uint8Array(1), { host: "nowhere", port: 1 } as never)).toThrow('"nowhere"');
  });
});

describe.each(drivers)("readiness futures (%s driver)", (driver) => {
  test("readable() waits for a datagram after a try said would-block, then the try succeeds", () => {
    using runtime = new Runtime({ driver });
    using server = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    const received = runtime.blockOn(
      (function* (): Async<number[]> {
        const readable = server.readable(); // made once, awaited as often as needed
        const buffer = new Uint8Array(8);
        // Nothing has arrived: the try says so, and the task waits for the reactor.
        expect(server.tryRecvFrom(buffer).state).toBe("would-block");
        spawn(
          (function* (): Async<void> {
            yield* sleep(5);
            client.trySendTo(new Uint8Array([42]), server.localAddress);
          })(),
        );
        for (;;) {
          const result = server.tryRecvFrom(buffer);
          if (result.state === "ok") return [...result.value.bytes];
          yield* readable;
        }
      })(),
    );
    expect(received).toEqual([42]);
  });

  test("sendBatch resolves to the report once every datagram is sent or refused", () => {
    using runtime = new Runtime({ driver });
    using server = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    const batch = new DatagramBatch(3, 4);
    batch.set(0, new Uint8Array([1]), server.localAddress);
    batch.set(1, new Uint8Array([2]), { family: 6, host: "::1", port: 9, scopeId: 0 });
    batch.set(2, new Uint8Array([3]), server.localAddress);
    const report = runtime.blockOn(client.sendBatch(batch, 3));
    expect({ ...report }).toEqual({ next: 3, sent: 2, datagrams: 2, bytes: 2, refused: 1, refusedDatagrams: 1, stalled: null });
    expect(batch.refusal(1)).not.toBeNull();
  });
});

test("a datagram received into a batch has no refusal, whatever an earlier send refused in its slot", () => {
  using server = UdpSocket.bind("127.0.0.1:0");
  using client = UdpSocket.bind("127.0.0.1:0");
  const batch = new DatagramBatch(2, 4);
  // An IPv6 peer on an IPv4 socket: slot 0's datagram is refused.
  batch.set(0, new Uint8Array([1]), { family: 6, host: "::1", port: 9, scopeId: 0 });
  expect(until(() => client.trySendBatch(batch, 1)).refused).toBe(1);
  expect(batch.refusal(0)).not.toBeNull();

  // Now the slot holds a datagram received from a client: it was never handed to a send.
  client.trySendTo(new Uint8Array([2]), server.localAddress);
  expect(until(() => server.tryRecvBatch(batch))).toBe(1);
  expect([batch.payload(0)[0], batch.refusal(0)]).toEqual([2, null]);
});

describe("bad values at the socket's edge, refused before a descriptor is opened or a slot touched", () => {
  // Which sockets are new, not how many there are (see openSockets).

  test("bad options of bind are named, and no descriptor is opened for them", () => {
    const before = openSockets();
    expect(() => UdpSocket.bind("127.0.0.1:0", { reusePort: "yes" as never })).toThrow(
      'UdpSocket.bind: reusePort "yes" is not true or false',
    );
    // Not taken as "no": a caller who wrote { offload: "on" } wants it.
    expect(() => UdpSocket.bind("127.0.0.1:0", { offload: "on" as never })).toThrow(
      'UdpSocket.bind: offload "on" is not true or false',
    );
    expect(() => UdpSocket.bind("127.0.0.1:0", { recvBufferBytes: -1 })).toThrow(
      "UdpSocket.bind: recvBufferBytes -1 is not a whole number of bytes from 1 to 2^31 - 1",
    );
    expect(() => UdpSocket.bind("127.0.0.1:0", { sendBufferBytes: 1.5 })).toThrow("sendBufferBytes 1.5");
    expect(() => UdpSocket.bind({ host: 7 as never, port: 1 })).toThrow("UdpSocket.bind(Object)");
    expect(socketsOpenedSince(before)).toEqual([]);
  });

  test("fromDescriptor refuses a bad offload option, named, and leaves the descriptor to its owner", () => {
    using original = UdpSocket.bind("127.0.0.1:0");
    const fd = original.fd;
    expect(() => UdpSocket.fromDescriptor(fd, { offload: 1 as never })).toThrow(
      "UdpSocket.fromDescriptor: offload 1 is not true or false",
    );
    expect(original.trySendTo(new Uint8Array([1]), original.localAddress).state).toBe("ok"); // still open
  });

  test("a batch refuses a payload that is not a Uint8Array and a bad peer, and keeps its slot", () => {
    const batch = new DatagramBatch(2, 8);
    const peer = { family: 4 as const, host: "127.0.0.1", port: 9000, scopeId: 0 };
    batch.set(0, new Uint8Array([1, 2]), peer);
    expect(() => batch.set(0, new Uint16Array(2) as never, peer)).toThrow("DatagramBatch.set: Uint16Array is not a Uint8Array");
    expect(() => batch.set(0, new Uint8Array(1), { ...peer, port: 70000 })).toThrow("port 70000");
    expect(() => batch.set(0, new Uint8Array(1), { ...peer, host: 5 as never })).toThrow("host 5 is not an IP address text");
    expect([batch.size(0), batch.peerPort(0), [...batch.payload(0)]]).toEqual([2, 9000, [1, 2]]);
  });

  test("a batch operation given something else than a DatagramBatch names it", () => {
    using socket = UdpSocket.bind("127.0.0.1:0");
    expect(() => socket.recvBatch({} as never)).toThrow("recvBatch: Object is not a DatagramBatch");
    expect(() => socket.tryRecvBatch(null as never)).toThrow("tryRecvBatch: null is not a DatagramBatch");
    expect(() => socket.sendBatch(new Uint8Array(4) as never, 1)).toThrow("sendBatch: Uint8Array is not a DatagramBatch");
  });
});
