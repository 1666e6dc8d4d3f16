// The IP layer's options and memberships (socket.ip): every value is checked before any system
// call, with an error that names it, and every option reads back what the kernel holds.
import { describe, expect, test } from "bun:test";
import { UdpSocket } from "../src/net/udp-socket.ts";

describe.each([
  ["IPv4", "127.0.0.1:0", "239.1.2.3", "127.0.0.1"],
  ["IPv6", "[::1]:0", "ff15::1", "::1"],
])("socket.ip over %s", (_family, address, group, unicast) => {
  test("each option reads back what was set, and the defaults before", () => {
    using socket = UdpSocket.bind(address);
    expect(socket.ip.get("ttl")).toBe(64);
    expect(socket.ip.get("broadcast")).toBe(false);
    expect(socket.ip.get("multicastLoop")).toBe(true);
    expect(socket.ip.get("multicastTtl")).toBe(1);
    expect(socket.ip.get("dontFragment")).toBe(false);
    socket.ip.set("ttl", 9);
    socket.ip.set("tos", 0x2e);
    socket.ip.set("broadcast", true);
    socket.ip.set("multicastTtl", 0);
    socket.ip.set("multicastLoop", false);
    socket.ip.set("dontFragment", true);
    expect([
      socket.ip.get("ttl"),
      socket.ip.get("tos"),
      socket.ip.get("broadcast"),
      socket.ip.get("multicastTtl"),
      socket.ip.get("multicastLoop"),
      socket.ip.get("dontFragment"),
    ]).toEqual([9, 0x2e, true, 0, false, true]);
  });

  test("a bad option or value is refused, naming it, and nothing changes", () => {
    using socket = UdpSocket.bind(address);
    expect(() => socket.ip.set("ttl", 0)).toThrow(new RangeError("ttl 0 is not a whole number from 1 to 255"));
    expect(() => socket.ip.set("tos", 256)).toThrow("tos 256 is not a whole number from 0 to 255");
    expect(() => socket.ip.set("multicastTtl", 1.5)).toThrow("multicastTtl 1.5");
    expect(() => socket.ip.set("broadcast", 1 as never)).toThrow(new TypeError("broadcast 1 is not true or false"));
    expect(() => socket.ip.set("mtu" as never, 1 as never)).toThrow('"mtu" is not an IP option');
    expect(() => socket.ip.get("hops" as never)).toThrow('"hops" is not an IP option');
    expect(socket.ip.get("ttl")).toBe(64);
    expect(socket.ip.get("broadcast")).toBe(false);
  });

  test("a membership of a non-group, another family, an unknown interface or twice is refused before the kernel sees it", () => {
    using socket = UdpSocket.bind(address);
    expect(() => socket.ip.join(unicast)).toThrow(`join: ${unicast} is not a multicast group`);
    const other = group.includes(":") ? "239.1.2.3" : "ff15::1";
    expect(() => socket.ip.join(other)).toThrow(`join: the group ${other} is IPv`);
    expect(() => socket.ip.join(group, { interface: "no-such-if0" })).toThrow('join: there is no interface named "no-such-if0"');
    expect(() => socket.ip.join(group, { interface: -1 })).toThrow("join: interface index -1");
    expect(() => socket.ip.join(group, { source: group })).toThrow(`join: the source ${group} is a multicast address`);
    expect(() => socket.ip.leave(group, { interface: "lo" })).toThrow("leave: not a member of multicast group");
    expect(socket.ip.memberships).toEqual([]);
  });

  test("joined groups are listed until they are left, and an interface can be named by name, index or address", () => {
    using socket = UdpSocket.bind(address);
    const joined = socket.ip.join(group, { interface: "lo" });
    expect(joined.interfaceIndex).toBeGreaterThan(0);
    expect(() => socket.ip.join(group, { interface: joined.interfaceIndex })).toThrow("join: already a member of");
    expect(() => socket.ip.join(group, { interface: unicast })).toThrow("join: already a member of");
    expect(socket.ip.memberships).toEqual([{ group, source: null, interfaceIndex: joined.interfaceIndex }]);
    socket.ip.leave(group, { interface: "lo" });
    expect(socket.ip.memberships).toEqual([]);
    socket.ip.setMulticastInterface("lo");
    expect(socket.ip.multicastInterface).toBe(joined.interfaceIndex);
    socket.ip.setMulticastInterface(null);
    expect(socket.ip.multicastInterface).toBe(0);
  });

  test.skipIf(process.platform !== "linux")("a connected socket reads the path MTU of its route", () => {
    using socket = UdpSocket.bind(address);
    using peer = UdpSocket.bind(address);
    using _link = socket.connect(peer.localAddress);
    // The loopback device's MTU, 65536, which IPv4 caps at its largest datagram (IP_MAX_MTU).
    expect(socket.ip.pathMtu()).toBe(socket.family === 4 ? 65535 : 65536);
  });
});

test("a closed socket's IP layer refuses to work, saying so", () => {
  const socket = UdpSocket.bind("127.0.0.1:0");
  const ip = socket.ip;
  socket.close();
  expect(() => ip.set("ttl", 5)).toThrow("it is closed");
});
