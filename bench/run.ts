/**
 * The benchmark: every echo server side by side in one run, under the same closed-loop load
 * from the Zig load generator (which verifies every echoed byte), each server in a fresh
 * process. Every figure is also given as a ratio to the Zig reference server measured in the
 * same run, since these machines are noisy.
 *
 * Usage: bun bench/run.ts [--seconds S] [--warmup S] [--repeat N] [--rounds N] [--only a,b]
 *        [--tail-seconds S] [--tail-rounds N] [--tail-only] [--source-only] [--modes m,n] [--smoke] [--no-write]
 *
 * For each server and datagram size (64 and 1400 bytes): echoes per second, server CPU
 * microseconds per echo (utime + stime from /proc, over verified echoes), RTT p50/p99 with one
 * datagram in flight, peak RSS (VmHWM); the median of `--repeat` runs (default 3). Then the
 * cold start of the compiled executable to its first echo. Then the offload rows: clients that
 * send bursts of 16 datagrams of 64 and 1200 bytes per system call (UDP_SEGMENT, as QUIC stacks
 * do), and single-datagram clients, against the Zig reference with and without UDP GRO/GSO,
 * udp-echo with and without offload, and Bun.udpSocket, each checked against the issue's
 * targets. The tables go to stdout and, with the date, machine and versions, to
 * bench/RESULTS.md.
 *
 * The offload rows are a long-running server's steady state, the figures the targets are about:
 * per workload every server starts fresh and stays up; its first window of `--seconds` is
 * measured as its cold figure and is also its warm-up; then `--rounds` rounds (default 7) go
 * through every server in turn, and the targets take the median of the ratios within each round.
 * The first seconds matter because the compiled executable's JIT compiles its hot functions once
 * per process, some 0.3-0.4 s of CPU on another thread, which a short run charges to its echoes
 * (most visibly where there are few echoes per second: bursts of 1200 B).
 *
 * The first tables are steady figures too: each fresh server first runs `--warmup` seconds
 * (default 2) under the same load, not measured (its errors still count), every server alike,
 * the references included. `--warmup 0` gives cold figures, the one-time cost included.
 *
 * The reply-source rows (`--source-only` runs just them): udp-echo on `0.0.0.0`, which replies
 * from the address each client used, against the same echo bound to `127.0.0.1`, CPU per echo
 * under single 64-byte datagrams and bursts of 16 × 1200 B, in interleaved rounds as the offload
 * rows are; the wildcard echo twice, its clients sending to 127.0.0.1 (which has a socket of its
 * own) and to 127.0.0.2 (which the wildcard socket serves, reading each datagram's destination);
 * written to their own section of bench/RESULTS.md.
 *
 * `--modes safe,fast` measures only the library's build modes against each other: for each mode
 * (Zig's `-Doptimize`: debug, safe, fast, small) the library is built so and compiled into its own
 * executable, `dist/udp-echo-MODE`; the echo rows then run the reference and those executables in
 * interleaved rounds, and the table goes to its own section of bench/RESULTS.md (`build-modes`).
 *
 * With two or more cores the server is pinned to one core and the load generator to another
 * (taskset), so that they do not take turns on one. The whole server process is pinned, its
 * JIT compiler, collector and allocator threads with its event loop: a server given one core
 * (a one-CPU container), the harsher of the deployments, where those threads' slices are the
 * echo's stalls (docs/operations.md says how to give them a core of their own). The reference
 * has no such threads. Kept so on purpose: the tail rows measure what such a user sees.
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { buildExecutable, buildNative, executable, nativeLibrary, run } from "../scripts/build.ts";
import { writeSection } from "./results-file.ts";

const root = join(import.meta.dir, "..");
const zigBin = join(root, "zig", "zig-out", "bin");
const loadgen = join(zigBin, "loadgen");
const bun = process.execPath;

/** A server under test: how to start it. Its ready line must end with `:PORT` (and details). */
interface Server {
  readonly name: string;
  readonly command: (port: number) => string[];
  readonly note: string;
  /** Whether to keep a viewer on the console it prints (`console: URL`) while it is measured. */
  readonly viewer?: boolean;
  /** Whether to scrape the metrics it serves (`metrics: URL`) once a second while it is measured. */
  readonly scrape?: boolean;
  /** Whether it places its own threads on the cores (`--cpu`): then it is started without `taskset`. */
  readonly pinsItself?: boolean;
}

const SERVERS: Server[] = [
  {
    name: "zig-reference",
    command: (port) => [join(zigBin, "echo-reference"), "127.0.0.1", String(port)],
    note: "Zig, epoll + recvmmsg/sendmmsg",
  },
  { name: "udp-echo", command: (port) => [executable, "--port", String(port)], note: "compiled executable, inline reactor" },
  {
    name: "udp-echo-console",
    command: (port) => [executable, "--port", String(port), "--console", "0"],
    note: "compiled executable, inline reactor, `--console` open with one viewer reading its event stream",
    viewer: true,
  },
  {
    name: "udp-echo-metrics",
    command: (port) => [executable, "--port", String(port), "--metrics", "0"],
    note: "compiled executable, inline reactor, `--metrics` scraped once a second",
    scrape: true,
  },
  {
    name: "udp-echo-thread",
    command: (port) => [executable, "--port", String(port), "--reactor", "thread"],
    note: "compiled executable, reactor thread",
  },
  {
    name: "embedded",
    command: (port) => [bun, join(root, "examples", "embedded-http.ts"), String(port), "0", "127.0.0.1"],
    note: "examples/embedded-http.ts: the runtime embedded in a Bun app, beside Bun.serve",
  },
  {
    name: "bun-udpsocket",
    command: (port) => [bun, join(root, "bench", "servers", "bun-udp.ts"), "127.0.0.1", String(port)],
    note: "Bun.udpSocket",
  },
  {
    name: "node-dgram",
    command: (port) => ["node", join(root, "bench", "servers", "node-dgram.mjs"), "127.0.0.1", String(port)],
    note: "node:dgram on Node.js",
  },
];

const SIZES = [64, 1400];

const OFFLOAD_SERVERS: Server[] = [
  SERVERS[0]!,
  {
    name: "zig-reference-offload",
    command: (port) => [join(zigBin, "echo-reference"), "127.0.0.1", String(port), "--offload"],
    note: "Zig, epoll + recvmmsg/sendmmsg with UDP GRO/GSO",
  },
  { name: "udp-echo", command: (port) => [executable, "--port", String(port)], note: "compiled executable, offload auto" },
  {
    name: "udp-echo-no-offload",
    command: (port) => [executable, "--port", String(port), "--offload", "off"],
    note: "compiled executable, --offload off",
  },
  SERVERS.find((server) => server.name === "bun-udpsocket")!,
];

/** A client load for the offload rows: its name and its load generator arguments. */
interface Workload {
  readonly name: string;
  readonly bursty: boolean;
  readonly args: (port: number, seconds: number) => string[];
}

