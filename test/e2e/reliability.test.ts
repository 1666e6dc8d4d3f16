// End-to-end reliability and security of the compiled server: departed clients, floods,
// oversized datagrams, signals under load, the reflection guard, the rate limit, fuzzing.
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { run as runSync } from "../../scripts/build.ts";
import { runProcess, waitFor } from "../helpers.ts";
import { ensureBuilt, runServer, startServer } from "./server.ts";

const root = join(import.meta.dir, "..", "..");
const clients = join(import.meta.dir, "..", "clients");
const loadgen = join(root, "zig", "zig-out", "bin", "loadgen");

const run = (command: string[]) => runProcess(command);

/**
 * How many datagrams the server's stats lines (`--stats SECONDS`) say it received so far: each
 * line's rate times its interval. A line that came late covers a longer interval at a lower
 * rate, so this never overstates.
 */
function receivedPerStats(stdout: string, seconds: number): number {
  const rates = [...stdout.matchAll(/^stats: in ([\d.]+) datagrams\/s/gm)].map((match) => Number(match[1]));
  return rates.reduce((sum, rate) => sum + rate * seconds, 0);
}

const totals = (stdout: string) => {
  const line = stdout.split("\n").find((candidate) => candidate.startsWith("totals: "))!;
  const number = (name: string) => Number(new RegExp(`${name} (\\d+)`).exec(line)?.[1]);
  return {
    line,
    in: number("in"),
    out: number("out"),
    oversized: number("oversized"),
    refused: number("refused"),
    rateLimited: number("rate-limited"),
  };
};

beforeAll(async () => {
  await ensureBuilt();
  runSync([join(root, "scripts", "zig"), "build", "bench", "--summary", "none"], join(root, "zig"));
});

describe("faults", () => {
  test("1,000 clients that send a burst and leave at once do not stop the server or make it print", async () => {
    const server = await startServer(["--port", "0"]);
    const departed = await run(["python3", join(clients, "departed-clients.py"), "127.0.0.1", String(server.port), "1000", "5"]);
    expect(departed.stdout.trim()).toBe("sent 5000");
    // Everyone else is still served.
    const others = await run(["python3", join(clients, "many-clients.py"), "127.0.0.1", String(server.port), "20", "10"]);
    expect(others.stdout.trim()).toBe("ok 200");
    expect(server.process.exitCode).toBeNull();
    const { exitCode, stdout, stderr } = await server.stop();
    expect(exitCode).toBe(0);
    expect(stderr).toBe("");
    expect(totals(stdout).in).toBe(5200);
  });

  test("datagrams over --max-datagram are counted and dropped, never echoed truncated", async () => {
    const server = await startServer(["--port", "0", "--max-datagram", "100"]);
    const fine = await run(["python3", join(clients, "python-client.py"), "127.0.0.1", String(server.port), "0", "100"]);
    expect(fine.stdout.trim().split("\n")).toEqual(["ok 0", "ok 100"]);
    // Three datagrams over the limit, then one of exactly 100 bytes from the same socket: the
    // server handles them in order, so the first echo to come back must be the last one's, and
    // nothing may wait behind it (an echo of a big one, whole or truncated to 100 bytes).
    const big = await run([
      "python3",
      "-c",
      `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
for size in (101, 9000, 65507):
    s.sendto(bytes(size), ("127.0.0.1", ${server.port}))
last = b"last" + bytes(range(96))
s.sendto(last, ("127.0.0.1", ${server.port}))
first = s.recvfrom(70000)[0]
s.setblocking(False)
try:
    s.recvfrom(70000); print("more came back")
except BlockingIOError:
    print("only the last" if first == last else f"another came first: {len(first)} bytes")
`,
    ]);
    expect(big.stdout.trim()).toBe("only the last");
    const { stdout } = await server.stop();
    expect(totals(stdout)).toMatchObject({ in: 6, out: 3, oversized: 3 });
  });

  test("over IPv6 a datagram larger than 65507 bytes is dropped as oversized by default", async () => {
    const server = await startServer(["--host", "::1", "--port", "0"]);
    const result = await run([
      "python3",
      "-c",
      `
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(0.3)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
s.sendto(bytes(65527), ("::1", ${server.port}))
try:
    s.recvfrom(70000); print("echoed")
except socket.timeout:
    print("nothing came back")
`,
    ]);
    expect(result.stdout.trim()).toBe("nothing came back");
    const { stdout } = await server.stop();
    expect(totals(stdout)).toMatchObject({ in: 1, out: 0, oversized: 1 });
  });

  test.each(["SIGTERM", "SIGINT"] as const)("%s during a flood: totals printed and exit 0 within 2 seconds", async (signal) => {
    for (const workers of ["1", "2"]) {
      const server = await startServer(["--port", "0", "--workers", workers, "--stats", "0.1"]);
      const flood = Bun.spawn([loadgen, "throughput", "127.0.0.1", String(server.port), "64", "30", "8", "32"], {
        stdout: "pipe",
        stderr: "pipe",
      });
      // The signal comes once the server says (in its stats lines) that the flood reaches it.
      await waitFor(`2,000 datagrams received by ${workers} worker(s)`, () => receivedPerStats(server.stdout(), 0.1) >= 2000);
      const { exitCode, stdout, stderr, elapsedMs } = await server.stop(signal);
      flood.kill();
      await flood.exited;
      expect(exitCode).toBe(0);
      expect(stderr).toBe("");
      expect(elapsedMs).toBeLessThan(2000);
      expect(totals(stdout).in).toBeGreaterThan(1000);
    }
  });
});

