// Host names (resolve): looked up off the runtime's thread under every driver, an IP literal
// never reaching the resolver, and a name that does not resolve named in its error.
import { describe, expect, test } from "bun:test";
import { resolve, ResolveError, resolverLookups } from "../src/net/resolve.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { timeout } from "../src/runtime/timers.ts";
import { AddressError } from "../src/sys/address.ts";
import { drivers } from "./helpers.ts";

describe.each(drivers)("resolve under the %s driver", (driver) => {
  test("an IP literal is its address at once, and never reaches the resolver", () => {
    using runtime = new Runtime({ driver });
    const before = resolverLookups();
    const [v4, v6] = runtime.blockOn(
      (function* () {
        return [yield* resolve("127.0.0.1:53"), yield* resolve({ host: "::1", port: 7 })];
      })(),
    );
    expect(v4).toEqual({ family: 4, host: "127.0.0.1", port: 53, scopeId: 0 });
    expect(v6).toEqual({ family: 6, host: "::1", port: 7, scopeId: 0 });
    expect(resolverLookups()).toBe(before);
  });

  test("a host name is looked up on the resolver thread, and the socket calls take its address", () => {
    using runtime = new Runtime({ driver });
    const before = resolverLookups();
    const address = runtime.blockOn(timeout(resolve("localhost:0", { family: 4 }), 10_000));
    expect(address).toEqual({ family: 4, host: "127.0.0.1", port: 0, scopeId: 0 });
    expect(resolverLookups()).toBe(before + 1);
    using socket = UdpSocket.bind(address);
    using peer = UdpSocket.bind(address);
    using _link = socket.connect(runtime.blockOn(timeout(resolve(`localhost:${peer.localAddress.port}`, { family: 4 }), 10_000)));
    expect(socket.connection!.trySend(new TextEncoder().encode("hi"))).toEqual({ state: "ok", value: 2 });
  });

  test("sendTo takes a host name: looked up once per future, then sent to its address", () => {
    using runtime = new Runtime({ driver });
    using server = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    const before = resolverLookups();
    const send = client.sendTo(new TextEncoder().encode("hi"), `localhost:${server.localAddress.port}`);
    const received = runtime.blockOn(
      timeout(
        (function* () {
          yield* send;
          yield* send; // awaited again: the address is reused, not looked up again
          const buffer = new Uint8Array(8);
          const first = yield* server.recvFrom(buffer);
          const text = new TextDecoder().decode(first.bytes);
          const second = yield* server.recvFrom(buffer);
          return [text, new TextDecoder().decode(second.bytes), first.peer.port];
        })(),
        10_000,
      ),
    );
    expect(received).toEqual(["hi", "hi", client.localAddress.port]);
    expect(resolverLookups()).toBe(before + 1);
  });

  test("a name that does not resolve is a ResolveError that names it", () => {
    using runtime = new Runtime({ driver });
    const error = runtime.blockOn(
      (function* () {
        try {
          return yield* timeout(resolve("no-such-host.invalid:53"), 30_000);
        } catch (caught) {
          return caught;
        }
      })(),
    );
    expect(error).toBeInstanceOf(ResolveError);
    expect((error as ResolveError).host).toBe("no-such-host.invalid");
    expect((error as ResolveError).message).toStartWith('Cannot resolve host "no-such-host.invalid": ');
  });
});

describe("resolve refuses bad input before any lookup", () => {
  test("a bad port, family or name form is an error naming it", () => {
    const before = resolverLookups();
    expect(() => resolve("localhost:65536")).toThrow("port 65536");
    expect(() => resolve("localhost", {})).toThrow('resolve: "localhost" is not "host:port"');
    expect(() => resolve("bad..name:53")).toThrow(
      new AddressError('resolve: "bad..name" is neither an IP address nor a host name'),
    );
    expect(() => resolve("localhost:53", { family: 5 as never })).toThrow("resolve: family 5 is not 4 or 6");
    expect(() => resolve("127.0.0.1:53", { family: 6 })).toThrow("resolve: 127.0.0.1 is not an IPv6 address");
    expect(resolverLookups()).toBe(before);
  });

  test("the calls that cannot wait never resolve: a name is refused, naming it and what to do", () => {
    using socket = UdpSocket.bind("127.0.0.1:0");
    const before = resolverLookups();
    const refusal = '"localhost" is a host name, not an IP address: this call takes IP addresses only; look the name up first';
    expect(() => socket.trySendTo(new Uint8Array(1), "localhost:53")).toThrow(refusal);
    expect(() => socket.connect("localhost:53")).toThrow(refusal);
    expect(() => UdpSocket.bind("localhost:0")).toThrow(refusal);
    expect(() => UdpSocket.bind("999.0.0.1:0")).toThrow('"999.0.0.1" is not an IPv4 or IPv6 address');
    expect(() => socket.sendTo(new Uint16Array(1) as never, "localhost:53")).toThrow("sendTo: Uint16Array is not a Uint8Array");
    expect(resolverLookups()).toBe(before);
  });
});

test("resolve works under the embedded driver, beside Bun's event loop", async () => {
  await using runtime = new Runtime({ driver: "embedded" });
  const handle = runtime.spawn(timeout(resolve("localhost:9", { family: 4 }), 10_000));
  expect(await handle.promise()).toEqual({ family: 4, host: "127.0.0.1", port: 9, scopeId: 0 });
});