const burstWorkload = (size: number): Workload => ({
  name: `bursts of 16 × ${size} B`,
  bursty: true,
  // 8 sockets, each with 4 bursts of 16 in flight.
  args: (port, seconds) => ["burst", "127.0.0.1", String(port), String(size), String(seconds), "8", "64", "16"],
});

const WORKLOADS: Workload[] = [
  burstWorkload(64),
  burstWorkload(1200),
  {
    name: "single datagrams of 64 B",
    bursty: false,
    args: (port, seconds) => ["throughput", "127.0.0.1", String(port), "64", String(seconds), "8", "32"],
  },
];

/** The issue's targets for udp-echo, CPU µs per echo. */
const TARGETS = { burstVsOffloadReference: 1.25, burstVsPlainReference: 0.4, singleVsNoOffload: 1.05 };

interface Options {
  seconds: number;
  /** Seconds of unmeasured load on each fresh server before it is measured. */
  warmupSeconds: number;
  latencySeconds: number;
  repeat: number;
  /** Rounds of the offload rows once every server is warm. */
  rounds: number;
  /** Seconds of each tail window, from the ready line on. */
  tailSeconds: number;
  /** Interleaved rounds of the tail rows. */
  tailRounds: number;
  /** Only the tail rows and the slow-poll count (`--tail-only`). */
  tailOnly: boolean;
  /** Only the reply-source rows (`--source-only`). */
  sourceOnly: boolean;
  only: string[] | null;
  /** The library's build modes to compare (`--modes`); empty for the usual run. */
  modes: string[];
  write: boolean;
}

const BUILD_MODES = ["debug", "safe", "fast", "small"];

function options(): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string" },
      warmup: { type: "string" },
      repeat: { type: "string" },
      rounds: { type: "string" },
      only: { type: "string" },
      modes: { type: "string" },
      "tail-seconds": { type: "string" },
      "tail-rounds": { type: "string" },
      "tail-only": { type: "boolean" },
      "source-only": { type: "boolean" },
      smoke: { type: "boolean" },
      "no-write": { type: "boolean" },
    },
  });
  const smoke = values.smoke === true;
  const seconds = Number(values.seconds ?? (smoke ? "0.3" : "3"));
  const repeat = Number(values.repeat ?? (smoke ? "1" : "3"));
  const rounds = Number(values.rounds ?? (smoke ? "1" : "7"));
  const warmupSeconds = Number(values.warmup ?? (smoke ? "0" : "2"));
  if (!(seconds > 0) || !Number.isInteger(repeat) || repeat < 1)
    throw new Error("--seconds must be > 0 and --repeat a whole number >= 1");
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number >= 1, not ${values.rounds}`);
  if (!(warmupSeconds >= 0)) throw new Error(`--warmup must be a number of seconds >= 0, not ${values.warmup}`);
  const tailSeconds = Number(values["tail-seconds"] ?? (smoke ? "0.5" : "10"));
  const tailRounds = Number(values["tail-rounds"] ?? (smoke ? "1" : "5"));
  if (!(tailSeconds > 0)) throw new Error(`--tail-seconds must be a number of seconds > 0, not ${values["tail-seconds"]}`);
  if (!Number.isInteger(tailRounds) || tailRounds < 1) {
    throw new Error(`--tail-rounds must be a whole number >= 1, not ${values["tail-rounds"]}`);
  }
  const modes = values.modes?.split(",") ?? [];
  const unknown = modes.find((mode) => !BUILD_MODES.includes(mode));
  if (unknown !== undefined) throw new Error(`--modes: "${unknown}" is not one of Zig's modes (${BUILD_MODES.join(", ")})`);
  return {
    seconds,
    warmupSeconds,
    latencySeconds: Math.min(seconds, 2),
    repeat,
    rounds,
    tailSeconds,
    tailRounds,
    tailOnly: values["tail-only"] === true,
    sourceOnly: values["source-only"] === true,
    only: values.only?.split(",") ?? null,
    modes,
    write: values["no-write"] !== true && !smoke,
  };
}

const pinned = cpus().length >= 2 && Bun.which("taskset") !== null;

function onCore(core: number, command: string[]): string[] {
  return pinned ? ["taskset", "-c", String(core), ...command] : command;
}

/** A port nobody uses right now (bound and released). */
function freePort(): number {
  const socket = Bun.spawnSync([
    bun,
    "-e",
    "const s = await Bun.udpSocket({ hostname: '127.0.0.1' }); console.log(s.port); s.close();",
  ]);
  return Number(socket.stdout.toString().trim());
}

