// End-to-end: the totals line accounts for datagrams the server never saw (dropped by the
// kernel while it fell behind) and for replies whose client had gone (ICMP errors read from the
// socket's error queue), on loopback with the compiled executable.
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runProcess } from "../helpers.ts";
import { ensureBuilt, startServer } from "./server.ts";

const clients = join(import.meta.dir, "..", "clients");

/** The counters of the totals line, by their names there ("in", "out", "dropped by kernel", …). */
function totals(stdout: string): Record<string, number> {
  const line = stdout.split("\n").find((candidate) => candidate.startsWith("totals: "))!;
  const counters: Record<string, number> = {
    in: Number(/ in (\d+) datagrams/.exec(line)![1]),
    out: Number(/ out (\d+) datagrams/.exec(line)![1]),
  };
  // After "drops": "oversized 0, refused 0, …, dropped by kernel 0, restarts 0".
  for (const field of line.slice(line.indexOf("drops ") + "drops ".length).split(", ")) {
    const [, name, value] = /^(.+) (\d+)$/.exec(field)!;
    counters[name!] = Number(value);
  }
  return counters;
}

/** Sends markers until one is echoed (see clients/marker.py); returns how many were sent. */
async function sendMarker(port: number): Promise<number> {
  const { stdout, stderr } = await runProcess(["python3", join(clients, "marker.py"), "127.0.0.1", String(port)]);
  const sent = /^markers (\d+)$/.exec(stdout.trim())?.[1];
  if (sent === undefined) throw new Error(`no marker came back: ${stderr}`);
  return Number(sent);
}

beforeAll(async () => {
  await ensureBuilt();
});

describe.skipIf(process.platform !== "linux")("udp-echo accounts for what it never echoed", () => {
  test("datagrams that arrive while it is stopped and its buffer is full count as dropped by kernel", async () => {
    await using server = await startServer(["--port", "0"]);
    const pid = server.process.pid;
    // The server cannot run: its receive buffer fills, and the kernel drops the rest.
    process.kill(pid, "SIGSTOP");
    const sent = 40_000; // about 30 MB of kernel memory: more than any receive buffer here
    try {
      const flood = [
        "import socket",
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
        `for i in range(${sent}): s.sendto(b"datagram %d" % i, ("127.0.0.1", ${server.port}))`,
      ].join("\n");
      expect((await runProcess(["python3", "-c", flood])).exitCode).toBe(0);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    // Once a marker comes back, the server has taken everything queued before it.
    const markers = await sendMarker(server.port);
    const counted = totals((await server.stop()).stdout);
    expect(counted["dropped by kernel"]).toBeGreaterThan(0);
    // Every datagram sent (the markers too) was either received or dropped by the kernel.
    expect(counted.in! + counted["dropped by kernel"]!).toBe(sent + markers);
  });
});

describe.skipIf(process.platform !== "linux")("udp-echo reads ICMP errors for its replies from the error queue", () => {
  test("replies to clients that left count as unreachable, not sent, with one summary line", async () => {
    await using server = await startServer(["--port", "0"]);
    // 20 clients send 2 datagrams each and close while the server is stopped: every reply meets
    // a closed port. (A running, warmed-up server can answer before a client has closed.)
    process.kill(server.process.pid, "SIGSTOP");
    try {
      const departed = ["python3", join(clients, "departed-clients.py"), "127.0.0.1", String(server.port), "20", "2"];
      expect((await runProcess(departed)).exitCode).toBe(0);
    } finally {
      process.kill(server.process.pid, "SIGCONT");
    }
    // Once a marker comes back, every reply before it has been sent and has met its ICMP error;
    // the server reads what is left of the error queue as it stops.
    const markers = await sendMarker(server.port);
    const { stdout } = await server.stop();
    const counted = totals(stdout);
    expect(counted.in).toBe(40 + markers);
    // The kernel sends ICMP errors at a bounded global rate (net.ipv4.icmp_msgs_per_sec, with a
    // burst of 50), shared with every other program on the machine: most, not all, may come.
    expect(counted.unreachable).toBeGreaterThan(0);
    expect(counted.out! + counted.unreachable!).toBe(40 + markers);
    const summary = stdout.split("\n").filter((line) => line.startsWith("unreachable: "));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatch(
      new RegExp(`^unreachable: ${counted.unreachable} replies met an ICMP error, to \\d+ peers; most to `),
    );
  });
});
