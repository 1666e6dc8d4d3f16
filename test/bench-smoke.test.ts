// The benchmark runs from a fresh clone: a brief smoke run, which checks that every part of it
// works and prints its table. It is not a timed test: no figure is compared with a threshold.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { run } from "../scripts/build.ts";
import { runProcess } from "./helpers.ts";

const root = join(import.meta.dir, "..");

test("bun run bench --smoke measures the reference and udp-echo, prints the tables, judges every target", async () => {
  const { stdout, stderr, exitCode } = await runProcess([
    process.execPath,
    join(root, "bench", "run.ts"),
    "--smoke",
    "--only",
    "udp-echo",
  ]);
  expect(exitCode).toBe(0);
  for (const size of [64, 1400]) expect(stdout).toContain(`### ${size}-byte datagrams`);
  expect(stdout).toMatch(/^\| zig-reference \| \d+ \| 1\.00× \| [\d.]+ \| 1\.00× \|/m);
  expect(stdout).toMatch(
    /^\| udp-echo \| \d+ \| [\d.]+× \| [\d.]+ \| [\d.]+× \| [\d.]+ \| [\d.]+× \| [\d.]+ \| [\d.]+ \| 0 \| \d+ \|$/m,
  );
  expect(stdout).toMatch(/^Cold start of `dist\/udp-echo` to its first echo: [\d.]+ ms \(median of 1\)\.$/m);
  // The offload rows: a steady figure and a cold one for each server, and every target judged.
  expect(stdout).toMatch(/^\| udp-echo \| \d+ \| [\d.]+ \| [\d.]+× \| [\d.]+× \| [\d.]+ \| [\d.]+× \| 0 \| \d+ \|$/m);
  // A cold ratio may be n/a: in a smoke run's 0.3 s window the reference can take no CPU tick (10 ms).
  for (const size of [64, 1200]) {
    expect(stdout).toMatch(
      new RegExp(
        String.raw`^- bursts of 16 × ${size} B: [\d.]+× the offload reference \(target ≤ 1\.25×: (met|NOT met); cold (?:[\d.]+|n/a)×\), ` +
          String.raw`[\d.]+× the plain reference \(target ≤ 0\.4×: (met|NOT met); cold (?:[\d.]+|n/a)×\)$`,
        "m",
      ),
    );
  }
  // The tail rows from the ready line on, judged per size, and the slow polls under a flood.
  for (const size of [64, 1400]) {
    expect(stdout).toMatch(
      new RegExp(
        String.raw`^- ${size} B: p99\.9 [\d.]+× \(target ≤ 1\.5×: (met|NOT met)\), p99\.99 [\d.]+× \(target ≤ 2×: (met|NOT met)\), ` +
          String.raw`max [\d.]+× \(target ≤ 2×: (met|NOT met)\)$`,
        "m",
      ),
    );
  }
  expect(stdout).toMatch(/^\| 1 \| [\d.]+ \/ [\d.]+ \| \d+ \/ \d+ \/ \d+ \/ \d+ \| \d+ \/ \d+ \/ \d+ \/ \d+ \|/m);
  expect(stdout).toMatch(/^\| echo reader \| [1-9]\d* \| \d+ \| \d+ \| [\d.]+ \/ [\d.]+ \|$/m);
  expect(stdout).toMatch(/^- (met|NOT met): the echo's polls over 1 ms of CPU time in the window: \d+ \(target 0\)$/m);
  expect(stdout).toMatch(
    /^- (met|NOT met): the echo's polls over 1 ms by the wall clock in the window: \d+ \(target 0; \d+ of them only by the wall clock/m,
  );
  // The control: the Zig reference's draining, cut into polls and timed the same way.
  expect(stdout).toMatch(/^\| zig-reference, the control \| [1-9]\d* \| \d+ \| not timed \| [\d.]+ \/ – \|$/m);
  expect(stdout).toMatch(/; the reference's, timed the same way: \d+\)$/m);
  expect(stdout).toMatch(/^- (met|NOT met): the console's long-poll warning stays silent/m);
  // The reply-source rows: the wildcard echo against the bound one, judged per workload (n/a
  // when, in a smoke run's short window, the bound echo took no CPU tick).
  for (const workload of ["single datagrams of 64 B", "bursts of 16 × 1200 B"]) {
    expect(stdout).toMatch(
      new RegExp(
        String.raw`^- ${workload}: (?:[\d.]+|n/a)× the bound echo's CPU per echo ` +
          String.raw`\(target ≤ 1\.05×: (met|NOT met|n/a)\); through the wildcard socket (?:[\d.]+|n/a)× ` +
          String.raw`\(no target: an address the host gained after the start\); errors and losses \d+$`,
        "m",
      ),
    );
  }
  expect(stderr).not.toContain("written to bench/RESULTS.md");
}, 240_000);

test("bun run bench:runtime --quick runs every workload on every runtime and prints the table with its ratios and targets", async () => {
  const { stdout, stderr, exitCode } = await runProcess([process.execPath, join(root, "bench", "runtime.ts"), "--quick"], {
    timeoutMs: 300_000,
  });
  expect(exitCode).toBe(0);
  const figure = String.raw`[\d.]+`;
  const ratio = String.raw`(?:[\d.]+×|n/a)`;
  // The tokio column has figures when cargo could build the crate, and says why not otherwise.
  const tokio = String.raw`(?:[\d.]+|– \(cargo not found\)|– \(cargo build failed\))`;
  // The floor (a minimal generator executor) has no poller: no select figure.
  const floor = String.raw`(?:[\d.]+|n/a)`;
  const row = (label: string) =>
    new RegExp(
      String.raw`^\| ${label} \| ${figure} \| ${figure} \| ${floor} \| ${figure} \| ${tokio} \| (?:${ratio} \| ){5}${ratio} \|$`,
      "m",
    );
  expect(stdout).toMatch(row(String.raw`200 tasks × 10 yields: ns per poll`));
  expect(stdout).toMatch(row(String.raw`spawn \+ join of 2000 empty tasks: ns per task`));
  expect(stdout).toMatch(row(String.raw`wake ping-pong, 2000 rounds: ns per wake`));
  expect(stdout).toMatch(row(String.raw`2000 tasks sleeping 200–249 ms: wall ms`));
  expect(stdout).toMatch(row(String.raw`the same: resident bytes per sleeping task`));
  expect(stdout).toMatch(row(String.raw`2000 timers armed, then cancelled: ns per timer`));
  expect(stdout).toMatch(row(String.raw`select\(sleep, recv\) × 200: ns per round`));
  // Two tables: the warm run (after one unmeasured run in the same process) and the cold first run.
  expect(stdout).toMatch(/^Warm: the measured run follows 3 unmeasured run\(s\)/m);
  expect(stdout).toMatch(/^Cold: each process's first run/m);
  expect(stdout.match(/^\| 200 tasks × 10 yields: ns per poll \|/gm)).toHaveLength(2);
  expect(stdout).toMatch(/^\| select\(sleep, recv\) × 200: ns per round \| [\d.]+ \| [\d.]+ \| n\/a \|/m);
  // Each target with its ratio and verdict, computed from the warm table.
  expect(stdout).toMatch(/^- a poll, inline: (?:[\d.]+×|n\/a) tokio \(target ≤ 1\.0×: (?:met|NOT met|not measured)\)$/m);
  expect(stdout).toMatch(/^- a poll, inline: [\d.]+× floor \(target ≤ 1\.5×: (?:met|NOT met)\)$/m);
  expect(stdout).toMatch(
    /^- select\(sleep, recv\), embedded: (?:[\d.]+×|n\/a) tokio \(target ≤ 1\.5×: (?:met|NOT met|not measured)\)$/m,
  );
  expect(stdout).toContain("- no row slower than before: not checked (run with --before DIR");
  expect(stderr).not.toContain("written to bench/RESULTS.md");
}, 300_000);

test("the load generator refuses a datagram size below its 16-byte header, named, instead of writing past it", async () => {
  run([join(root, "scripts", "zig"), "build", "bench", "--summary", "none"], join(root, "zig"));
  const loadgen = join(root, "zig", "zig-out", "bin", "loadgen");
  for (const mode of ["throughput", "latency", "count"]) {
    const { stderr, exitCode } = await runProcess([loadgen, mode, "127.0.0.1", "9", "8", "1"]);
    expect(exitCode).toBe(2);
    expect(stderr).toContain("size 8 is smaller than the 16-byte header every datagram carries");
  }
});

test("the load generator counts a window lost after --stall-ms without a reply (default 50 ms), not before", async () => {
  run([join(root, "scripts", "zig"), "build", "bench", "--summary", "none"], join(root, "zig"));
  const loadgen = join(root, "zig", "zig-out", "bin", "loadgen");
  // A socket that never answers: every window the load generator sends stalls.
  const script = "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('127.0.0.1',0))\n";
  const silent = Bun.spawn(["python3", "-c", `${script}print(s.getsockname()[1], flush=True)\ntime.sleep(60)`], {
    stdout: "pipe",
  });
  try {
    const reader = silent.stdout.getReader();
    const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
    const lost = async (...options: string[]) => {
      const args = [...options, "throughput", "127.0.0.1", String(port), "64", "0.5", "1", "4"];
      const { stdout, exitCode } = await runProcess([loadgen, ...args]);
      expect(exitCode).toBe(0);
      return (JSON.parse(stdout) as { lost: number }).lost;
    };
    // In half a second, the default gives up on the window several times; a minute never does.
    expect(await lost()).toBeGreaterThanOrEqual(8);
    expect(await lost("--stall-ms", "60000")).toBe(0);
  } finally {
    silent.kill();
  }
  const refused = await runProcess([loadgen, "--stall-ms", "0", "latency", "127.0.0.1", "9"]);
  expect(refused.stderr).toContain("--stall-ms must be at least 1");
});

test("the fairness benchmark's HTTP probe times real requests to Bun.serve, counts the failed ones and refuses bad input", async () => {
  run([join(root, "scripts", "zig"), "build", "bench", "--summary", "none"], join(root, "zig"));
  const probe = join(root, "zig", "zig-out", "bin", "http-probe");
  let served = 0;
  using server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      served++;
      return new URL(request.url).pathname === "/ok" ? Response.json({ served }) : new Response("no", { status: 404 });
    },
  });
  const ok = await runProcess([probe, "127.0.0.1", String(server.port), "/ok", "0.3"]);
  expect(ok.exitCode).toBe(0);
  const figures = JSON.parse(ok.stdout) as {
    requests: number;
    failed: number;
    perSec: number;
    p50: number;
    p99: number;
    max: number;
  };
  expect(figures.failed).toBe(0);
  expect(figures.requests).toBeGreaterThan(10);
  expect(served).toBe(figures.requests); // one request on the wire per request counted
  expect(figures.p50).toBeLessThanOrEqual(figures.p99);
  expect(figures.p99).toBeLessThanOrEqual(figures.max);
  const notFound = await runProcess([probe, "127.0.0.1", String(server.port), "/missing", "0.2"]);
  expect(JSON.parse(notFound.stdout)).toMatchObject({ requests: 0, p50: null });
  expect((JSON.parse(notFound.stdout) as { failed: number }).failed).toBeGreaterThan(0);
  for (const [args, message] of [
    [["127.0.0.1", "x", "/ok", "1"], "PORT x is not a number"],
    [["1.2.3", "80", "/ok", "1"], "HOST 1.2.3 is not an IPv4 address or ::1"],
    [["127.0.0.1", "80", "ok", "1"], "PATH ok does not start with /"],
    [["127.0.0.1", "80", "/ok", "0"], "SECONDS 0 is not a positive number"],
  ] as const) {
    const refused = await runProcess([probe, ...args]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(message);
  }
});