interface Running {
  readonly pid: number;
  readonly port: number;
  /** What it has printed on stdout so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Scrapes the metrics that `output` names once a second (as a Prometheus would), until aborted. */
function scrapeMetrics(output: string): AbortController {
  const url = /^metrics: (http:\/\/\S+)$/m.exec(output)?.[1];
  if (url === undefined) throw new Error(`no metrics address in: ${output}`);
  const scraper = new AbortController();
  void (async () => {
    while (!scraper.signal.aborted) {
      try {
        const response = await fetch(url, { signal: scraper.signal });
        if (response.status !== 200) throw new Error(`the metrics answered ${response.status}`);
        await response.text();
        await Bun.sleep(1000);
      } catch (error) {
        if (!scraper.signal.aborted) console.error(`metrics scraper: ${String(error)}`);
        return;
      }
    }
  })();
  return scraper;
}

/** Opens the console's event stream that `output` names, and reads it until aborted. */
function watchConsole(output: string): AbortController {
  const url = /^console: (http:\/\/\S+)$/m.exec(output)?.[1];
  if (url === undefined) throw new Error(`no console address in: ${output}`);
  const viewer = new AbortController();
  void (async () => {
    const response = await fetch(`${url}events`, { signal: viewer.signal });
    if (response.status !== 200) throw new Error(`the console refused its viewer: ${response.status}`);
    for await (const _ of response.body!);
  })().catch((error: unknown) => {
    if (!viewer.signal.aborted) console.error(`console viewer: ${String(error)}`);
  });
  return viewer;
}

async function start(server: Server): Promise<Running> {
  const port = freePort();
  const command = server.pinsItself === true ? server.command(port) : onCore(1, server.command(port));
  const child = Bun.spawn(command, { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  let output = "";
  const deadline = performance.now() + 15_000;
  while (!/listening on .*:\d+/.test(output)) {
    if (performance.now() > deadline) throw new Error(`${server.name} did not get ready: ${output}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`${server.name} exited before it was ready: ${output}`);
    output += new TextDecoder().decode(value);
  }
  // Keep reading its output so that it never blocks on a full pipe.
  void (async () => {
    for (let read = await reader.read(); !read.done; read = await reader.read()) output += new TextDecoder().decode(read.value);
  })();
  const viewer = server.viewer === true ? watchConsole(output) : server.scrape === true ? scrapeMetrics(output) : null;
  // With taskset the child is taskset's exec'd program: same pid.
  return {
    pid: child.pid,
    port,
    output: () => output,
    stop: async () => {
      viewer?.abort();
      child.kill("SIGKILL");
      await child.exited;
    },
  };
}

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process, all threads, in microseconds. */
async function cpuMicros(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function loadgenJson(args: string[]): Promise<Record<string, unknown>> {
  const child = Bun.spawn(onCore(0, [loadgen, ...args]), { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`loadgen ${args.join(" ")} failed: ${stderr}`);
  return JSON.parse(stdout) as Record<string, unknown>;
}

interface Sample {
  echoesPerSec: number;
  cpuMicrosPerEcho: number;
  p50: number;
  p99: number;
  rssMb: number;
  errors: number;
  lost: number;
}

/**
 * Echoes per second and the server's CPU per echo under one load generator run (`args` for a
 * duration in seconds), after `opts.warmupSeconds` of the same load that is not measured but
 * whose errors and losses count.
 */
async function load(
  running: Running,
  args: (seconds: number) => string[],
  opts: Options,
): Promise<Pick<Sample, "echoesPerSec" | "cpuMicrosPerEcho" | "errors" | "lost">> {
  const warmup = opts.warmupSeconds > 0 ? await loadgenJson(args(opts.warmupSeconds)) : { errors: 0, lost: 0 };
  const before = await cpuMicros(running.pid);
  const result = await loadgenJson(args(opts.seconds));
  const after = await cpuMicros(running.pid);
  const echoes = result.echoes as number;
  return {
    echoesPerSec: result.echoes_per_sec as number,
    cpuMicrosPerEcho: echoes > 0 ? (after - before) / echoes : Number.NaN,
    errors: (result.errors as number) + (warmup.errors as number),
    lost: (result.lost as number) + (warmup.lost as number),
  };
}

async function measure(server: Server, size: number, opts: Options): Promise<Sample> {
  const running = await start(server);
  try {
    const throughput = (seconds: number) => [
      "throughput",
      "127.0.0.1",
      String(running.port),
      String(size),
      String(seconds),
      "8",
      "32",
    ];
    const loaded = await load(running, throughput, opts);
    const rtt = await loadgenJson(["latency", "127.0.0.1", String(running.port), String(size), String(opts.latencySeconds)]);
    const rttUs = rtt.rtt_us as Record<string, number>;
    return {
      ...loaded,
      p50: rttUs.p50!,
      p99: rttUs.p99!,
      rssMb: await peakRssMb(running.pid),
      errors: loaded.errors + (rtt.errors as number),
      lost: loaded.lost + (rtt.lost as number),
    };
  } finally {
    await running.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function medianSample(samples: Sample[]): Sample {
  const of = (key: keyof Sample) => median(samples.map((sample) => sample[key]));
  return {
    echoesPerSec: of("echoesPerSec"),
    cpuMicrosPerEcho: of("cpuMicrosPerEcho"),
    p50: of("p50"),
    p99: of("p99"),
    rssMb: of("rssMb"),
    errors: samples.reduce((sum, sample) => sum + sample.errors, 0),
    lost: samples.reduce((sum, sample) => sum + sample.lost, 0),
  };
}

/** Milliseconds from spawning the compiled executable to its first echo. */
async function coldStartMs(): Promise<number> {
  const port = freePort();
  // Wall-clock milliseconds, to compare with the load generator's CLOCK_REALTIME.
  const spawnedMs = performance.timeOrigin + performance.now();
  const child = Bun.spawn(onCore(1, [executable, "--port", String(port)]), { stdout: "ignore", stderr: "inherit" });
  try {
    const probe = await loadgenJson(["probe", "127.0.0.1", String(port), "16", "10"]);
    return (probe.echo_wall_clock_ns as number) / 1e6 - spawnedMs;
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const ratio = (value: number, reference: number) =>
  Number.isFinite(value / reference) ? `${(value / reference).toFixed(2)}×` : "n/a";

function version(command: string[]): string {
  const result = Bun.spawnSync(command);
  return result.exitCode === 0 ? result.stdout.toString().trim().split("\n")[0]! : "unavailable";
}

/** One server under one offload workload. */
interface OffloadResult {
  /** The first window of load on the fresh server: it includes the JIT's one-time compiling. */
  readonly cold: Sample;
  /** One sample per round once warm, in round order (see {@link offloadRows}). */
  readonly rounds: Sample[];
  /** The median of the rounds; its errors and losses are those of every window, the cold one too. */
  readonly steady: Sample;
}

/** An offload sample: the load is the point, so no RTT and no peak RSS. */
function loadSample(loaded: Pick<Sample, "echoesPerSec" | "cpuMicrosPerEcho" | "errors" | "lost">): Sample {
  return { ...loaded, p50: Number.NaN, p99: Number.NaN, rssMb: Number.NaN };
}

/**
 * Runs every offload workload against every offload server. For each workload every server
 * starts fresh and stays up, idle while another is measured. Each is first measured once cold,
 * which also warms it up; then `opts.rounds` rounds go through every server in turn, each round
 * starting one server further along so that every server takes every place in the order. The
 * targets are about a long-running server's steady state: the rounds. Servers take turns within
 * seconds of each other, so a ratio within one round compares them under the same machine load.
 */
async function offloadRows(opts: Options): Promise<Map<string, OffloadResult>> {
  const servers = OFFLOAD_SERVERS.filter(
    (server) => opts.only === null || opts.only.includes(server.name) || server.name.startsWith("zig-reference"),
  );
  // The cold window is each server's warm-up: no other.
  const unwarmed = { ...opts, warmupSeconds: 0 };
  const results = new Map<string, OffloadResult>();
  for (const workload of WORKLOADS) {
    const running: Running[] = [];
    try {
      for (const server of servers) running.push(await start(server));
      const measureOne = async (one: Running) =>
        loadSample(await load(one, (seconds) => workload.args(one.port, seconds), unwarmed));
      const colds: Sample[] = [];
      for (const one of running) colds.push(await measureOne(one));
      const rounds = servers.map((): Sample[] => []);
      for (let round = 0; round < opts.rounds; round++) {
        for (let turn = 0; turn < servers.length; turn++) {
          const index = (round + turn) % servers.length;
          rounds[index]!.push(await measureOne(running[index]!));
        }
      }
      servers.forEach((server, index) => {
        const steady = medianSample(rounds[index]!);
        steady.errors += colds[index]!.errors;
        steady.lost += colds[index]!.lost;
        results.set(`${server.name}/${workload.name}`, { cold: colds[index]!, rounds: rounds[index]!, steady });
        console.error(
          `${server.name}, ${workload.name}: ${fixed(steady.echoesPerSec, 0)} echoes/s, ` +
            `${fixed(steady.cpuMicrosPerEcho, 2)} µs CPU/echo (cold: ${fixed(colds[index]!.cpuMicrosPerEcho, 2)})`,
        );
      });
    } finally {
      for (const one of running) await one.stop();
    }
  }
  return results;
}

/**
 * udp-echo's CPU per echo over `other`'s for one workload: the median of the ratios within each
 * round (the steady state), and the ratio of the cold windows.
 */
function offloadRatio(results: Map<string, OffloadResult>, other: string, workload: Workload): { steady: number; cold: number } {
  const echo = results.get(`udp-echo/${workload.name}`);
  const against = results.get(`${other}/${workload.name}`);
  if (echo === undefined || against === undefined) return { steady: Number.NaN, cold: Number.NaN };
  const perRound = echo.rounds.map((sample, round) => sample.cpuMicrosPerEcho / against.rounds[round]!.cpuMicrosPerEcho);
  return { steady: median(perRound), cold: echo.cold.cpuMicrosPerEcho / against.cold.cpuMicrosPerEcho };
}

const verdict = (value: number, target: number) => (Number.isFinite(value) ? (value <= target ? "met" : "NOT met") : "n/a");

/** The offload tables and the targets checked against them. */
function offloadTable(results: Map<string, OffloadResult>, opts: Options): string[] {
  const lines = ["", "## Offload: UDP GRO on receive, GSO on send", ""];
  const cpu = (server: string, workload: Workload, when: "steady" | "cold") =>
    results.get(`${server}/${workload.name}`)?.[when].cpuMicrosPerEcho ?? Number.NaN;
  for (const workload of WORKLOADS) {
    lines.push(
      `### ${workload.name}`,
      "",
      "| server | echoes/s | CPU µs/echo | vs ref | vs offload ref | cold: CPU µs/echo | vs offload ref | errors | lost |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const server of OFFLOAD_SERVERS) {
      const result = results.get(`${server.name}/${workload.name}`);
      if (result === undefined) continue;
      const { steady, cold } = result;
      lines.push(
        `| ${server.name} | ${fixed(steady.echoesPerSec, 0)} | ${fixed(steady.cpuMicrosPerEcho, 2)} | ` +
          `${ratio(steady.cpuMicrosPerEcho, cpu("zig-reference", workload, "steady"))} | ` +
          `${ratio(steady.cpuMicrosPerEcho, cpu("zig-reference-offload", workload, "steady"))} | ` +
          `${fixed(cold.cpuMicrosPerEcho, 2)} | ${ratio(cold.cpuMicrosPerEcho, cpu("zig-reference-offload", workload, "cold"))} | ` +
          `${steady.errors} | ${steady.lost} |`,
      );
    }
    lines.push("");
  }
  lines.push(
    `Targets for udp-echo, CPU µs per echo, in this run: the steady state, the median over ${opts.rounds} ` +
      `round${opts.rounds === 1 ? "" : "s"} of the ratio within each round (cold: the ratio of the first windows, for comparison).`,
    "",
  );
  for (const workload of WORKLOADS) {
    if (workload.bursty) {
      const vsOffload = offloadRatio(results, "zig-reference-offload", workload);
      const vsPlain = offloadRatio(results, "zig-reference", workload);
      lines.push(
        `- ${workload.name}: ${fixed(vsOffload.steady, 2)}× the offload reference (target ≤ ${TARGETS.burstVsOffloadReference}×: ` +
          `${verdict(vsOffload.steady, TARGETS.burstVsOffloadReference)}; cold ${fixed(vsOffload.cold, 2)}×), ` +
          `${fixed(vsPlain.steady, 2)}× the plain reference (target ≤ ${TARGETS.burstVsPlainReference}×: ` +
          `${verdict(vsPlain.steady, TARGETS.burstVsPlainReference)}; cold ${fixed(vsPlain.cold, 2)}×)`,
      );
    } else {
      const vsOff = offloadRatio(results, "udp-echo-no-offload", workload);
      lines.push(
        `- ${workload.name}: ${fixed(vsOff.steady, 2)}× udp-echo with --offload off (target ≤ ${TARGETS.singleVsNoOffload}×: ` +
          `${verdict(vsOff.steady, TARGETS.singleVsNoOffload)}; cold ${fixed(vsOff.cold, 2)}×)`,
      );
    }
  }
  return lines;
}

/** The issue's targets for udp-echo's RTT tail at one datagram in flight, against the reference's. */
const TAIL_TARGETS = { p999: 1.5, p9999: 2, max: 2 };

/** The RTT tail of one server in one window, and the machine's load when it began. */
interface TailSample {
  readonly p50: number;
  readonly p999: number;
  readonly p9999: number;
  readonly max: number;
  readonly echoes: number;
  readonly lost: number;
  readonly errors: number;
  /** The 1-minute load average (`uptime`) when the window began. */
  readonly load: number;
}

type TailKey = "p999" | "p9999" | "max";
const TAIL_KEYS: readonly TailKey[] = ["p999", "p9999", "max"];

async function loadAverage(): Promise<number> {
  return Number((await Bun.file("/proc/loadavg").text()).split(" ")[0]);
}

/**
 * One tail window: a fresh `server`, and from its ready line on, one datagram in flight for
 * `seconds`. Nothing warms it first: the window is what a client that comes at once sees.
 */
async function tailWindow(server: Server, size: number, seconds: number): Promise<TailSample> {
  const load = await loadAverage();
  const running = await start(server);
  try {
    const rtt = await loadgenJson(["latency", "127.0.0.1", String(running.port), String(size), String(seconds)]);
    const us = rtt.rtt_us as Record<string, number>;
    return {
      p50: us.p50!,
      p999: us.p999!,
      p9999: us.p9999!,
      max: us.max!,
      echoes: rtt.echoes as number,
      lost: rtt.lost as number,
      errors: rtt.errors as number,
      load,
    };
  } finally {
    await running.stop();
  }
}

/** The tail rows' servers: udp-echo against the reference. */
const TAIL_SERVERS = [SERVERS[0]!, SERVERS[1]!] as const;

/**
 * The tail rows: for each size, `opts.tailRounds` rounds, each a window of udp-echo and one of
 * the reference (which goes first alternates from round to round), each on a fresh server from
 * its ready line on. A ratio is udp-echo's figure over the reference's in the same round; the
 * targets take the median of the rounds' ratios.
 */
async function tailRows(opts: Options): Promise<string[]> {
  const lines = [
    "",
    `## RTT tail from the ready line on (one datagram in flight, ${opts.tailSeconds} s windows)`,
    "",
    `Each window starts a fresh server and measures from its ready line on, nothing warmed first; ` +
      `${opts.tailRounds} round${opts.tailRounds === 1 ? "" : "s"}, each one window of each server, ` +
      "the order alternating; ratios are udp-echo's over zig-reference's in the same round. " +
      "Load: the 1-minute load average (`uptime`) when each window began (2 cores).",
  ];
  const verdictLines: string[] = [];
  for (const size of SIZES) {
    const rounds: [TailSample, TailSample][] = [];
    for (let round = 0; round < opts.tailRounds; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      const pair: TailSample[] = [];
      for (const index of order) pair[index] = await tailWindow(TAIL_SERVERS[index]!, size, opts.tailSeconds);
      rounds.push([pair[0]!, pair[1]!]);
      console.error(`tail ${size} B, round ${round + 1}: ${JSON.stringify(pair)}`);
    }
    lines.push(
      "",
      `### ${size}-byte datagrams`,
      "",
      "| round | load ref / echo | zig-reference µs p50 / p99.9 / p99.99 / max | udp-echo µs p50 / p99.9 / p99.99 / max | " +
        "ratio p99.9 | p99.99 | max | lost ref / echo |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
    );
    const figures = (sample: TailSample) =>
      `${fixed(sample.p50, 0)} / ${fixed(sample.p999, 0)} / ${fixed(sample.p9999, 0)} / ${fixed(sample.max, 0)}`;
    rounds.forEach(([reference, echo], round) => {
      lines.push(
        `| ${round + 1} | ${fixed(reference.load, 2)} / ${fixed(echo.load, 2)} | ${figures(reference)} | ${figures(echo)} | ` +
          `${TAIL_KEYS.map((key) => ratio(echo[key], reference[key])).join(" | ")} | ${reference.lost} / ${echo.lost} |`,
      );
    });
    const medians = TAIL_KEYS.map((key) => median(rounds.map(([reference, echo]) => echo[key] / reference[key])));
    lines.push(`| median | | | | ${medians.map((value) => `${fixed(value, 2)}×`).join(" | ")} | |`);
    const names: Record<TailKey, string> = { p999: "p99.9", p9999: "p99.99", max: "max" };
    verdictLines.push(
      `- ${size} B: ` +
        TAIL_KEYS.map(
          (key, index) =>
            `${names[key]} ${fixed(medians[index]!, 2)}× (target ≤ ${TAIL_TARGETS[key]}×: ${verdict(medians[index]!, TAIL_TARGETS[key])})`,
        ).join(", "),
    );
  }
  lines.push("", "Targets for udp-echo's tail, the median of the rounds' ratios to zig-reference:", "", ...verdictLines);
  return lines;
}

/** What the console's `/snapshot` says of a task (see `src/console/snapshot.ts`). */
interface TaskRow {
  readonly id: number;
  readonly name: string;
  readonly polls: number;
  readonly slowPolls: number;
  readonly slowCpuPolls: number;
  readonly maxPollMs: number;
  readonly maxPollCpuMs: number;
}

interface ConsoleView {
  readonly at: number;
  readonly tasks: readonly TaskRow[];
  readonly warnings: readonly { readonly kind: string; readonly message: string }[];
}

/** The console's latest snapshot, once it is one taken after `afterMs` (wall clock). */
async function snapshotAfter(url: string, afterMs: number): Promise<ConsoleView> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const view = (await (await fetch(`${url}snapshot`)).json()) as ConsoleView | null;
    if (view !== null && view.at > afterMs) return view;
    if (performance.now() > deadline) throw new Error(`the console at ${url} published no snapshot after ${afterMs}`);
    await Bun.sleep(50);
  }
}

/** How often the OS has taken the core from `pid`'s main thread (its involuntary context switches). */
async function preemptions(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/task/${pid}/status`).text();
  return Number(/^nonvoluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1] ?? Number.NaN);
}

/**
 * The CPU time of each of `pid`'s threads but its main one, in milliseconds by thread name
 * (JavaScriptCore's compiler threads, the console's, the allocator's), from `/proc` (in clock
 * ticks: 10 ms steps).
 */
async function helperThreadsCpuMs(pid: number): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  const tick = 1000 / 100; // USER_HZ
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (Number(tid) === pid) continue;
    const stat = await Bun.file(`/proc/${pid}/task/${tid}/stat`)
      .text()
      .catch(() => null); // (a thread that has just ended)
    if (stat === null) continue;
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) * tick);
  }
  return byName;
}

/** The echo's own tasks, whose polls the goal is about. */
const ECHO_TASKS: ReadonlySet<string> = new Set(["echo reader", "echo writer"]);

/**
 * The slow-poll count: udp-echo with its console (which times every poll), a flood of
 * `opts.warmupSeconds` unmeasured, then `opts.tailSeconds` of the same flood; the echo's polls
 * over 1 ms in that window, from the console's snapshots before and after, and its warnings.
 */
async function slowPollRows(opts: Options): Promise<string[]> {
  const watched = SERVERS.find((candidate) => candidate.name === "udp-echo-console")!;
  // Its event loop alone on core 1, as the reference is (`--cpu`): its other threads on core 0.
  // The row reads the console's snapshots itself: no viewer.
  const server: Server = {
    ...watched,
    command: (port) => (pinned ? [...watched.command(port), "--cpu", "1"] : watched.command(port)),
    viewer: false,
    pinsItself: true,
  };
  const running = await start(server);
  const { pid, port } = running;
  try {
    const url = /^console: (http:\/\/\S+)$/m.exec(running.output())?.[1];
    if (url === undefined) throw new Error(`no console address in: ${running.output()}`);
    const flood = (seconds: number) => ["throughput", "127.0.0.1", String(port), "64", String(seconds), "8", "32"];
    if (opts.warmupSeconds > 0) await loadgenJson(flood(opts.warmupSeconds));
    const before = await snapshotAfter(url, Date.now());
    const load = await loadAverage();
    const preemptedBefore = await preemptions(pid);
    const helpersBefore = await helperThreadsCpuMs(pid);
    const flooded = await loadgenJson(flood(opts.tailSeconds));
    const preempted = (await preemptions(pid)) - preemptedBefore;
    const helpers = [...(await helperThreadsCpuMs(pid))]
      .map(([name, ms]) => [name, ms - (helpersBefore.get(name) ?? 0)] as const)
      .filter(([, ms]) => ms > 0)
      .sort((a, b) => b[1] - a[1]);
    const after = await snapshotAfter(url, Date.now());
    const rows = after.tasks
      .filter((task) => ECHO_TASKS.has(task.name))
      .map((task) => {
        const earlier = before.tasks.find((other) => other.id === task.id);
        return {
          ...task,
          windowPolls: task.polls - (earlier?.polls ?? 0),
          windowSlow: task.slowPolls - (earlier?.slowPolls ?? 0),
          windowSlowCpu: task.slowCpuPolls - (earlier?.slowCpuPolls ?? 0),
        };
      });
    const slow = rows.reduce((sum, row) => sum + row.windowSlow, 0);
    const slowCpu = rows.reduce((sum, row) => sum + row.windowSlowCpu, 0);
    const longPolls = after.warnings.filter((warning) => warning.kind === "long-poll");
    const reference = await referencePolls(opts);
    return [
      "",
      `## Slow polls under a flood (udp-echo --console --cpu 1, after ${opts.warmupSeconds} s of flood, then ${opts.tailSeconds} s)`,
      "",
      `Flood: 64-byte datagrams, 8 sockets × 32 in flight, ${fixed(flooded.echoes_per_sec as number, 0)} echoes/s; ` +
        `load ${fixed(load, 2)} when the window began. The server's event loop runs alone on core 1 (\`--cpu 1\`), its ` +
        "other threads (the JIT compiler's, the collector's, the console's) on core 0 with the load generator. " +
        "A poll is timed by the wall clock and by the CPU time of the " +
        `server's event-loop thread: the OS took the core from that thread ${preempted} times in the window (its ` +
        "involuntary context switches), and a poll it was taken from, or that the kernel's own work interrupted (its " +
        "network processing of the flood, in softirqs, is counted in no thread's CPU time), counts those milliseconds " +
        "by the wall clock only. Over 1 ms of CPU time: the runtime's own, or the kernel's inside its system calls " +
        "(a send's loopback delivery to the client's socket). The control: the Zig reference " +
        `(${SERVERS[0]!.name} --polls, on core 1) under the same flood after the same warm-up, its draining cut into ` +
        "polls as udp-echo's turn budget cuts its reader's (0.5 ms, then one batch more) and timed by the wall clock " +
        "the same way. The server's other threads ran in the window for " +
        (helpers.length === 0 ? "less than a clock tick (10 ms)" : helpers.map(([name, ms]) => `${name} ${ms} ms`).join(", ")) +
        " (their CPU time by `/proc`, in 10 ms ticks).",
      "",
      "| task | polls in the window | over 1 ms, wall clock | of which over 1 ms of CPU | longest poll since start, ms wall / CPU |",
      "|---|---:|---:|---:|---:|",
      ...rows.map(
        (row) =>
          `| ${row.name} | ${row.windowPolls} | ${row.windowSlow} | ${row.windowSlowCpu} | ` +
          `${fixed(row.maxPollMs, 2)} / ${fixed(row.maxPollCpuMs, 2)} |`,
      ),
      `| ${SERVERS[0]!.name}, the control | ${reference.polls} | ${reference.slow} | not timed | ${fixed(reference.longestMs, 2)} / – |`,
      "",
      `- ${slowCpu === 0 ? "met" : "NOT met"}: the echo's polls over 1 ms of CPU time in the window: ` + `${slowCpu} (target 0)`,
      `- ${slow === 0 ? "met" : "NOT met"}: the echo's polls over 1 ms by the wall clock in the window: ${slow} (target 0; ` +
        `${slow - slowCpu} of them only by the wall clock; the reference's, timed the same way: ${reference.slow})`,
      `- ${longPolls.length === 0 ? "met" : "NOT met"}: the console's long-poll warning stays silent` +
        (longPolls.length === 0 ? "" : ` (it says: ${longPolls.map((warning) => warning.message).join("; ")})`),
    ];
  } finally {
    await running.stop();
  }
}

