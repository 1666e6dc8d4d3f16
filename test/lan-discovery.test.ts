// examples/lan-discovery.ts as an app runs it: a listener in one namespace hears an announcer
// in another across a veth, over an IPv4 and an IPv6 multicast group, and prints the peer once.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { makeNetwork } from "./netns.ts";

const example = join(import.meta.dir, "..", "examples", "lan-discovery.ts");
const bun = process.execPath;

test.each([
  ["IPv4", "239.255.42.99:4242", "192.0.2.1"],
  ["IPv6", "[ff15::42]:4242", "2001:db8::1"],
])("a listener hears an announcer across a veth over %s, and prints the peer once", async (_family, group, announcer) => {
  using net = makeNetwork({
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
  using listener = net.spawn("b", [bun, example, "listen", "--interface", "veth0", "--group", group, "--count", "1"]);
  expect(await listener.readLine()).toBe(`listening on ${group.replace(/^\[|\]?:\d+$/g, "")} port 4242`);
  // Three announcements (the first may leave while the listener's join is still on its way).
  const announced = await net.run("a", [
    bun,
    example,
    "announce",
    "printer-2",
    "--interface",
    "veth0",
    "--group",
    group,
    "--count",
    "3",
    "--every-ms",
    "20",
  ]);
  expect(announced.stderr).toBe("");
  expect(announced.exitCode).toBe(0);
  expect(await listener.readLine()).toMatch(new RegExp(`^printer-2 at ${announcer.replace(/\./g, "\\.")}:\\d+$`));
  const finished = await listener.finish();
  expect(finished.exitCode).toBe(0);
  expect(finished.stdout).toBe("");
});
