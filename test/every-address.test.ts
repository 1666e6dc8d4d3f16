// bindEveryAddress: a wildcard socket with a socket of its own on each of the host's addresses
// beside it, on one port. Loopback answers to all of 127.0.0.0/8, but the host's address list
// has only 127.0.0.1: 127.0.0.2 stands for an address without a socket of its own.
import { describe, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import {
  AddressError,
  bindEveryAddress,
  type EveryAddress,
  hostAddresses,
  type Received,
  Runtime,
  type SocketAddress,
  SystemError,
  timeout,
  UdpSocket,
} from "../src/index.ts";
import { openSockets, socketsOpenedSince } from "./helpers.ts";

/** Closes every socket of `bound`. */
function closeAll(bound: EveryAddress): void {
  for (const socket of [bound.wildcard, ...bound.addresses]) socket.close();
}

/** The socket of `bound` on `host`. */
function socketOn(bound: EveryAddress, host: string): UdpSocket {
  const socket = bound.addresses.find((one) => one.localAddress.host === host);
  if (socket === undefined)
    throw new Error(`no socket of its own on ${host}: ${bound.addresses.map((one) => one.localAddress.host)}`);
  return socket;
}

/** The next datagram `socket` receives, within 2 s. */
function receive(socket: UdpSocket): Received & { text: string } {
  using runtime = new Runtime();
  const buffer = new Uint8Array(64);
  const received = runtime.blockOn(timeout(socket.recvFrom(buffer), 2000));
  return { ...received, text: new TextDecoder().decode(received.bytes) };
}

/** Sends `text` to `to` from a new socket connected to it; returns that socket. */
function connectedSend(to: SocketAddress, text: string): UdpSocket {
  const client = UdpSocket.bind({ host: to.family === 6 ? "::1" : "127.0.0.1", port: 0 });
  client.connect(to);
  expect(client.trySendTo(new TextEncoder().encode(text), to).state).toBe("ok");
  return client;
}

describe("bindEveryAddress", () => {
  test("a datagram to an address of the host reaches that address's own socket, whose reply goes from it", () => {
    const bound = bindEveryAddress("0.0.0.0:0");
    try {
      const own = socketOn(bound, "127.0.0.1");
      expect(own.localAddress.port).toBe(bound.wildcard.localAddress.port);
      expect(own.receives.destination).toBe(false); // no control message on this one
      using client = connectedSend(own.localAddress, "to 127.0.0.1");
      const received = receive(own);
      expect(received.text).toBe("to 127.0.0.1");
      expect(own.trySendTo(new TextEncoder().encode("back"), received.peer).state).toBe("ok");
      const reply = receive(client); // a connected client hears only its server's address
      expect([reply.text, reply.peer.host]).toEqual(["back", "127.0.0.1"]);
      expect(bound.wildcard.tryRecvFrom(new Uint8Array(64)).state).toBe("would-block");
    } finally {
      closeAll(bound);
    }
  });

  test("a datagram to an address without a socket of its own reaches the wildcard socket, with its destination", () => {
    const bound = bindEveryAddress("0.0.0.0:0");
    try {
      expect(bound.addresses.map((socket) => socket.localAddress.host)).not.toContain("127.0.0.2");
      using _client = connectedSend({ family: 4, host: "127.0.0.2", port: bound.wildcard.localAddress.port, scopeId: 0 }, "x");
      const received = receive(bound.wildcard);
      expect([received.text, received.destination?.host]).toEqual(["x", "127.0.0.2"]);
    } finally {
      closeAll(bound);
    }
  });

  test("every address of the host's family has a socket of its own, and on :: the IPv4 ones too (dual stack)", () => {
    const v4 = Object.values(networkInterfaces())
      .flat()
      .filter((entry) => entry?.family === "IPv4")
      .map((entry) => entry!.address);
    const v6 = hostAddresses(6, false);
    expect(v6).toContain("::1");
    expect(v6.filter((host) => /^fe[89ab]/i.test(host))).toEqual([]); // link-local: left to the wildcard
    for (const [address, expected] of [
      ["0.0.0.0:0", v4],
      ["[::]:0", [...v6, ...v4]],
    ] as const) {
      const bound = bindEveryAddress(address);
      try {
        expect(bound.addresses.map((socket) => socket.localAddress.host).sort()).toEqual([...new Set(expected)].sort());
        expect(bound.skipped).toEqual([]);
      } finally {
        closeAll(bound);
      }
    }
  });

  test("another program binding the port is refused, as by one wildcard socket, even asking to share it", async () => {
    const bound = bindEveryAddress("0.0.0.0:0");
    try {
      const port = bound.wildcard.localAddress.port;
      // Python's sockets with SO_REUSEADDR on: the option only shares a port whose sockets all have it.
      const script = `
import socket, sys
for host in ("0.0.0.0", "127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, ${port})); print(host, "bound")
    except OSError as e:
        print(host, e.errno)
`;
      const result = Bun.spawnSync(["python3", "-c", script]);
      expect(result.stdout.toString().trim().split("\n")).toEqual(["0.0.0.0 98", "127.0.0.1 98"]); // EADDRINUSE
      for (const socket of [bound.wildcard, ...bound.addresses]) expect(socket.option("reuseAddress")).toBe(0);
    } finally {
      closeAll(bound);
    }
  });

  test("reuseAddress asked for stays on", () => {
    const bound = bindEveryAddress("0.0.0.0:0", { reuseAddress: true });
    try {
      for (const socket of [bound.wildcard, ...bound.addresses]) expect(socket.option("reuseAddress")).not.toBe(0);
    } finally {
      closeAll(bound);
    }
  });

  test("beyond addressesMax, the addresses are left to the wildcard socket, and said", () => {
    const bound = bindEveryAddress("0.0.0.0:0", { addressesMax: 0 });
    try {
      expect(bound.addresses).toEqual([]);
      expect(bound.skipped).toContainEqual({ host: "127.0.0.1", reason: "more than 0 addresses" });
    } finally {
      closeAll(bound);
    }
  });

  test("the v4-mapped wildcard is bound alone, reporting destinations", () => {
    const bound = bindEveryAddress("[::ffff:0.0.0.0]:0");
    try {
      expect([bound.addresses, bound.skipped, bound.wildcard.receives.destination]).toEqual([[], [], true]);
    } finally {
      closeAll(bound);
    }
  });

  test("a port in use is a SystemError, and nothing stays open", () => {
    using taken = UdpSocket.bind("0.0.0.0:0");
    const before = openSockets();
    expect(() => bindEveryAddress({ host: "0.0.0.0", port: taken.localAddress.port })).toThrow(SystemError);
    expect(socketsOpenedSince(before)).toEqual([]);
  });

  test("bad input is refused before any descriptor is opened, naming the value", () => {
    const before = openSockets();
    expect(() => bindEveryAddress("127.0.0.1:0")).toThrow(
      new AddressError("bindEveryAddress: 127.0.0.1 is not a wildcard address (0.0.0.0 or ::)"),
    );
    expect(() => bindEveryAddress("0.0.0.0:0", { addressesMax: -1 })).toThrow(
      new RangeError("bindEveryAddress: addressesMax -1 is not a whole number of 0 or more"),
    );
    expect(() => bindEveryAddress("0.0.0.0:0", { recvBufferBytes: -5 })).toThrow("recvBufferBytes");
    expect(socketsOpenedSince(before)).toEqual([]);
  });
});
