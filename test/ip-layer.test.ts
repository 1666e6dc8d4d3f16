// The IP layer of a UDP socket on real interfaces, in network namespaces this test makes:
// multicast (a member hears its group, a non-member does not, a leave stops it, a
// source-specific member hears only its source, loopback on and off), subnet broadcast, the
// TTL and TOS the receiving side sees, and a don't-fragment send over an MTU of 1280.
//
//   a (sender) ──veth0, MTU 1280── b (member, listener)
//   a ──veth1── c (not a member)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { makeNetwork, type NamespaceChild, type Network } from "./netns.ts";

const fixture = join(import.meta.dir, "fixtures", "ip-layer.ts");
const headerClient = join(import.meta.dir, "clients", "ip-header.py");
const bun = process.execPath;

let net: Network;
beforeAll(() => {
  net = makeNetwork({
    namespaces: ["a", "b", "c"],
    links: [
      {
        mtu: 1280,
        ends: [
          { namespace: "a", addresses: ["192.0.2.1/25", "198.51.100.1/24", "2001:db8::1/64", "2001:db8:1::1/64"] },
          { namespace: "b", addresses: ["192.0.2.2/25", "2001:db8::2/64"] },
        ],
      },
      {
        ends: [
          { namespace: "a", addresses: ["192.0.2.129/25", "2001:db8:2::1/64"] },
          { namespace: "c", addresses: ["192.0.2.130/25", "2001:db8:2::2/64"] },
        ],
      },
    ],
  });
});
afterAll(() => net?.[Symbol.dispose]());

type Line = { port?: number; text?: string; from?: string; left?: boolean; memberships?: unknown[] };

async function started(child: NamespaceChild): Promise<number> {
  const first = JSON.parse(await child.readLine()) as Line;
  if (first.port === undefined) throw new Error(`no port in ${JSON.stringify(first)}`);
  return first.port;
}

/** The texts a child prints until (and without) `marker`. */
async function textsUntil(child: NamespaceChild, marker: string): Promise<string[]> {
  const texts: string[] = [];
  for (;;) {
    const line = JSON.parse(await child.readLine()) as Line;
    if (line.text === marker) return texts;
    if (line.text !== undefined) texts.push(line.text);
  }
}

type Step = { bind: string; to: string; text: string; bytes?: number; iface?: string; options?: Record<string, unknown> };