/**
 * The control of the slow-poll count: the Zig reference with `--polls` on core 1, under the same
 * flood after the same warm-up; its counts (printed every second) before and after the window.
 */
async function referencePolls(opts: Options): Promise<{ polls: number; slow: number; longestMs: number }> {
  const reference = SERVERS[0]!;
  const running = await start({
    ...reference,
    name: `${reference.name} --polls`,
    command: (port) => [...reference.command(port), "--polls"],
  });
  /** The counts of the line it printed last, after waiting for the next one. */
  const counts = async () => {
    await Bun.sleep(1_100);
    const last = [...running.output().matchAll(/^polls (\d+) over-1ms (\d+) longest-us (\d+)$/gm)].at(-1);
    if (last === undefined) throw new Error(`echo-reference --polls printed no counts: ${running.output()}`);
    return { polls: Number(last[1]), slow: Number(last[2]), longestMs: Number(last[3]) / 1000 };
  };
  try {
    const flood = (seconds: number) => ["throughput", "127.0.0.1", String(running.port), "64", String(seconds), "8", "32"];
    if (opts.warmupSeconds > 0) await loadgenJson(flood(opts.warmupSeconds));
    const before = await counts();
    await loadgenJson(flood(opts.tailSeconds));
    const after = await counts();
    return { polls: after.polls - before.polls, slow: after.slow - before.slow, longestMs: after.longestMs };
  } finally {
    await running.stop();
  }
}

