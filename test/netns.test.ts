// The namespace helper other tests build their networks with: what it makes, and that it always
// deletes it.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { makeNetwork } from "./netns.ts";

const probe = join(import.meta.dir, "fixtures", "netns-probe.ts");
const bun = process.execPath;

function twoHosts(mtu?: number) {
  return makeNetwork({
    namespaces: ["a", "b"],
    links: [
      {
        ...(mtu === undefined ? {} : { mtu }),
        ends: [
          { namespace: "a", addresses: ["192.0.2.1/24", "198.51.100.1/24", "2001:db8::1/64"] },
          { namespace: "b", addresses: ["192.0.2.2/24", "2001:db8::2/64"] },
        ],
      },
    ],
  });
}

describe("netns helper", () => {
  test("each namespace has its own addresses on the veth, at the chosen MTU, with multicast on", async () => {
    using net = twoHosts(1280);
    const result = await net.run("a", [bun, probe, "interfaces"]);
    expect(result.stderr).toBe("");
    const interfaces = JSON.parse(result.stdout) as { name: string; addresses: string[] }[];
    expect(interfaces.find((entry) => entry.name === "veth0")?.addresses).toEqual(
      expect.arrayContaining(["192.0.2.1", "198.51.100.1", "2001:db8::1"]),
    );
    expect(interfaces.flatMap((entry) => entry.addresses)).not.toContain("192.0.2.2");
    const link = net.ip("b", "link", "show", "veth0");
    expect(link).toContain("mtu 1280");
    expect(link).toContain("MULTICAST");
    expect(link).toContain("UP");
  });

  for (const [family, listen, target] of [
    ["IPv4", "0.0.0.0", "192.0.2.2"],
    ["IPv6 (usable at once: no duplicate address detection)", "::", "2001:db8::2"],
  ] as const)
    test(`a datagram crosses the veth from one namespace to the other over ${family}`, async () => {
      using net = twoHosts();
      using listener = net.spawn("b", [bun, probe, "listen", listen]);
      const port = await listener.readLine();
      const sent = await net.run("a", [bun, probe, "send", target, port, "across"]);
      expect(sent.exitCode).toBe(0);
      const received = JSON.parse(await listener.readLine()) as { text: string; address: string };
      expect(received.text).toBe("across");
      expect(received.address).toMatch(/192\.0\.2\.1|2001:db8::1/);
    });

  test("namespaces are deleted on dispose, even when the block that made them throws", () => {
    let names: string[] = [];
    expect(() => {
      using net = twoHosts();
      names = [net.namespace("a"), net.namespace("b")];
      expect(names.every((name) => existsSync(`/run/netns/${name}`))).toBe(true);
      throw new Error("the test failed");
    }).toThrow("the test failed");
    expect(names.filter((name) => existsSync(`/run/netns/${name}`))).toEqual([]);
  });

  for (const [how, exit] of [
    ["is killed", "kill"],
    ["exits without disposing its network", "exit"],
  ] as const)
    test(`the namespaces of a process that ${how} are deleted`, async () => {
      const holder = Bun.spawn([bun, probe, "hold"], { stdout: "pipe", stderr: "inherit" });
      const reader = holder.stdout.getReader();
      let text = "";
      while (!text.includes("\n")) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error("the holder ended before naming its namespace");
        text += new TextDecoder().decode(chunk.value);
      }
      const held = text.trim();
      expect(held).toStartWith("bunreactor-");
      expect(existsSync(`/run/netns/${held}`)).toBe(true);
      if (exit === "kill") holder.kill("SIGKILL");
      else holder.kill("SIGTERM");
      await holder.exited;
      // The watchdog deletes it once it sees the holder gone: wait for that, within 10 s.
      for (const deadline = Date.now() + 10_000; existsSync(`/run/netns/${held}`) && Date.now() < deadline;) await Bun.sleep(20);
      expect(existsSync(`/run/netns/${held}`)).toBe(false);
    });

  test("an address outside the documentation ranges is refused before anything is made", () => {
    const plan = {
      namespaces: ["a"],
      links: [
        {
          ends: [
            { namespace: "a", addresses: ["10.0.0.1/24"] },
            { namespace: "a", addresses: [] },
          ],
        },
      ],
    };
    expect(() => makeNetwork(plan as never)).toThrow(
      "Address 10.0.0.1/24 is not in 192.0.2.0/24, 198.51.100.0/24 or 2001:db8::/32",
    );
  });

  test("a network that cannot be made is an error that says why, and leaves no namespace behind", () => {
    const before = new Set(readdirSync("/run/netns"));
    // The same address twice on one interface: the kernel refuses the second.
    const twice = { namespace: "a", addresses: ["192.0.2.1/24", "192.0.2.1/24"] };
    const plan = { namespaces: ["a", "b"], links: [{ ends: [twice, { namespace: "b", addresses: [] }] as const }] };
    expect(() => makeNetwork(plan)).toThrow(/Cannot add 192\.0\.2\.1\/24 to veth0 in bunreactor-\d+-\d+-a: .*already assigned/);
    expect(readdirSync("/run/netns").filter((name) => !before.has(name))).toEqual([]);
  });
});