async function send(steps: Step[]): Promise<Record<string, unknown>[]> {
  const result = await net.run("a", [bun, fixture, "send", JSON.stringify(steps)]);
  if (result.exitCode !== 0) throw new Error(`the sender failed: ${result.stderr}`);
  return result.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const families = [
  {
    name: "IPv4",
    wildcard: "0.0.0.0",
    group: "239.1.2.3",
    sources: ["192.0.2.1", "198.51.100.1"],
    b: "192.0.2.2",
    c: "192.0.2.130",
    at: (host: string, port: number) => `${host}:${port}`,
  },
  {
    name: "IPv6",
    wildcard: "::",
    group: "ff15::1:2",
    sources: ["2001:db8::1", "2001:db8:1::1"],
    b: "2001:db8::2",
    c: "2001:db8:2::2",
    at: (host: string, port: number) => `[${host}]:${port}`,
  },
] as const;

describe.each(families)("the IP layer over $name", (family) => {
  test("a member hears its group, a non-member does not, and after a leave the member does not either", async () => {
    using member = net.spawn("b", [bun, fixture, "member", family.wildcard, family.group, "veth0"]);
    const port = await started(member);
    using outsider = net.spawn("c", [bun, fixture, "listen", family.wildcard, String(port)]);
    await started(outsider);
    const from = family.at(family.wildcard, 0);
    const group = family.at(family.group, port);
    // The group's datagram out of both of a's links, then a unicast marker behind it on each.
    await send([
      { bind: from, to: group, text: "g1", iface: "veth0" },
      { bind: from, to: group, text: "g1", iface: "veth1" },
      { bind: from, to: family.at(family.b, port), text: "marker" },
      { bind: from, to: family.at(family.c, port), text: "marker" },
    ]);
    expect(await textsUntil(member, "marker")).toEqual(["g1"]);
    expect(await textsUntil(outsider, "marker")).toEqual([]);
    // The member leaves; the next group datagram is not heard.
    await send([{ bind: from, to: family.at(family.b, port), text: "leave" }]);
    expect(await textsUntil(member, "leave")).toEqual([]);
    expect(JSON.parse(await member.readLine())).toEqual({ left: true, memberships: [] });
    await send([
      { bind: from, to: group, text: "g2", iface: "veth0" },
      { bind: from, to: family.at(family.b, port), text: "marker" },
    ]);
    expect(await textsUntil(member, "marker")).toEqual([]);
    await send([
      { bind: from, to: family.at(family.b, port), text: "end" },
      { bind: from, to: family.at(family.c, port), text: "end" },
    ]);
    expect((await member.finish()).exitCode).toBe(0);
  });

  test("a source-specific member hears its group only from its source", async () => {
    const [wanted, other] = family.sources;
    using member = net.spawn("b", [bun, fixture, "member", family.wildcard, family.group, "veth0", wanted]);
    const port = await started(member);
    const group = family.at(family.group, port);
    await send([
      { bind: family.at(other, 0), to: group, text: "from the other", iface: "veth0" },
      { bind: family.at(wanted, 0), to: group, text: "from the source", iface: "veth0" },
      { bind: family.at(family.wildcard, 0), to: family.at(family.b, port), text: "marker" },
    ]);
    expect(await textsUntil(member, "marker")).toEqual(["from the source"]);
    await send([{ bind: family.at(family.wildcard, 0), to: family.at(family.b, port), text: "end" }]);
  });

  test("a member on the sending host hears the group only with multicastLoop on", async () => {
    const result = await net.run("a", [bun, fixture, "loop", family.name === "IPv4" ? "4" : "6", family.group, "veth0"]);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ on: true, off: false });
  });

  test("the TTL (hop limit) and TOS (traffic class) a socket sets are what the receiver sees", async () => {
    using receiver = net.spawn("b", ["python3", headerClient, family.name === "IPv4" ? "4" : "6", "2"]);
    const port = await started(receiver);
    const from = family.at(family.wildcard, 0);
    await send([
      { bind: from, to: family.at(family.b, port), text: "default" },
      { bind: from, to: family.at(family.b, port), text: "set", options: { ttl: 7, tos: 0xb8 } },
    ]);
    expect(JSON.parse(await receiver.readLine())).toEqual({ text: "default", ttl: 64, tos: 0 });
    expect(JSON.parse(await receiver.readLine())).toEqual({ text: "set", ttl: 7, tos: 0xb8 });
  });

  test("the multicast TTL (hop limit) a socket sets is what a member sees; 1 by default", async () => {
    const args = ["python3", headerClient, family.name === "IPv4" ? "4" : "6", "2", family.group, "veth0"];
    using member = net.spawn("b", args);
    const port = await started(member);
    const from = family.at(family.wildcard, 0);
    const group = family.at(family.group, port);
    await send([
      { bind: from, to: group, text: "default", iface: "veth0" },
      { bind: from, to: group, text: "set", iface: "veth0", options: { multicastTtl: 3 } },
    ]);
    expect(JSON.parse(await member.readLine())).toEqual({ text: "default", ttl: 1, tos: 0 });
    expect(JSON.parse(await member.readLine())).toEqual({ text: "set", ttl: 3, tos: 0 });
  });

  test("a don't-fragment datagram larger than the link's MTU of 1280 fails with EMSGSIZE, and the error queue holds the MTU", async () => {
    using listener = net.spawn("b", [bun, fixture, "listen", family.wildcard]);
    const port = await started(listener);
    const to = family.at(family.b, port);
    const from = family.at(family.wildcard, 0);
    const [refused, fragmented] = await send([
      { bind: from, to, text: "", bytes: 1400, options: { dontFragment: true } },
      { bind: from, to, text: "", bytes: 1400 },
    ]);
    expect(refused).toEqual({ error: "EMSGSIZE", queued: { code: "EMSGSIZE", mtu: 1280 } });
    // Without it the same datagram leaves in fragments, and arrives whole.
    expect(fragmented).toEqual({ sent: 1400 });
    expect((JSON.parse(await listener.readLine()) as Line).text).toBe("a".repeat(1400));
    await send([{ bind: from, to, text: "end" }]);
  });
});

describe.each(families)("a connected socket over $name", (family) => {
  test("hears only its peer across the veth", async () => {
    const [peer, stranger] = family.sources;
    const peerAddress = family.at(peer, 40_000);
    using connected = net.spawn("b", [bun, fixture, "connected", family.wildcard, peerAddress]);
    const port = await started(connected);
    const to = family.at(family.b, port);
    await send([
      { bind: family.at(stranger, 40_000), to, text: "from a stranger" },
      { bind: family.at(peer, 39_999), to, text: "from the peer's address, another port" },
      { bind: peerAddress, to, text: "from the peer" },
      { bind: peerAddress, to, text: "end" },
    ]);
    expect(JSON.parse(await connected.readLine())).toEqual({ text: "from the peer", from: peer });
    expect(await connected.finish()).toMatchObject({ exitCode: 0, stdout: "" });
  });

  test("learns that its peer's port is closed on its next receive (ECONNREFUSED)", async () => {
    // Nothing listens on a's port 40001: the ping meets a port unreachable.
    using connected = net.spawn("b", [bun, fixture, "connected", family.wildcard, family.at(family.sources[0], 40_001), "ping"]);
    await started(connected);
    expect(JSON.parse(await connected.readLine())).toEqual({ error: "ECONNREFUSED" });
    expect((await connected.finish()).exitCode).toBe(0);
  });
});

describe("broadcast over IPv4", () => {
  test("a datagram to the subnet's broadcast address crosses the veth with broadcast on, and is refused (EACCES) without", async () => {
    using listener = net.spawn("b", [bun, fixture, "listen", "0.0.0.0"]);
    const port = await started(listener);
    const [refused, sent] = await send([
      { bind: "192.0.2.1:0", to: `192.0.2.127:${port}`, text: "without" },
      { bind: "192.0.2.1:0", to: `192.0.2.127:${port}`, text: "with", options: { broadcast: true } },
      { bind: "0.0.0.0:0", to: `192.0.2.2:${port}`, text: "marker" },
    ]);
    expect(refused).toEqual({ error: "EACCES", queued: null });
    expect(sent).toEqual({ sent: 4 });
    expect(await textsUntil(listener, "marker")).toEqual(["with"]);
    await send([{ bind: "0.0.0.0:0", to: `192.0.2.2:${port}`, text: "end" }]);
  });
});