async function main(): Promise<void> {
  const opts = options();
  buildNative();
  run([join(root, "scripts", "zig"), "build", "bench", "--summary", "none"], join(root, "zig"));
  await buildExecutable();
  if (opts.tailOnly) {
    await tailSection(opts);
    return;
  }
  if (opts.sourceOnly) {
    await replySourceSection(opts);
    return;
  }
  if (opts.modes.length > 0) {
    await buildModeSection(opts);
    return;
  }
  const servers = SERVERS.filter((server) => opts.only === null || opts.only.includes(server.name));
  if (opts.only !== null && !servers.some((server) => server.name === "zig-reference")) servers.unshift(SERVERS[0]!);

  const results = new Map<string, Sample>();
  for (const size of SIZES) {
    // Rounds go through every server in turn, so that a slow drift of the machine's load
    // touches every server alike instead of whichever ran during it.
    const samples = new Map(servers.map((server) => [server.name, [] as Sample[]]));
    for (let round = 0; round < opts.repeat; round++) {
      for (const server of servers) samples.get(server.name)!.push(await measure(server, size, opts));
    }
    for (const server of servers) {
      const sample = medianSample(samples.get(server.name)!);
      results.set(`${server.name}/${size}`, sample);
      console.error(
        `${server.name} ${size} B: ${fixed(sample.echoesPerSec, 0)} echoes/s, ${fixed(sample.cpuMicrosPerEcho, 2)} µs CPU/echo`,
      );
    }
  }
  const colds: number[] = [];
  for (let round = 0; round < opts.repeat; round++) colds.push(await coldStartMs());
  const cold = median(colds);

  const lines: string[] = [];
  for (const size of SIZES) {
    const reference = results.get(`zig-reference/${size}`)!;
    lines.push(
      "",
      `### ${size}-byte datagrams`,
      "",
      "| server | echoes/s | vs ref | CPU µs/echo | vs ref | RTT p50 µs | vs ref | RTT p99 µs | peak RSS MB | errors | lost |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const server of servers) {
      const s = results.get(`${server.name}/${size}`)!;
      lines.push(
        `| ${server.name} | ${fixed(s.echoesPerSec, 0)} | ${ratio(s.echoesPerSec, reference.echoesPerSec)} | ` +
          `${fixed(s.cpuMicrosPerEcho, 2)} | ${ratio(s.cpuMicrosPerEcho, reference.cpuMicrosPerEcho)} | ` +
          `${fixed(s.p50, 1)} | ${ratio(s.p50, reference.p50)} | ${fixed(s.p99, 1)} | ${fixed(s.rssMb, 1)} | ${s.errors} | ${s.lost} |`,
      );
    }
  }
  for (const size of SIZES) {
    const plain = results.get(`udp-echo/${size}`);
    const watched = results.get(`udp-echo-console/${size}`);
    if (plain === undefined || watched === undefined) continue;
    lines.push(
      "",
      `Console cost, ${size}-byte datagrams: udp-echo with its console open echoes ` +
        `${ratio(watched.echoesPerSec, plain.echoesPerSec)} of udp-echo's echoes/s (goal: ≥ 0.90×), ` +
        `at ${ratio(watched.cpuMicrosPerEcho, plain.cpuMicrosPerEcho)} its CPU per echo.`,
    );
  }
  for (const size of SIZES) {
    const plain = results.get(`udp-echo/${size}`);
    const scraped = results.get(`udp-echo-metrics/${size}`);
    if (plain === undefined || scraped === undefined) continue;
    lines.push(
      "",
      `Metrics cost, ${size}-byte datagrams: udp-echo with --metrics, scraped once a second, echoes ` +
        `${ratio(scraped.echoesPerSec, plain.echoesPerSec)} of udp-echo's echoes/s, ` +
        `at ${ratio(scraped.cpuMicrosPerEcho, plain.cpuMicrosPerEcho)} its CPU per echo.`,
    );
  }
  lines.push("", `Cold start of \`dist/udp-echo\` to its first echo: ${fixed(cold, 1)} ms (median of ${opts.repeat}).`);
  lines.push(...offloadTable(await offloadRows(opts), opts));
  const table = lines.join("\n");
  console.log(table);

  if (opts.write) {
    const cpu = cpus()[0]?.model ?? "unknown CPU";
    const header = [
      "# Benchmark results",
      "",
      `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with \`bun run bench\` (\`bench/run.ts\`).`,
      "",
      `- Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform} ${version(["uname", "-r"])}`,
      `- Versions: Bun ${Bun.version}, Node.js ${version(["node", "--version"])}, ` +
        `Zig ${version([join(root, "scripts", "zig"), "version"])}`,
      `- Load: \`zig/bench/loadgen.zig\`, 8 connected sockets × 32 datagrams in flight for ${opts.seconds} s (every echoed byte ` +
        `verified); RTT with one datagram in flight for ${opts.latencySeconds} s. Median of ${opts.repeat} runs, each on a fresh ` +
        `server process${pinned ? "; server pinned to core 1, load generator to core 0" : ""}` +
        (opts.warmupSeconds > 0
          ? `; each server, the reference too, first under the same load for ${opts.warmupSeconds} s, not measured: ` +
            "a long-running server's figures, without the JIT's one-time compiling."
          : "; no warm-up: cold figures, the JIT's one-time compiling included."),
      "- CPU µs/echo: the server's utime + stime (/proc) over the run, divided by verified echoes.",
      "- Offload rows: the same 8 sockets, each with 4 bursts of 16 datagrams in flight, every burst one send with " +
        "UDP_SEGMENT and every echoed datagram verified on its own (boundaries included); single-datagram clients as above. " +
        `Per workload every server is started fresh and stays up: its first ${opts.seconds} s of load are its cold figure ` +
        `(the JIT's one-time compiling included) and its warm-up; then the median of ${opts.rounds} rounds of ${opts.seconds} s, ` +
        "each going through every server in turn: a long-running server's steady state.",
      "- Ratios are against `zig-reference` in the same run.",
      "",
      "| server | what |",
      "|---|---|",
      ...servers.map((server) => `| ${server.name} | ${server.note} |`),
      ...OFFLOAD_SERVERS.slice(1, 2).map((server) => `| ${server.name} | ${server.note} |`),
    ].join("\n");
    // The other benchmarks' sections (bench/runtime.ts, bench/fairness.ts) are theirs: kept as they are.
    const path = join(root, "bench", "RESULTS.md");
    const previous = (await Bun.file(path).exists()) ? await Bun.file(path).text() : "";
    const sections = previous.match(/<!-- bench:([\w-]+) begin -->[\s\S]*?<!-- bench:\1 end -->/g) ?? [];
    await Bun.write(path, `${header}\n${table}\n${sections.map((section) => `\n${section}\n`).join("")}`);
    console.error("\nwritten to bench/RESULTS.md");
  }
  await tailSection(opts);
  await replySourceSection(opts);
}

