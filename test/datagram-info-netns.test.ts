// The ECN codepoint set on each send, across a veth to another host's receiver, in network
// namespaces this test makes (test/netns.ts):  a (sender) ──veth0── b (receiver).
// The receiver is Python's socket module reading the TOS byte or traffic class the kernel got.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { makeNetwork, type Network } from "./netns.ts";

const sender = join(import.meta.dir, "fixtures", "ecn-send.ts");
const headerClient = join(import.meta.dir, "clients", "ip-header.py");

let net: Network;
beforeAll(() => {
  net = makeNetwork({
    namespaces: ["a", "b"],
    links: [
      {
        ends: [
          { namespace: "a", addresses: ["192.0.2.1/24", "2001:db8::1/64"] },
          { namespace: "b", addresses: ["192.0.2.2/24", "2001:db8::2/64"] },
        ],
      },
    ],
  });
});
afterAll(() => net?.[Symbol.dispose]());

describe.each([
  ["IPv4", "4", "192.0.2.2"],
  ["IPv6", "6", "2001:db8::2"],
])("over %s", (_name, family, receiverAddress) => {
  test("each ECN codepoint set on a send is the one the other host receives", async () => {
    using receiver = net.spawn("b", ["python3", headerClient, family, "4"]);
    const { port } = JSON.parse(await receiver.readLine()) as { port: number };
    const result = await net.run("a", [process.execPath, sender, receiverAddress, String(port)]);
    expect(result.stderr).toBe("");
    const seen: { text: string; tos: number }[] = [];
    for (let index = 0; index < 4; index++) seen.push(JSON.parse(await receiver.readLine()));
    expect(seen.map(({ text, tos }) => [text, tos])).toEqual([
      ["not-ect", 0],
      ["ect1", 1],
      ["ect0", 2],
      ["ce", 3],
    ]);
  });
});
