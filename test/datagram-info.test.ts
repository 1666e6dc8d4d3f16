// Datagram info on loopback: the destination each datagram was sent to (127.0.0.2, 127.0.0.3 on
// a wildcard socket), replies from it, and the ECN codepoint both ways. Linux's loopback answers
// to all of 127.0.0.0/8, so no namespace is needed for these.
import { describe, expect, test } from "bun:test";
import { DatagramBatch } from "../src/net/datagram-batch.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import type { Ecn } from "../src/net/datagram-info.ts";
import { AddressError, isWildcardHost, type SocketAddress } from "../src/sys/address.ts";
import { admit, sendRange } from "../src/echo/echo.ts";
import { EchoStats } from "../src/echo/stats.ts";

/** Polls a try* call until it is ready: the sockets are non-blocking and loopback is quick. */
function until<T>(attempt: () => { state: "ok"; value: T } | { state: "would-block" }): T {
  const deadline = performance.now() + 2000;
  for (;;) {
    const result = attempt();
    if (result.state === "ok") return result.value;
    if (performance.now() > deadline) throw new Error("nothing arrived within 2 s");
  }
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (value: string) => new TextEncoder().encode(value);

describe("the destination of each datagram", () => {
  test("a 0.0.0.0 socket reports where each datagram was sent, and replies from there", () => {
    using server = UdpSocket.bind("0.0.0.0:0", { receiveDestination: true });
    using client = UdpSocket.bind("127.0.0.1:0");
    expect(server.receives).toEqual({ destination: true, ecn: false });
    const buffer = new Uint8Array(64);
    for (const host of ["127.0.0.2", "127.0.0.3"]) {
      // The client sends to one of the host's addresses; the server learns which.
      client.trySendTo(bytes("ping"), { host, port: server.localAddress.port, family: 4, scopeId: 0 });
      const received = until(() => server.tryRecvFrom(buffer));
      expect(received.destination).toEqual({ family: 4, host, port: server.localAddress.port, scopeId: 0 });
      expect(received.interfaceIndex).toBeGreaterThan(0);
      expect(received.ecn).toBeUndefined();

      // The reply names it as its source, and the client sees it come from there.
      server.trySendTo(bytes("pong"), received.peer, { source: received.destination! });
      const reply = until(() => client.tryRecvFrom(buffer));
      expect(reply.peer.host).toBe(host);
      expect(text(reply.bytes)).toBe("pong");
    }
  });

  test("without receiveDestination a datagram reports no destination, and the reply comes from the primary address", () => {
    using server = UdpSocket.bind("0.0.0.0:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    expect(server.receives).toEqual({ destination: false, ecn: false });
    const buffer = new Uint8Array(64);
    client.trySendTo(bytes("ping"), `127.0.0.2:${server.localAddress.port}`);
    const received = until(() => server.tryRecvFrom(buffer));
    expect(received.destination).toBeUndefined();
    server.trySendTo(bytes("pong"), received.peer);
    // This is the defect a connected client meets: the reply's source is not where it sent.
    expect(until(() => client.tryRecvFrom(buffer)).peer.host).toBe("127.0.0.1");
  });

  test("a dual-stack :: socket reports an IPv4 datagram's destination v4-mapped, and replies from it", () => {
    using server = UdpSocket.bind("[::]:0", { receiveDestination: true, ipv6Only: false });
    using client = UdpSocket.bind("127.0.0.1:0");
    const buffer = new Uint8Array(64);
    client.trySendTo(bytes("ping"), `127.0.0.3:${server.localAddress.port}`);
    const received = until(() => server.tryRecvFrom(buffer));
    expect(received.peer.host).toBe("::ffff:127.0.0.1");
    expect(received.destination?.host).toBe("::ffff:127.0.0.3");

    // Given as the mapped address or as plain IPv4, the source is the same.
    server.trySendTo(bytes("one"), received.peer, { source: received.destination! });
    server.trySendTo(bytes("two"), received.peer, { source: "127.0.0.3" });
    for (const expected of ["one", "two"]) {
      const reply = until(() => client.tryRecvFrom(buffer));
      expect([text(reply.bytes), reply.peer.host]).toEqual([expected, "127.0.0.3"]);
    }
  });

  test("a socket taken over by descriptor reads back what it reports", () => {
    const first = UdpSocket.bind("0.0.0.0:0", { receiveDestination: true, receiveEcn: true });
    using second = UdpSocket.fromDescriptor(first.release());
    expect(second.receives).toEqual({ destination: true, ecn: true });
  });

  test.each([
    ["off", false],
    ["on", true],
  ])("with offload %s, a batch keeps each entry's destination, and entries sent back unchanged go from it", (_name, offload) => {
    using server = UdpSocket.bind("0.0.0.0:0", { receiveDestination: true, offload });
    using client = UdpSocket.bind("127.0.0.1:0", { offload });
    const port = server.localAddress.port;
    const slot = offload && server.offload.state === "on" ? 65535 : 2048;
    const batch = new DatagramBatch(8, slot, { info: true });

    // One datagram to 127.0.0.2, and a burst of three to 127.0.0.3 (one GSO send with offload).
    const outgoing = new DatagramBatch(2, 2048);
    outgoing.set(0, bytes("two"), { family: 4, host: "127.0.0.2", port, scopeId: 0 });
    outgoing.set(1, bytes("aaabbbccc"), { family: 4, host: "127.0.0.3", port, scopeId: 0 });
    if (client.offload.state === "on") outgoing.setSegmentSize(1, 3);
    expect(until(() => client.trySendBatch(outgoing, 2)).next).toBe(2);

    let count = 0;
    const deadline = performance.now() + 2000;
    while (count === 0 || batch.destination(count - 1)?.host !== "127.0.0.3") {
      if (performance.now() > deadline) throw new Error("the datagrams did not arrive within 2 s");
      const result = server.tryRecvBatch(batch);
      if (result.state === "ok") {
        for (let index = 0; index < result.value; index++) batch.move(index, count + index);
        count += result.value;
      }
    }
    expect(batch.destination(0)).toEqual({ family: 4, host: "127.0.0.2", port, scopeId: 0 });
    for (let index = 1; index < count; index++) expect(batch.destination(index)?.host).toBe("127.0.0.3");

    // Sent back as received: every datagram comes from the address its sender used.
    expect(until(() => server.trySendBatch(batch, count)).refused).toBe(0);
    const buffer = new Uint8Array(64);
    const expected = [
      "127.0.0.2 two",
      ...(client.offload.state === "on" ? ["aaa", "bbb", "ccc"] : ["aaabbbccc"]).map((d) => `127.0.0.3 ${d}`),
    ];
    const seen: string[] = [];
    while (seen.length < expected.length) {
      // With offload on the client's receive may hold the burst coalesced: its datagrams, one by one.
      const reply = until(() => client.tryRecvFrom(buffer));
      for (let start = 0; start < reply.bytes.length; start += reply.segmentSize) {
        seen.push(`${reply.peer.host} ${text(reply.bytes.subarray(start, start + reply.segmentSize))}`);
      }
    }
    expect(seen).toEqual(expected);
  });
});

describe("ECN", () => {
  const codepoints: Ecn[] = ["not-ect", "ect1", "ect0", "ce"];

  test.each([
    ["IPv4", "127.0.0.1:0"],
    ["IPv6", "[::1]:0"],
  ])("each codepoint set on a send is seen on the receiving side (%s), single and batch", (_family, address) => {
    using receiver = UdpSocket.bind(address, { receiveEcn: true });
    using sender = UdpSocket.bind(address);
    const buffer = new Uint8Array(64);
    for (const ecn of codepoints) {
      sender.trySendTo(bytes("single"), receiver.localAddress, { ecn, dscp: 10 });
      const received = until(() => receiver.tryRecvFrom(buffer));
      expect([received.ecn, received.trafficClass]).toEqual([ecn, (10 << 2) | codepoints.indexOf(ecn)]);
      expect(received.destination).toBeUndefined();
    }

    const outgoing = new DatagramBatch(4, 64, { info: true });
    codepoints.forEach((ecn, index) => {
      outgoing.set(index, bytes(ecn), receiver.localAddress);
      outgoing.setSendInfo(index, { ecn });
    });
    expect(until(() => sender.trySendBatch(outgoing, 4)).next).toBe(4);
    const incoming = new DatagramBatch(4, 64, { info: true });
    const seen: (Ecn | null)[] = [];
    while (seen.length < 4) {
      const count = until(() => receiver.tryRecvBatch(incoming));
      for (let index = 0; index < count; index++) {
        expect(text(incoming.payload(index))).toBe(incoming.ecn(index)!);
        seen.push(incoming.ecn(index));
      }
    }
    expect(seen).toEqual(codepoints);
  });
});

describe("bad datagram info is refused, named, before anything is sent", () => {
  test("options of the send", () => {
    using sender = UdpSocket.bind("127.0.0.1:0");
    using receiver = UdpSocket.bind("127.0.0.1:0");
    const peer = receiver.localAddress;
    const payload = bytes("x");
    expect(() => sender.trySendTo(payload, peer, { source: "::1" })).toThrow(
      /source ::1 is IPv6, but the peer 127.0.0.1 is IPv4/,
    );
    expect(() => sender.trySendTo(payload, peer, { source: "localhost" })).toThrow(AddressError);
    expect(() => sender.trySendTo(payload, peer, { ecn: "ect2" as Ecn })).toThrow(/ECN "ect2" is not/);
    expect(() => sender.trySendTo(payload, peer, { dscp: 64 })).toThrow(/dscp 64 is not a whole number from 0 to 63/);
    expect(() => sender.trySendTo(payload, peer, { interfaceIndex: 1 })).toThrow(/interfaceIndex needs a source/);
    expect(() => sender.sendTo(payload, peer, { interfaceIndex: -1, source: "0.0.0.0" })).toThrow(/interfaceIndex -1/);
    // Nothing went out.
    expect(receiver.tryRecvFrom(new Uint8Array(8))).toEqual({ state: "would-block" });
  });

  test("a batch without info, and options of the socket", () => {
    const batch = new DatagramBatch(1, 64);
    expect(() => batch.setSendInfo(0, { ecn: "ce" })).toThrow(/keeps no datagram info/);
    expect(() => batch.destination(0)).toThrow(/keeps no datagram info/);
    expect(() => new DatagramBatch(1, 64, { info: "yes" as unknown as boolean })).toThrow(
      'option info "yes" is not true or false',
    );
    expect(() => UdpSocket.bind("0.0.0.0:0", { receiveDestination: 1 as unknown as boolean })).toThrow(
      /receiveDestination 1 is not true or false/,
    );
  });
});

describe("the echo's replies from the destination", () => {
  test("a destination that cannot be a source (multicast, broadcast) is dropped from the reply, others kept", () => {
    const v4 = (host: string): SocketAddress => ({ family: 4, host, port: 9, scopeId: 0 });
    const v6 = (host: string): SocketAddress => ({ family: 6, host, port: 9, scopeId: 0 });
    const cases: [SocketAddress, string, boolean][] = [
      [v4("192.0.2.1"), "127.0.0.2", true],
      [v4("192.0.2.1"), "239.1.2.3", false],
      [v4("192.0.2.1"), "255.255.255.255", false],
      [v6("2001:db8::1"), "2001:db8::2", true],
      [v6("2001:db8::1"), "ff15::1", false],
      [v6("::ffff:192.0.2.1"), "::ffff:127.0.0.3", true],
      [v6("::ffff:192.0.2.1"), "::ffff:224.0.0.251", false],
    ];
    // A batch as a receive leaves it: each entry's destination reported.
    const batch = new DatagramBatch(cases.length, 16, { info: true });
    cases.forEach(([peer, destination], index) => {
      batch.set(index, bytes("x"), peer);
      batch.setSendInfo(index, { source: destination });
    });
    const policy = { maxDatagram: 16, offload: false, batchSize: 8, guard: null, rateLimiter: null, stats: new EchoStats() };
    expect(admit(batch, cases.length, { ...policy, replyFromDestination: true })).toBe(cases.length);
    expect(cases.map((_, index) => batch.destination(index)?.host ?? null)).toEqual(
      cases.map(([, destination, unicast]) => (unicast ? destination : null)),
    );
  });

  test.each([
    ["0.0.0.0", "0.0.0.0:0"],
    ["a dual-stack ::", "[::]:0"],
  ])("on %s, a batch mixing 127.0.0.1, .2 and .3 is echoed through admit, each reply from its own", (_name, at) => {
    using server = UdpSocket.bind(at, { receiveDestination: true, ipv6Only: false });
    using client = UdpSocket.bind("127.0.0.1:0");
    const port = server.localAddress.port;
    // Interleaved, so that no two neighbours share a destination; .1 is also the address the
    // kernel picks for this client, so a reply wrongly sent without a source hides only there.
    const hosts = ["127.0.0.2", "127.0.0.1", "127.0.0.3", "127.0.0.2", "127.0.0.3", "127.0.0.1"];
    const outgoing = new DatagramBatch(hosts.length, 64);
    hosts.forEach((host, index) => outgoing.set(index, bytes(`${index}`), { family: 4, host, port, scopeId: 0 }));
    expect(until(() => client.trySendBatch(outgoing, hosts.length)).next).toBe(hosts.length);

    // The server receives them as the echo's reader does, admits them and sends them back.
    const batch = new DatagramBatch(8, 64, { info: true });
    const incoming = new DatagramBatch(8, 64, { info: true });
    let count = 0;
    const deadline = performance.now() + 2000;
    while (count < hosts.length) {
      if (performance.now() > deadline) throw new Error(`${count} of ${hosts.length} datagrams arrived within 2 s`);
      const result = server.tryRecvBatch(incoming);
      if (result.state === "ok") {
        for (let index = 0; index < result.value; index++) batch.copyFrom(incoming, index, count + index);
        count += result.value;
      }
    }
    const stats = new EchoStats();
    const policy = { maxDatagram: 64, offload: false, batchSize: 8, guard: null, rateLimiter: null, stats };
    expect(admit(batch, count, { ...policy, replyFromDestination: true })).toBe(hosts.length);
    expect(sendRange(server, batch, 0, hosts.length, stats).next).toBe(hosts.length);

    // Each echo comes back from the address its datagram was sent to, in order.
    const buffer = new Uint8Array(64);
    const seen = hosts.map(() => {
      const reply = until(() => client.tryRecvFrom(buffer));
      return `${text(reply.bytes)} from ${reply.peer.host}`;
    });
    expect(seen).toEqual(hosts.map((host, index) => `${index} from ${host}`));
  });

  test("keepUnicastDestinations refuses a count outside the batch and a batch without info, naming them", () => {
    expect(() => new DatagramBatch(4, 16, { info: true }).keepUnicastDestinations(5)).toThrow(
      /entry count 5 is not a whole number from 0 to 4/,
    );
    expect(() => new DatagramBatch(4, 16).keepUnicastDestinations(1)).toThrow(/keepUnicastDestinations: the batch keeps no/);
  });

  test("wildcard hosts are 0.0.0.0, :: and ::ffff:0.0.0.0, and no other", () => {
    expect(["0.0.0.0", "::", "::ffff:0.0.0.0", "0:0:0:0:0:0:0:0"].map(isWildcardHost)).toEqual([true, true, true, true]);
    expect(["127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.1", "::ffff:0:0:1"].map(isWildcardHost)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
