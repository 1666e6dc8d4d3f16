import { describe, expect, test } from "bun:test";
import {
  AddressError,
  decodeAddress,
  encodeAddress,
  formatSocketAddress,
  isLoopbackHost,
  parseSocketAddress,
  socketAddress,
} from "../src/sys/address.ts";

describe("socket addresses", () => {
  test("IPv4 and IPv6 literals parse to canonical form", () => {
    expect(socketAddress("127.0.0.1", 7777)).toEqual({ family: 4, host: "127.0.0.1", port: 7777, scopeId: 0 });
    expect(socketAddress("::1", 0)).toEqual({ family: 6, host: "::1", port: 0, scopeId: 0 });
    expect(socketAddress("0:0:0:0:0:0:0:1", 1).host).toBe("::1");
    expect(socketAddress("2001:DB8:0:0:1:0:0:1", 1).host).toBe("2001:db8::1:0:0:1");
    expect(socketAddress("::ffff:192.0.2.1", 1).host).toBe("::ffff:192.0.2.1");
    expect(socketAddress("fe80::1%3", 1)).toEqual({ family: 6, host: "fe80::1%3", port: 1, scopeId: 3 });
    expect(socketAddress("::", 1).host).toBe("::");
  });

  test("address:port pairs parse, with brackets around IPv6", () => {
    expect(parseSocketAddress("10.0.0.1:53")).toEqual({ family: 4, host: "10.0.0.1", port: 53, scopeId: 0 });
    expect(parseSocketAddress("[::1]:7777").port).toBe(7777);
    expect(formatSocketAddress(parseSocketAddress("[::1]:7777"))).toBe("[::1]:7777");
    expect(formatSocketAddress(parseSocketAddress("127.0.0.1:9"))).toBe("127.0.0.1:9");
  });

  test.each([
    ["localhost"],
    ["256.0.0.1"],
    ["1.2.3"],
    ["01.2.3.4"],
    ["1::2::3"],
    ["12345::1"],
    ["1:2:3:4:5:6:7:8:9"],
    ["fe80::1%eth0"],
    [""],
  ])("%p is refused with a message that names it", (host) => {
    expect(() => socketAddress(host, 1)).toThrow(AddressError);
    expect(() => socketAddress(host, 1)).toThrow(`"${host}"`);
  });

  test.each([[-1], [65536], [1.5], [Number.NaN]])("port %p is refused", (port) => {
    expect(() => socketAddress("127.0.0.1", port)).toThrow(`port ${port} is not a whole number from 0 to 65535`);
  });

  test("loopback is 127.0.0.0/8 and ::1 in any spelling; every other address is not", () => {
    for (const host of ["127.0.0.1", "127.255.0.9", "::1", "0:0:0:0:0:0:0:1"])
      expect([host, isLoopbackHost(host)]).toEqual([host, true]);
    for (const host of ["0.0.0.0", "128.0.0.1", "::", "::2", "::ffff:127.0.0.1", "192.0.2.1"]) {
      expect([host, isLoopbackHost(host)]).toEqual([host, false]);
    }
    expect(() => isLoopbackHost("localhost")).toThrow('"localhost"');
  });

  test("an address survives the 24-byte form the library uses", () => {
    for (const text of ["127.0.0.1:7777", "[::1]:65535", "[fe80::abcd%7]:1"]) {
      const view = new DataView(new ArrayBuffer(24));
      encodeAddress(parseSocketAddress(text), view, 0);
      expect(decodeAddress(view, 0)).toEqual(parseSocketAddress(text));
    }
  });
});