describe("security", () => {
  test("it listens on 127.0.0.1 unless told otherwise", async () => {
    await using server = await startServer(["--port", "0"]);
    expect(server.readyLine).toStartWith(`udp-echo listening on 127.0.0.1:${server.port} `);
  });

  test("listening beyond loopback without a rate limit prints a warning about reflection", async () => {
    const open = await startServer(["--host", "0.0.0.0", "--port", "0"]);
    const { stderr } = await open.stop();
    expect(stderr).toContain("udp-echo: warning: listening on 0.0.0.0 without --rate-limit");
    expect(stderr).toContain("reflection");
    const limited = await startServer(["--host", "0.0.0.0", "--port", "0", "--rate-limit", "1000"]);
    expect((await limited.stop()).stderr).toBe("");
  });

  test.each([1900, 11211])(
    "datagrams from well-known port %p are refused and counted, unless the guard is off",
    async (sourcePort) => {
      const guarded = await startServer(["--port", "0"]);
      const refused = await run([
        "python3",
        join(clients, "from-port.py"),
        "127.0.0.1",
        String(guarded.port),
        String(sourcePort),
        "3",
      ]);
      const [, echoes, markers] = /^echoes (\d+) markers (\d+)$/.exec(refused.stdout.trim()) ?? [refused.stdout, refused.stderr];
      expect(echoes).toBe("0");
      // The markers (from an ordinary port) are echoed; the three from the well-known port are not.
      expect(totals((await guarded.stop()).stdout)).toMatchObject({ in: 3 + Number(markers), out: Number(markers), refused: 3 });

      const open = await startServer(["--port", "0", "--no-reflection-guard"]);
      const answered = await run([
        "python3",
        join(clients, "from-port.py"),
        "127.0.0.1",
        String(open.port),
        String(sourcePort),
        "3",
      ]);
      expect(answered.stdout.trim()).toStartWith("echoes 3 markers ");
      await open.stop();
    },
  );

  test("--rate-limit caps datagrams per second per source address and counts the drops", async () => {
    const server = await startServer(["--port", "0", "--rate-limit", "20"]);
    const fromPort = (source: string, count: number, marker: string) =>
      run(["python3", join(clients, "from-port.py"), "127.0.0.1", String(server.port), "0", String(count), source, marker]);
    // 100 at once from 127.0.0.1: its bucket holds one second's worth (20). The markers that
    // tell the client the server has handled all 100 come from 127.0.0.2, another bucket.
    const first = await fromPort("127.0.0.1", 100, "127.0.0.2");
    const [, firstEchoes, firstMarkers] = /^echoes (\d+) markers (\d+)$/.exec(first.stdout.trim()) ?? [
      first.stdout,
      first.stderr,
    ];
    expect(firstEchoes).toBe("20");
    // Another source address has its own bucket: all 5 come back while 127.0.0.1's is empty
    // (it refills at 20 a second; a bucket shared with it would let a few through at most).
    const other = await fromPort("127.0.0.2", 5, "127.0.0.3");
    const [, otherEchoes, otherMarkers] = /^echoes (\d+) markers (\d+)$/.exec(other.stdout.trim()) ?? [
      other.stdout,
      other.stderr,
    ];
    expect(otherEchoes).toBe("5");
    const markers = Number(firstMarkers) + Number(otherMarkers);
    expect(totals((await server.stop()).stdout)).toMatchObject({ in: 105 + markers, out: 25 + markers, rateLimited: 80 });
  });
});

describe("fuzz", () => {
  test.each([
    ["IPv4", "127.0.0.1"],
    ["IPv6", "::1"],
  ])("random sizes from 0 to 65507 bytes and random contents from 8 clients all come back exact (%s)", async (_name, host) => {
    await using server = await startServer(["--host", host, "--port", "0"]);
    const seed = Math.floor(Math.random() * 1_000_000);
    const result = await run(["python3", join(clients, "fuzz-client.py"), host, String(server.port), "8", "60", String(seed)]);
    expect(result.stderr).toBe("");
    expect(`${result.stdout.trim()} (seed ${seed})`).toBe(`ok 480 (seed ${seed})`);
  });
});

describe("bad command lines", () => {
  const numeric = [
    ["--port", "0 to 65535"],
    ["--workers", "1 to 64"],
    ["--max-datagram", "1 to 65535"],
    ["--rate-limit", "1 to 1000000000"],
  ] as const;
  const cases: [string[], string][] = [];
  for (const [flag, range] of numeric) {
    for (const value of ["", "-3", "99999999999999999999", "ten", "1.5", "0x10", " 5"]) {
      cases.push([[`${flag}=${value}`], `invalid value for ${flag}: "${value}" is not a whole number from ${range}`]);
    }
  }
  for (const value of ["", "-1", "1e9", "fast"]) {
    cases.push([[`--stats=${value}`], `invalid value for --stats: "${value}" is not a number of seconds from 0.1 to 86400`]);
  }
  for (const value of ["", "example.com", "::g", "1.2.3.4.5"]) {
    cases.push([[`--host=${value}`], `invalid value for --host: "${value}" is not an IPv4 or IPv6 address`]);
  }
  cases.push([["--reactor="], 'invalid value for --reactor: "" is neither "inline" nor "thread"']);
  cases.push([["--workers"], "option --workers needs a value"]);
  cases.push([["--help=please"], "option --help takes no value"]);
  cases.push([["-p", "1"], "unknown option -p"]);

  test.each(cases)("%p → exit 2, one line", async (args, message) => {
    const { exitCode, stdout, stderr } = await runServer(args);
    expect({ exitCode, stdout, stderr }).toEqual({
      exitCode: 2,
      stdout: "",
      stderr: `udp-echo: ${message}\nTry 'udp-echo --help' for the options.\n`,
    });
  });
});
