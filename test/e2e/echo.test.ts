// End-to-end: the compiled executable, run from an empty directory, answering clients the
// project did not write: Python's socket module, Node's node:dgram, and socat.
import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { runProcess, waitFor } from "../helpers.ts";
import { ensureBuilt, runServer, startServer } from "./server.ts";

const clients = join(import.meta.dir, "..", "clients");
const SIZES = [0, 1, 1400, 9000, 65507];

const run = (command: string[], stdin?: Uint8Array) => runProcess(command, stdin === undefined ? {} : { stdin });

beforeAll(async () => {
  await ensureBuilt();
});

describe.each([
  ["IPv4", "127.0.0.1"],
  ["IPv6", "::1"],
])("udp-echo over %s", (_name, host) => {
  test("Python's socket module gets back exact bytes for 0, 1, 1400, 9000 and 65507 bytes", async () => {
    await using server = await startServer(["--host", host, "--port", "0"]);
    const result = await run(["python3", join(clients, "python-client.py"), host, String(server.port), ...SIZES.map(String)]);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim().split("\n")).toEqual(SIZES.map((size) => `ok ${size}`));
    expect(result.exitCode).toBe(0);
  });

  test("Node's node:dgram gets back exact bytes for 0, 1, 1400, 9000 and 65507 bytes", async () => {
    await using server = await startServer(["--host", host, "--port", "0"]);
    const result = await run(["node", join(clients, "node-client.mjs"), host, String(server.port), ...SIZES.map(String)]);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim().split("\n")).toEqual(SIZES.map((size) => `ok ${size}`));
    expect(result.exitCode).toBe(0);
  });

  test.each([1, 1400, 9000, 65507])("socat gets back exact bytes for %p bytes", async (size) => {
    await using server = await startServer(["--host", host, "--port", "0"]);
    const payload = new Uint8Array(size).map((_, index) => (index * 31 + size) & 0xff);
    const target = host.includes(":") ? `UDP6:[${host}]:${server.port}` : `UDP4:${host}:${server.port}`;
    const result = await run(["socat", "-b", "65536", "-t", "1", "-", target], payload);
    expect(result.stderr).toBe("");
    expect(result.bytes).toEqual(payload);
  });

  test("50 clients at once each get their own echoes", async () => {
    await using server = await startServer(["--host", host, "--port", "0"]);
    const result = await run(["python3", join(clients, "many-clients.py"), host, String(server.port), "50", "20"]);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe("ok 1000");
  });
});

