// End-to-end: udp-echo on a wildcard address replies from the address each client sent to, so
// that a *connected* client (a DNS stub, `socat UDP:…`, `nc -u`), whose kernel drops datagrams
// from any other address, gets its echo. Loopback answers to all of 127.0.0.0/8: 127.0.0.2 and
// 127.0.0.3 are addresses of this host that are not the one the kernel would pick for a reply.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runProcess } from "../helpers.ts";
import { makeNetwork, type Network } from "../netns.ts";
import { ensureBuilt, startServer } from "./server.ts";

const clients = join(import.meta.dir, "..", "clients");

beforeAll(async () => {
  await ensureBuilt();
});

/** Connected Python clients, `sockets` per address; their report, one line per address. */
async function connectedClients(port: number, sockets: number, addresses: string[]): Promise<string[]> {
  const result = await runProcess(["python3", join(clients, "connected-client.py"), String(port), String(sockets), ...addresses]);
  expect(result.stderr).toBe("");
  return result.stdout.trim().split("\n");
}

describe.each([
  ["0.0.0.0", ["127.0.0.2", "127.0.0.3", "127.0.0.1"]],
  // A dual-stack socket: IPv4 clients are v4-mapped peers, and ::1 an IPv6 one.
  ["::", ["127.0.0.2", "127.0.0.3", "::1"]],
])("udp-echo --host %s", (host, addresses) => {
  test.each([
    ["auto", "1"],
    ["off", "1"],
    ["auto", "2"],
    ["off", "2"],
  ])(
    "connected clients get their echo from the address they used (--offload %s, --workers %s)",
    async (offload, workers) => {
      await using server = await startServer(["--host", host, "--port", "0", "--offload", offload, "--workers", workers]);
      // Eight source ports per address: with two workers, SO_REUSEPORT spreads them over both.
      const report = await connectedClients(server.port, 8, addresses);
      expect(report).toEqual(addresses.map((address) => `ok ${address} 8`));
    },
    60_000,
  ); // without the replies, each of the 24 clients waits 2 s for nothing
});

test("socat's connected UDP client gets its echo from 127.0.0.2 off a 0.0.0.0 server", async () => {
  await using server = await startServer(["--host", "0.0.0.0", "--port", "0"]);
  const payload = new TextEncoder().encode("hello from a connected socket\n");
  const result = await runProcess(["socat", "-t", "1", "-", `UDP:127.0.0.2:${server.port}`], { stdin: payload });
  expect(result.stderr).toBe("");
  expect(result.bytes).toEqual(payload);
});

// On a wildcard address, udp-echo binds a socket of its own on each of the host's addresses
// (whose replies need no control message), beside the wildcard socket, which serves the rest.
test.each(["0.0.0.0", "::"])(
  "udp-echo --host %s has a socket on each of the host's addresses, and a second server on its port is refused",
  async (host) => {
    await using server = await startServer(["--host", host, "--port", "0"]);
    const listed = await runProcess(["ss", "-Huln", `sport = :${server.port}`]);
    const local = listed.stdout
      .trim()
      .split("\n")
      .map((line) => line.trim().split(/\s+/)[3]);
    const wildcard = host === "::" ? `*:${server.port}` : `0.0.0.0:${server.port}`;
    expect(local).toEqual(expect.arrayContaining([wildcard, `127.0.0.1:${server.port}`]));
    if (host === "::") expect(local).toContain(`[::1]:${server.port}`);
    const second = await runProcess([await ensureBuilt(), "--host", host, "--port", String(server.port)]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain("EADDRINUSE");
  },
  60_000,
);

// A host with several addresses of each family, in network namespaces this test makes:
//
//   a (udp-echo: 192.0.2.1, 192.0.2.3, 2001:db8::1, ::2, ::3) ──veth0── b (clients: 192.0.2.10, 2001:db8::10)
describe("udp-echo on a host with several addresses (network namespaces)", () => {
  let net: Network;
  beforeAll(() => {
    net = makeNetwork({
      namespaces: ["a", "b"],
      links: [
        {
          ends: [
            {
              namespace: "a",
              addresses: ["192.0.2.1/24", "192.0.2.3/24", "2001:db8::1/64", "2001:db8::2/64", "2001:db8::3/64"],
            },
            { namespace: "b", addresses: ["192.0.2.10/24", "2001:db8::10/64"] },
          ],
        },
      ],
    });
  });
  afterAll(() => net?.[Symbol.dispose]());

  test.each([
    ["0.0.0.0", "auto", ["192.0.2.1", "192.0.2.3"]],
    ["::", "auto", ["2001:db8::1", "2001:db8::2", "2001:db8::3", "192.0.2.1", "192.0.2.3"]],
    ["::", "off", ["2001:db8::1", "2001:db8::2", "2001:db8::3", "192.0.2.1", "192.0.2.3"]],
  ])(
    "--host %s --offload %s: connected clients at every address get their echo from it",
    async (host, offload, addresses) => {
      const binary = await ensureBuilt();
      using server = net.spawn("a", [binary, "--host", host, "--port", "0", "--offload", offload, "--workers", "2"]);
      const ready = await server.readLine(20_000);
      const port = Number(/^udp-echo listening on .*:(\d+) /.exec(ready)?.[1]);
      expect(port).toBeGreaterThan(0);
      const result = await net.run("b", ["python3", join(clients, "connected-client.py"), String(port), "4", ...addresses]);
      expect(result.stderr).toBe("");
      expect(result.stdout.trim().split("\n")).toEqual(addresses.map((address) => `ok ${address} 4`));
    },
    60_000,
  );

  // An address the host gains after the server started has no socket of its own: the wildcard
  // socket answers its clients from it, reading each datagram's destination.
  test.each([
    ["0.0.0.0", "192.0.2.4/24"],
    ["::", "2001:db8::4/64"],
  ])(
    "--host %s: clients of an address added after the start (%s) get their echo from it",
    async (host, added) => {
      const binary = await ensureBuilt();
      using server = net.spawn("a", [binary, "--host", host, "--port", "0"]);
      const ready = await server.readLine(20_000);
      const port = Number(/^udp-echo listening on .*:(\d+) /.exec(ready)?.[1]);
      expect(port).toBeGreaterThan(0);
      net.ip("a", "addr", "add", added, "dev", "veth0", ...(added.includes(":") ? ["nodad"] : []));
      try {
        const address = added.replace(/\/\d+$/, "");
        const result = await net.run("b", ["python3", join(clients, "connected-client.py"), String(port), "4", address]);
        expect(result.stderr).toBe("");
        expect(result.stdout.trim()).toBe(`ok ${address} 4`);
      } finally {
        net.ip("a", "addr", "del", added, "dev", "veth0");
      }
    },
    60_000,
  );

  // A subnet broadcast is sent to an address that is none of the host's: the echo answers it
  // from the interface's own address (192.0.2.1, its first), as it would without the option,
  // instead of trying the broadcast address as a source, which the kernel refuses.
  test.each(["0.0.0.0", "::"])(
    "--host %s answers a subnet broadcast from the interface's address",
    async (host) => {
      const binary = await ensureBuilt();
      using server = net.spawn("a", [binary, "--host", host, "--port", "0"]);
      const ready = await server.readLine(20_000);
      const port = Number(/^udp-echo listening on .*:(\d+) /.exec(ready)?.[1]);
      expect(port).toBeGreaterThan(0);
      const result = await net.run("b", ["python3", join(clients, "broadcast-client.py"), "192.0.2.255", String(port)]);
      expect(result.stderr).toBe("");
      expect(result.stdout.trim()).toBe("from 192.0.2.1");
    },
    60_000,
  );
});