/** The reply-source rows' servers: the echo bound to one address, and on the wildcard address. */
const SOURCE_SERVERS: Server[] = [
  {
    name: "udp-echo-bound",
    command: (port) => [executable, "--host", "127.0.0.1", "--port", String(port)],
    note: "compiled executable on 127.0.0.1: replies go from it, no datagram info",
  },
  {
    name: "udp-echo-wildcard",
    command: (port) => [executable, "--host", "0.0.0.0", "--port", String(port)],
    note:
      "compiled executable on 0.0.0.0: a socket of its own on each of the host's addresses (127.0.0.1 here), and the " +
      "wildcard socket, which reads each datagram's destination (IP_PKTINFO) and sends each reply from it, for the rest",
  },
];

/**
 * The windows of each round: the bound echo, and the wildcard one with its clients sending to
 * 127.0.0.1 (an address with a socket of its own) and to 127.0.0.2 (loopback, but not in the
 * host's address list: the wildcard socket's control messages each way).
 */
const SOURCE_WINDOWS = [
  { server: 0, host: "127.0.0.1" },
  { server: 1, host: "127.0.0.1" },
  { server: 1, host: "127.0.0.2" },
] as const;

/** The issue's target: the wildcard echo's CPU per echo over the bound one's. */
const SOURCE_TARGET = 1.05;