describe("udp-echo as a process", () => {
  test("--port 0 picks a free port and the ready line says which, with backend, reactor, workers and offload", async () => {
    await using server = await startServer(["--port", "0"]);
    expect(server.port).toBeGreaterThan(0);
    const linux = process.platform === "linux";
    const offload = linux ? "offload on" : `offload off: not available on ${process.platform}`;
    expect(server.readyLine).toBe(
      `udp-echo listening on 127.0.0.1:${server.port} (${linux ? "epoll" : "kqueue"}, inline reactor, 1 worker, ${offload})`,
    );
  });

  test("--offload off says so in the ready line", async () => {
    await using server = await startServer(["--port", "0", "--offload", "off"]);
    expect(server.readyLine).toEndWith(", 1 worker, offload off: --offload off)");
  });

  test("it runs alone, copied into an empty directory with no PATH to Bun or Zig", async () => {
    // startServer always does this: the executable's copy in a fresh temporary directory, run
    // there with PATH=/usr/bin:/bin.
    const binary = await ensureBuilt();
    expect(readdirSync(dirname(binary))).toEqual(["udp-echo"]);
    await using server = await startServer(["--port", "0"]);
    const result = await run(["python3", join(clients, "python-client.py"), "127.0.0.1", String(server.port), "5"]);
    expect(result.stdout.trim()).toBe("ok 5");
  });

  test.each(["SIGTERM", "SIGINT"] as const)("%s prints the totals and exits 0", async (signal) => {
    const server = await startServer(["--port", "0"]);
    await run(["python3", join(clients, "python-client.py"), "127.0.0.1", String(server.port), "3", "4"]);
    const { exitCode, stdout, stderr } = await server.stop(signal);
    expect(exitCode).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toContain(
      "totals: in 2 datagrams 7 bytes, out 2 datagrams 7 bytes, " +
        "drops oversized 0, refused 0, rate-limited 0, send-error 0, overload 0, unreachable 0, " +
        "send-retry 0, recv-retry 0, dropped by kernel 0, restarts 0",
    );
  });

  test("--reactor thread echoes too", async () => {
    await using server = await startServer(["--port", "0", "--reactor", "thread"]);
    expect(server.readyLine).toContain("thread reactor");
    const result = await run([
      "python3",
      join(clients, "python-client.py"),
      "127.0.0.1",
      String(server.port),
      ...SIZES.map(String),
    ]);
    expect(result.stdout.trim().split("\n")).toHaveLength(SIZES.length);
  });

  test("--workers 2 serves from both workers on one port", async () => {
    const server = await startServer(["--port", "0", "--workers", "2"]);
    expect(server.readyLine).toContain("2 workers");
    // Many source ports, so that SO_REUSEPORT's hash spreads them over both sockets.
    const result = await run(["python3", join(clients, "many-clients.py"), "127.0.0.1", String(server.port), "64", "5"]);
    expect(result.stdout.trim()).toBe("ok 320");
    const { exitCode, stdout } = await server.stop();
    expect(exitCode).toBe(0);
    expect(stdout).toContain("totals: in 320 datagrams");
    const perWorker = [...stdout.matchAll(/worker (\d): in (\d+) out (\d+)/g)].map((match) => [
      Number(match[2]),
      Number(match[3]),
    ]);
    expect(perWorker).toHaveLength(2);
    for (const [received, sent] of perWorker) {
      expect(received).toBeGreaterThan(0);
      expect(sent).toBe(received!);
    }
  });

  test("--stats prints rates, drops and tasks every interval", async () => {
    const server = await startServer(["--port", "0", "--stats", "0.2"]);
    await run(["python3", join(clients, "python-client.py"), "127.0.0.1", String(server.port), "10"]);
    await waitFor("two stats lines", () => (server.stdout().match(/^stats: /gm) ?? []).length >= 2);
    const { stdout } = await server.stop();
    const lines = stdout.split("\n").filter((line) => line.startsWith("stats: "));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(
      new RegExp(
        String.raw`^stats: in [\d.]+ datagrams/s [\d.]+ B/s, out [\d.]+ datagrams/s [\d.]+ B/s, ` +
          String.raw`drops oversized \d+, refused \d+, rate-limited \d+, send-error \d+, overload \d+, unreachable \d+, ` +
          String.raw`send-retry \d+, recv-retry \d+, dropped by kernel \d+, tasks \d+$`,
      ),
    );
  });

  test("--trace prints the seed's steps, numbered, then only counts them", async () => {
    const server = await startServer(["--port", "0", "--trace"]);
    await run(["python3", join(clients, "python-client.py"), "127.0.0.1", String(server.port), "1", "2", "3"]);
    const { stdout } = await server.stop();
    const steps = new Set([...stdout.matchAll(/^trace \[step +(\d+)\]/gm)].map((match) => Number(match[1])));
    expect([...steps].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(stdout).toMatch(/^trace \[step  6\] waker-stored task=\d+ token=\d+ read$/m);
    expect(stdout).toMatch(/^trace events by step: 1:\d+ 2:\d+/m);
  });

  test("the warm-up before the ready line runs on sockets of its own: one socket left open, nothing counted or traced", async () => {
    await using server = await startServer(["--port", "0", "--trace"]);
    // Ready: the warm-up has ended, and its server and client sockets are closed. What is left
    // is the server's own UDP socket (Linux lists a process's descriptors and the UDP sockets).
    if (process.platform === "linux") {
      const pid = server.process.pid;
      const udp = new Set(
        ["/proc/net/udp", "/proc/net/udp6"].flatMap((table) =>
          readFileSync(table, "utf8")
            .trim()
            .split("\n")
            .slice(1)
            .map((row) => row.trim().split(/\s+/)[9]!),
        ),
      );
      const inodes = readdirSync(`/proc/${pid}/fd`).map(
        (fd) => /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1],
      );
      expect(inodes.filter((inode) => inode !== undefined && udp.has(inode))).toHaveLength(1);
    }
    const { stdout } = await server.stop();
    // The trace starts at the service's first step, not the warm-up's; its counters at zero.
    expect(/^trace .*$/m.exec(stdout)?.[0]).toMatch(/^trace \[step  1\] spawn task=\d+ async_main$/);
    expect(stdout).toContain("totals: in 0 datagrams 0 bytes, out 0 datagrams 0 bytes,");
  });

  test("once ready, the JIT compiler's threads have the idle scheduling policy and the event loop the normal one", async () => {
    await using server = await startServer(["--port", "0"]);
    if (process.platform !== "linux") return; // no /proc to read it in, and no such policy per thread
    const pid = server.process.pid;
    const threads = readdirSync(`/proc/${pid}/task`).map((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      return { tid: Number(tid), name, policy: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38]) };
    });
    // The warm-up compiled its hot path on them: they exist by the ready line.
    const compilers = threads.filter((thread) => thread.name.startsWith("JITWorker"));
    expect(compilers.length).toBeGreaterThan(0);
    expect(compilers.map((thread) => thread.policy)).toEqual(compilers.map(() => 5)); // SCHED_IDLE
    expect(threads.find((thread) => thread.tid === pid)?.policy).toBe(0); // SCHED_OTHER
  });

  test("--cpu 1: the event loop runs alone on CPU 1, and every other thread of the process on the other CPUs", async () => {
    if (process.platform !== "linux") return; // no affinity per thread elsewhere (udp-echo says so and exits 1)
    const allowed = cpusOf(process.pid);
    if (allowed.length < 2) throw new Error(`this test needs two CPUs to place threads on; it may use ${allowed.join(",")}`);
    const loopCpu = allowed[1]!;
    await using server = await startServer(["--port", "0", "--cpu", String(loopCpu)]);
    const pid = server.process.pid;
    const others = allowed.filter((cpu) => cpu !== loopCpu);
    const placed = () => readdirSync(`/proc/${pid}/task`).map((tid) => ({ tid: Number(tid), cpus: cpusOf(Number(tid), pid) }));
    // The threads the ready line's collection starts are moved half a second later at most.
    await waitFor("every thread but the event loop off its CPU", () =>
      placed().every((thread) => thread.tid === pid || thread.cpus.join() === others.join()),
    );
    expect(placed().find((thread) => thread.tid === pid)?.cpus).toEqual([loopCpu]);
    expect(placed().length).toBeGreaterThan(2); // the engine's threads are there to be moved
    // It still echoes.
    const result = await run(["python3", join(clients, "python-client.py"), "127.0.0.1", String(server.port), "5"]);
    expect(result.stdout.trim()).toBe("ok 5");
  });

  test("--workers 2 --cpu with every CPU: each worker's event loop on its own, the other threads share them, with a warning", async () => {
    if (process.platform !== "linux") return;
    const allowed = cpusOf(process.pid);
    if (allowed.length !== 2) throw new Error(`this test places two workers on all of two CPUs; it may use ${allowed.join(",")}`);
    await using server = await startServer(["--port", "0", "--workers", "2", "--cpu", allowed.join(",")]);
    const pid = server.process.pid;
    // Each worker's thread is pinned to its CPU (threads a worker starts inherit that, and its
    // name "Worker"); the main thread keeps both.
    const pinned = () => [
      ...new Set(
        readdirSync(`/proc/${pid}/task`)
          .filter((tid) => readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim() === "Worker")
          .map((tid) => cpusOf(Number(tid), pid))
          .filter((cpus) => cpus.length === 1)
          .map((cpus) => cpus[0]!),
      ),
    ];
    await waitFor("the warning that no CPU is left", () => server.stderr().includes("--cpu leaves no other CPU"));
    expect(server.stderr()).toContain(
      "udp-echo: warning: --cpu leaves no other CPU to this process: its other threads share the event loops' CPUs",
    );
    expect(pinned().sort()).toEqual(allowed);
    expect(cpusOf(pid)).toEqual(allowed);
    const result = await run(["python3", join(clients, "python-client.py"), "127.0.0.1", String(server.port), "5"]);
    expect(result.stdout.trim()).toBe("ok 5");
  });

  test("--cpu with a CPU the process may not use → that CPU and the ones it may, exit 1", async () => {
    if (process.platform !== "linux") return;
    const allowed = cpusOf(process.pid);
    const outside = Math.max(...allowed) + 1;
    const { exitCode, stdout, stderr } = await runServer(["--port", "0", "--cpu", String(outside)]);
    expect(exitCode).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      `udp-echo: --cpu ${outside}: CPU ${outside} is not one this process may run on (it may use ${allowed.join(",")})\n`,
    );
  });

  test("--help and --version print and exit 0", async () => {
    const help = await runServer(["--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toStartWith("Usage: udp-echo [options]");
    const version = await runServer(["--version"]);
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toMatch(/^udp-echo \d+\.\d+\.\d+ \(bun-reactor; Bun 1\.4\.\d+; (epoll|kqueue); offload .+\)\n$/);
    // Whether offload is available here, and if not why.
    const offload =
      process.platform === "linux" ? "offload available" : `offload unavailable: not available on ${process.platform}`;
    expect(version.stdout).toEndWith(`; ${offload})\n`);
  });
});

