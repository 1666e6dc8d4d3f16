// A connected UDP socket (UdpSocket.connect): sends without an address, hears only its peer, and
// learns of its peer's closed port on the next call; disconnect undoes it all on the same port.
import { describe, expect, test } from "bun:test";
import { AddressError } from "../src/sys/address.ts";
import { SystemError } from "../src/sys/errors.ts";
import { DatagramBatch } from "../src/net/datagram-batch.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { timeout } from "../src/runtime/timers.ts";
import { drivers } from "./helpers.ts";

const text = (value: string) => new TextEncoder().encode(value);
const read = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe.each([
  ["IPv4", "127.0.0.1:0"],
  ["IPv6", "[::1]:0"],
])("a connected socket over %s", (_family, address) => {
  test("hears only its peer, sends to it without an address, and hears everyone again once disconnected", () => {
    using socket = UdpSocket.bind(address);
    using peer = UdpSocket.bind(address);
    using stranger = UdpSocket.bind(address);
    const buffer = new Uint8Array(64);
    expect(socket.connection).toBeNull();

    using link = socket.connect(peer.localAddress);
    expect(socket.connection).toBe(link);
    expect(link.peer).toEqual(peer.localAddress);
    expect(link.kernelPeer()).toEqual(peer.localAddress);

    // The stranger's datagram is dropped by the kernel; the peer's arrives.
    stranger.trySendTo(text("stranger"), socket.localAddress);
    peer.trySendTo(text("peer"), socket.localAddress);
    const first = socket.tryRecvFrom(buffer);
    expect(first.state === "ok" && read(first.value.bytes)).toBe("peer");
    expect(socket.tryRecvFrom(buffer).state).toBe("would-block");

    // A batch receive the same: only the peer's datagrams.
    stranger.trySendTo(text("stranger"), socket.localAddress);
    peer.trySendTo(text("peer again"), socket.localAddress);
    const received = new DatagramBatch(4, 64);
    expect(socket.tryRecvBatch(received)).toEqual({ state: "ok", value: 1 });
    expect(read(received.payload(0))).toBe("peer again");

    // Sends need no address, one by one or in a batch (whose entries' peers are not used).
    expect(link.trySend(text("one"))).toEqual({ state: "ok", value: 3 });
    const batch = new DatagramBatch(2, 16);
    batch.set(0, text("two"), stranger.localAddress);
    batch.set(1, text("three"), stranger.localAddress);
    const report = link.trySendBatch(batch, 2);
    expect(report.state === "ok" && report.value.sent).toBe(2);
    const heard = [0, 1, 2].map(() => {
      const result = peer.tryRecvFrom(buffer);
      return result.state === "ok" ? read(result.value.bytes) : null;
    });
    expect(heard).toEqual(["one", "two", "three"]);
    expect(stranger.tryRecvFrom(buffer).state).toBe("would-block");

    // Disconnected: same local address, no peer, everyone heard.
    link.disconnect();
    expect(link.connected).toBe(false);
    expect(socket.connection).toBeNull();
    expect(socket.localAddress).toEqual(socket.localAddress);
    stranger.trySendTo(text("stranger again"), socket.localAddress);
    const again = socket.tryRecvFrom(buffer);
    expect(again.state === "ok" && read(again.value.bytes)).toBe("stranger again");
    expect(() => link.trySend(text("late"))).toThrow("it was disconnected or replaced");
  });

  for (const driver of drivers)
    test(`the peer's closed port is reported by the next receive, as ECONNREFUSED (${driver} driver)`, () => {
      using socket = UdpSocket.bind(address);
      const departed = UdpSocket.bind(address);
      const gone = departed.localAddress;
      departed.close();
      using runtime = new Runtime({ driver });
      using _link = socket.connect(gone);
      socket.connection!.trySend(text("anyone there?"));
      const error = runtime.blockOn(
        (function* () {
          try {
            yield* timeout(socket.recvFrom(new Uint8Array(64)), 5000);
            return null;
          } catch (caught) {
            return caught;
          }
        })(),
      );
      expect(error).toBeInstanceOf(SystemError);
      expect((error as SystemError).code).toBe("ECONNREFUSED");
    });

  test("a second connect replaces the first, whose sends are then refused", () => {
    using socket = UdpSocket.bind(address);
    using one = UdpSocket.bind(address);
    using two = UdpSocket.bind(address);
    const first = socket.connect(one.localAddress);
    const second = socket.connect(two.localAddress);
    expect(first.connected).toBe(false);
    expect(socket.connection).toBe(second);
    expect(second.kernelPeer()).toEqual(two.localAddress);
    second.trySend(text("to two"));
    expect(two.tryRecvFrom(new Uint8Array(16)).state).toBe("ok");
    expect(one.tryRecvFrom(new Uint8Array(16)).state).toBe("would-block");
  });
});

describe("connect refuses bad peers before any system call", () => {
  test("a peer of the other family, port 0, or a host name is refused, naming it", () => {
    using socket = UdpSocket.bind("127.0.0.1:0");
    expect(() => socket.connect("[::1]:53")).toThrow(new AddressError("connect: the peer [::1]:53 is IPv6, the socket IPv4"));
    expect(() => socket.connect("127.0.0.1:0")).toThrow("has port 0");
    expect(() => socket.connect("localhost:53")).toThrow('"localhost"');
    expect(socket.connection).toBeNull();
  });

  test("a closed socket cannot connect", () => {
    const socket = UdpSocket.bind("127.0.0.1:0");
    socket.close();
    expect(() => socket.connect("127.0.0.1:9")).toThrow("it is closed");
  });
});
