/**
 * LAN discovery over multicast, the shape mDNS, SSDP and game lobbies share: announcers send a
 * small JSON datagram to a multicast group now and then; listeners join the group and print each
 * new peer once. Both run as tasks on bun-reactor's runtime inside a Bun app (the "embedded"
 * driver), so the app's own code keeps Bun's event loop.
 *
 * Usage:
 *   bun examples/lan-discovery.ts listen   [--interface IF] [--group ADDR:PORT] [--count N]
 *   bun examples/lan-discovery.ts announce NAME [--interface IF] [--group ADDR:PORT] [--count N] [--every-ms MS]
 *
 * The group is 239.255.42.99:4242 by default (IPv4, administratively scoped: it stays inside the
 * site); `[ff15::42]:4242` works the same over IPv6. `--interface` names the interface to join
 * and announce on (a name such as eth0, an index or one of its addresses); without it the
 * kernel chooses by route. `--count` stops a listener after N peers, an announcer after N
 * announcements (default: never).
 *
 * ```sh
 * bun examples/lan-discovery.ts listen --interface eth0 &
 * bun examples/lan-discovery.ts announce printer-2 --interface eth0
 * # the listener prints: printer-2 at 192.0.2.7:41234
 * ```
 */
import { type Async, parseSocketAddress, Runtime, sleep, type SocketAddress, UdpSocket } from "bun-reactor";

interface Settings {
  readonly mode: "listen" | "announce";
  readonly name: string;
  readonly group: SocketAddress;
  readonly iface: string | undefined;
  readonly count: number;
  readonly everyMs: number;
}

function parseArguments(argv: string[]): Settings {
  const [mode, ...rest] = argv;
  if (mode !== "listen" && mode !== "announce") throw new Error("usage: lan-discovery.ts listen|announce [NAME] [options]");
  const name = mode === "announce" ? rest.shift() : "";
  if (name === undefined || name.startsWith("--")) throw new Error("announce needs a NAME");
  const options = new Map<string, string>();
  for (let index = 0; index < rest.length; index += 2) {
    const [flag, value] = [rest[index]!, rest[index + 1]];
    if (!["--interface", "--group", "--count", "--every-ms"].includes(flag) || value === undefined) {
      throw new Error(`unknown option or missing value: ${flag}`);
    }
    options.set(flag, value);
  }
  const count = Number(options.get("--count") ?? Infinity);
  const everyMs = Number(options.get("--every-ms") ?? 1000);
  if (!(count >= 1) || !(everyMs > 0)) throw new Error("--count and --every-ms must be positive numbers");
  const group = parseSocketAddress(options.get("--group") ?? "239.255.42.99:4242");
  return { mode, name, group, iface: options.get("--interface"), count, everyMs };
}

/** Hears announcements and prints each new peer once; returns after `count` peers. */
function* listen(settings: Settings): Async<void> {
  const wildcard = settings.group.family === 6 ? "::" : "0.0.0.0";
  // Bound to the group's port on every address, shared with other listeners on this host.
  using socket = UdpSocket.bind({ host: wildcard, port: settings.group.port }, { reuseAddress: true, reusePort: true });
  socket.ip.join(settings.group.host, settings.iface === undefined ? {} : { interface: settings.iface });
  console.log(`listening on ${settings.group.host} port ${settings.group.port}`);
  const seen = new Set<string>();
  const buffer = new Uint8Array(1500);
  while (seen.size < settings.count) {
    const { bytes, peer } = yield* socket.recvFrom(buffer);
    let announcement: { name?: unknown; port?: unknown };
    try {
      announcement = JSON.parse(new TextDecoder().decode(bytes)) as typeof announcement;
    } catch {
      continue; // not one of ours
    }
    if (typeof announcement.name !== "string" || seen.has(announcement.name)) continue;
    seen.add(announcement.name);
    console.log(`${announcement.name} at ${peer.host}:${String(announcement.port)}`);
  }
}

/** Sends an announcement every `everyMs`, `count` times. */
function* announce(settings: Settings): Async<void> {
  using socket = UdpSocket.bind(settings.group.family === 6 ? "[::]:0" : "0.0.0.0:0");
  if (settings.iface !== undefined) socket.ip.setMulticastInterface(settings.iface);
  socket.ip.set("multicastTtl", 1); // this link only
  socket.ip.set("multicastLoop", true); // listeners on this host hear it too
  const message = new TextEncoder().encode(JSON.stringify({ name: settings.name, port: socket.localAddress.port }));
  for (let sent = 0; sent < settings.count; sent++) {
    if (sent > 0) yield* sleep(settings.everyMs);
    yield* socket.sendTo(message, settings.group);
  }
}

const settings = parseArguments(process.argv.slice(2));
const runtime = new Runtime({ driver: "embedded" });
const task = runtime.spawn(settings.mode === "listen" ? listen(settings) : announce(settings), { name: settings.mode });
process.once("SIGINT", () => runtime.close());
try {
  await task.promise();
} finally {
  runtime.close();
}