describe("udp-echo refuses bad input with one clear line", () => {
  test.each([
    [["--port", "abc"], 'invalid value for --port: "abc" is not a whole number from 0 to 65535'],
    [["--port", "65536"], 'invalid value for --port: "65536" is not a whole number from 0 to 65535'],
    [["--port", "-1"], 'invalid value for --port: "-1" is not a whole number from 0 to 65535'],
    [["--port="], 'invalid value for --port: "" is not a whole number from 0 to 65535'],
    [["--port"], "option --port needs a value"],
    [["--host", "localhost"], 'invalid value for --host: "localhost" is not an IPv4 or IPv6 address'],
    [["--host", "300.1.1.1"], 'invalid value for --host: "300.1.1.1" is not an IPv4 or IPv6 address'],
    [["--workers", "0"], 'invalid value for --workers: "0" is not a whole number from 1 to 64'],
    [["--workers", "1000000"], 'invalid value for --workers: "1000000" is not a whole number from 1 to 64'],
    [["--reactor", "epoll"], 'invalid value for --reactor: "epoll" is neither "inline" nor "thread"'],
    [["--stats", "0"], 'invalid value for --stats: "0" is not a number of seconds from 0.1 to 86400'],
    [["--stats", "soon"], 'invalid value for --stats: "soon" is not a number of seconds from 0.1 to 86400'],
    [["--max-datagram", "0"], 'invalid value for --max-datagram: "0" is not a whole number from 1 to 65535'],
    [["--max-datagram", "1e3"], 'invalid value for --max-datagram: "1e3" is not a whole number from 1 to 65535'],
    [["--rate-limit", "-5"], 'invalid value for --rate-limit: "-5" is not a whole number from 1 to 1000000000'],
    [["--rate-limit", "99999999999"], 'invalid value for --rate-limit: "99999999999" is not a whole number from 1 to 1000000000'],
    [["--offload", "on"], 'invalid value for --offload: "on" is neither "auto" nor "off"'],
    [["--cpu", "one"], 'invalid value for --cpu: "one" is not a whole number from 0 to 1023'],
    [["--cpu", "1024"], 'invalid value for --cpu: "1024" is not a whole number from 0 to 1023'],
    [["--cpu", "0,"], 'invalid value for --cpu: "" is not a whole number from 0 to 1023'],
    [["--cpu", "1,1"], 'invalid value for --cpu: "1,1" names CPU 1 twice (one event loop each)'],
    [
      ["--cpu", "0,1", "--workers", "3"],
      "--cpu 0,1 names 2 CPUs, but there are 3 workers: name one CPU for each worker's event loop",
    ],
    [["--port", "0", "--cpu", "0,1"], "--cpu 0,1 names 2 CPUs, but there is 1 worker: name one CPU for each worker's event loop"],
    [["--frobnicate"], "unknown option --frobnicate"],
    [["--trace=yes"], "option --trace takes no value"],
    [["7777"], "unexpected argument 7777: udp-echo takes options only"],
  ])("%p → exit 2", async (args, message) => {
    const { exitCode, stdout, stderr } = await runServer(args);
    expect(exitCode).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(`udp-echo: ${message}\nTry 'udp-echo --help' for the options.\n`);
  });

  test("a port in use → the address and EADDRINUSE, exit 1, no stack trace", async () => {
    await using first = await startServer(["--port", "0"]);
    const { exitCode, stdout, stderr } = await runServer(["--port", String(first.port)]);
    expect(exitCode).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(`udp-echo: Cannot bind UDP socket to 127.0.0.1:${first.port}: address already in use (EADDRINUSE)\n`);
  });
});

/** The CPUs thread `tid` (of process `pid`) may run on, from /proc. */
function cpusOf(tid: number, pid = tid): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8"))![1]!;
  return list.split(",").flatMap((range) => {
    const [from, to = from] = range.split("-").map(Number);
    return Array.from({ length: to! - from! + 1 }, (_, index) => from! + index);
  });
}
