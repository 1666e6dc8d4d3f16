import { describe, expect, test } from "bun:test";
import { DatagramBatch } from "../src/net/datagram-batch.ts";
import { SocketClosedError, UdpSocket } from "../src/net/udp-socket.ts";

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
    expect(client.trySendBatch(outgoing, 64)).toBe(64);

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
    expect(server.trySendBatch(incoming, 1)).toBe(1);
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
});