/**
 * The cost of replying from each datagram's destination: for each workload, both servers fresh
 * and up, a cold window each (their warm-up), then `opts.rounds` rounds, each a window of each
 * of {@link SOURCE_WINDOWS}, the order alternating; the target takes the median of the rounds'
 * ratios of the wildcard echo's own-socket window.
 */
async function replySourceRows(opts: Options): Promise<string[]> {
  const workloads = [WORKLOADS[2]!, WORKLOADS[1]!];
  const lines = [
    "",
    "## Replies from the destination address (udp-echo on 0.0.0.0 against the same echo on 127.0.0.1)",
    "",
    `CPU µs per echo, offload auto on both; per workload both servers fresh, a cold window of ${opts.seconds} s each, ` +
      `then ${opts.rounds} round${opts.rounds === 1 ? "" : "s"} of one ${opts.seconds} s window each: the bound echo, ` +
      "the wildcard echo with its clients sending to 127.0.0.1 (a socket of its own) and to 127.0.0.2 (the wildcard " +
      "socket: control messages each way), the order alternating; the ratios are the wildcard echo's over the bound " +
      "one's within a round. Load: the 1-minute load average when the round began.",
    "",
    "| workload | round | load | bound: echoes/s | CPU µs/echo | wildcard, own socket: echoes/s | CPU µs/echo | ratio | " +
      "wildcard socket: echoes/s | CPU µs/echo | ratio |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const verdicts: string[] = [];
  const unwarmed = { ...opts, warmupSeconds: 0 };
  for (const workload of workloads) {
    const running: Running[] = [];
    try {
      for (const server of SOURCE_SERVERS) running.push(await start(server));
      const measureOne = async ({ server, host }: (typeof SOURCE_WINDOWS)[number]) => {
        const one = running[server]!;
        const args = (seconds: number) => workload.args(one.port, seconds).map((arg) => (arg === "127.0.0.1" ? host : arg));
        return loadSample(await load(one, args, unwarmed));
      };
      for (const window of SOURCE_WINDOWS.slice(0, 2)) await measureOne(window);
      const ratios: number[] = [];
      const controlRatios: number[] = [];
      let lost = 0;
      for (let round = 0; round < opts.rounds; round++) {
        const loadAtStart = await loadAverage();
        const samples: Sample[] = [];
        for (const index of round % 2 === 0 ? [0, 1, 2] : [2, 1, 0]) samples[index] = await measureOne(SOURCE_WINDOWS[index]!);
        const [bound, own, control] = [samples[0]!, samples[1]!, samples[2]!];
        ratios.push(own.cpuMicrosPerEcho / bound.cpuMicrosPerEcho);
        controlRatios.push(control.cpuMicrosPerEcho / bound.cpuMicrosPerEcho);
        lost += samples.reduce((sum, sample) => sum + sample.lost + sample.errors, 0);
        lines.push(
          `| ${workload.name} | ${round + 1} | ${fixed(loadAtStart, 2)} | ${fixed(bound.echoesPerSec, 0)} | ` +
            `${fixed(bound.cpuMicrosPerEcho, 2)} | ${fixed(own.echoesPerSec, 0)} | ${fixed(own.cpuMicrosPerEcho, 2)} | ` +
            `${fixed(ratios.at(-1)!, 2)}× | ${fixed(control.echoesPerSec, 0)} | ${fixed(control.cpuMicrosPerEcho, 2)} | ` +
            `${fixed(controlRatios.at(-1)!, 2)}× |`,
        );
      }
      const ratioMedian = median(ratios);
      verdicts.push(
        `- ${workload.name}: ${fixed(ratioMedian, 2)}× the bound echo's CPU per echo ` +
          `(target ≤ ${SOURCE_TARGET}×: ${verdict(ratioMedian, SOURCE_TARGET)}); through the wildcard socket ` +
          `${fixed(median(controlRatios), 2)}× (no target: an address the host gained after the start); errors and losses ${lost}`,
      );
    } finally {
      for (const one of running) await one.stop();
    }
  }
  lines.push(
    "",
    "Target: replying from each datagram's destination costs at most 5% more CPU per echo (median of the rounds):",
    "",
  );
  return [...lines, ...verdicts];
}

/** The reply-source rows, printed and (unless `--no-write` or `--smoke`) written to their own section. */
async function replySourceSection(opts: Options): Promise<void> {
  const lines = await replySourceRows(opts);
  console.log(lines.join("\n"));
  if (!opts.write) return;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const when = new Date().toISOString().slice(0, 16).replace("T", " ");
  const context =
    `Measured ${when} UTC with \`bun run bench${opts.sourceOnly ? " --source-only" : ""}\`; ${cpus().length} × ${cpu}; ` +
    `Bun ${Bun.version}${pinned ? "; server on core 1, load generator on core 0" : ""}; the machine shared with other work.`;
  await writeSection("reply-source", `${lines.join("\n").trim()}\n\n${context}\n`);
}

/**
 * The tail rows and the slow-poll count, printed and (unless `--no-write` or `--smoke`) written
 * to their own section of bench/RESULTS.md, so that `--tail-only` replaces just them.
 */
/** The echo server with the library built in `mode`, compiled into `dist/udp-echo-MODE`. */
async function buildModeServer(mode: string): Promise<Server> {
  const prefix = join(root, "zig", "zig-out", "modes", mode);
  run([join(root, "scripts", "zig"), "build", `-Doptimize=${mode}`, "--prefix", prefix, "--summary", "none"], join(root, "zig"));
  const library = join(prefix, "lib", basename(dirname(nativeLibrary)), basename(nativeLibrary));
  const outfile = `${executable}-${mode}`;
  await buildExecutable({ library, outfile });
  return {
    name: `udp-echo-${mode}`,
    command: (port) => [outfile, "--port", String(port)],
    note: `compiled executable, inline reactor, the library built with -Doptimize=${mode}`,
  };
}

/**
 * `--modes`: the echo rows for the reference and one executable per build mode of the library,
 * in interleaved rounds (each a fresh process), with every mode's CPU per echo over the
 * reference's, per round and as the median of those ratios.
 */
async function buildModeSection(opts: Options): Promise<void> {
  const servers = [SERVERS[0]!];
  for (const mode of opts.modes) servers.push(await buildModeServer(mode));
  const lines = ["## The library's build modes", ""];
  for (const size of SIZES) {
    const samples = new Map(servers.map((server) => [server.name, [] as Sample[]]));
    for (let round = 0; round < opts.repeat; round++) {
      for (const server of servers) samples.get(server.name)!.push(await measure(server, size, opts));
    }
    const reference = samples.get(SERVERS[0]!.name)!;
    const cpuPerRound = (name: string) => samples.get(name)!.map((sample) => sample.cpuMicrosPerEcho);
    lines.push(
      `### ${size}-byte datagrams`,
      "",
      "| server | echoes/s | CPU µs/echo | CPU vs ref, median of the rounds | per round | RTT p50 µs | errors | lost |",
      "|---|---:|---:|---:|---|---:|---:|---:|",
    );
    for (const server of servers) {
      const own = samples.get(server.name)!;
      const perRound = own.map((sample, round) => sample.cpuMicrosPerEcho / reference[round]!.cpuMicrosPerEcho);
      const sample = medianSample(own);
      lines.push(
        `| ${server.name} | ${fixed(sample.echoesPerSec, 0)} | ${fixed(sample.cpuMicrosPerEcho, 2)} | ` +
          `${fixed(median(perRound), 2)}× | ${perRound.map((value) => fixed(value, 2)).join(", ")} | ` +
          `${fixed(sample.p50, 1)} | ${sample.errors} | ${sample.lost} |`,
      );
    }
    // The modes against each other directly, round by round (the servers of a round ran seconds apart).
    const [first, ...others] = servers.slice(1).map((server) => server.name);
    for (const other of others) {
      const perRound = cpuPerRound(other).map((value, round) => value / cpuPerRound(first!)[round]!);
      lines.push(
        "",
        `CPU per echo of ${other} over ${first}: ${fixed(median(perRound), 3)}× (median of the rounds; per round ` +
          `${perRound.map((value) => fixed(value, 3)).join(", ")}).`,
      );
    }
    lines.push("");
  }
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const when = new Date().toISOString().slice(0, 16).replace("T", " ");
  lines.push(
    `Measured ${when} UTC with \`bun run bench --modes ${opts.modes.join(",")}\`; ${cpus().length} × ${cpu}; ` +
      `Bun ${Bun.version}; ${opts.repeat} rounds, each server fresh, ${opts.warmupSeconds} s of warm-up, then ` +
      `${opts.seconds} s measured${pinned ? "; server on core 1, load generator on core 0" : ""}.`,
  );
  console.log(lines.join("\n"));
  if (opts.write) await writeSection("build-modes", `${lines.join("\n")}\n`);
}

async function tailSection(opts: Options): Promise<void> {
  const lines = [...(await tailRows(opts)), ...(await slowPollRows(opts))];
  console.log(lines.join("\n"));
  if (!opts.write) return;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const when = new Date().toISOString().slice(0, 16).replace("T", " ");
  const context =
    `Measured ${when} UTC with \`bun run bench${opts.tailOnly ? " --tail-only" : ""}\`; ${cpus().length} × ${cpu}; ` +
    `Bun ${Bun.version}${pinned ? "; server on core 1, load generator on core 0" : ""}.`;
  await writeSection("tail", `${lines.join("\n").trim()}\n\n${context}\n`);
}

await main();
