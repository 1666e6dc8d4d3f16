/**
 * The fairness benchmark: does an app that embeds the runtime stay responsive while its UDP
 * port is flooded? Each app is one Bun process with a UDP echo and an HTTP server side by side:
 *
 * - `embedded`: examples/embedded-http.ts (the echo on bun-reactor, beside Bun.serve), with its
 *   default turn budget;
 * - `embedded-<budget>`: the same with `TURN_BUDGET_MS` set to each of `--budgets` (default
 *   0.25, 1 and Infinity, which is the turn as it was before the budget), to show what the
 *   budget trades;
 * - `bun-udp-http`: bench/servers/bun-udp-http.ts, the same two routes on Bun.udpSocket and
 *   Bun.serve alone.
 *
 * Each app runs three phases, each on a fresh process: `idle` (HTTP only), `flood` (the Zig
 * load generator's UDP flood only) and `flood+http` (both at once). The HTTP client
 * (zig/bench/http-probe.zig) fetches `/stats` one request at a time and reports requests/s and
 * p50/p99/max latency: one thread blocking in `read`, since a JavaScript client's own handoffs
 * (its event loop, its HTTP thread: each a wakeup on a loaded core) took about as long as the
 * server when idle and added milliseconds to the p99 under the flood. It runs ahead of the load
 * generator on their shared core (`--client-nice`). A host timer loop preloaded into the app
 * (bench/host-timer-probe.ts) reports how long `setTimeout(…, 1)` took to fire. The load:
 * 64-byte datagrams from 4 sockets × 32 in flight, every echo verified. Ratios are within one
 * app, same run: requests/s under the flood against idle, echoes/s with HTTP against the flood
 * alone.
 *
 * Usage: bun bench/fairness.ts [--seconds S] [--warmup S] [--pin loop|process|none]
 *        [--client-nice N] [--budgets MS,…] [--only a,b] [--no-write]
 * (default 5 s a phase, after 1 s of the same load unmeasured; the table goes to its own
 * section of bench/RESULTS.md unless --no-write, replacing the previous run's).
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildNative, run } from "../scripts/build.ts";
import { writeSection } from "./results-file.ts";

const root = join(import.meta.dir, "..");
const loadgen = join(root, "zig", "zig-out", "bin", "loadgen");
const httpProbe = join(root, "zig", "zig-out", "bin", "http-probe");
const bun = process.execPath;
const probe = join(root, "bench", "host-timer-probe.ts");

/** The issue's targets, for the embedded app, same run. */
const TARGETS = { httpP99Ms: 2, httpRateRatio: 0.2, echoRatio: 0.7, timerP99Ms: 2 };

interface App {
  readonly name: string;
  readonly note: string;
  readonly script: string;
  readonly env?: Record<string, string>;
}

/** The apps: the embedded example with its default budget, with each of `budgetsMs`, and Bun's own. */
function apps(budgetsMs: string[]): App[] {
  return [
    { name: "embedded", note: "examples/embedded-http.ts, default turn budget", script: "examples/embedded-http.ts" },
    ...budgetsMs.map((budgetMs) => ({
      name: `embedded-${budgetMs === "Infinity" ? "unbudgeted" : `${budgetMs}ms`}`,
      note:
        budgetMs === "Infinity"
          ? "examples/embedded-http.ts, TURN_BUDGET_MS=Infinity (every ready task, every turn: the turn before the budget)"
          : `examples/embedded-http.ts, TURN_BUDGET_MS=${budgetMs}`,
      script: "examples/embedded-http.ts",
      env: { TURN_BUDGET_MS: budgetMs },
    })),
    {
      name: "bun-udp-http",
      note: "bench/servers/bun-udp-http.ts: Bun.udpSocket echo + Bun.serve, same two routes",
      script: "bench/servers/bun-udp-http.ts",
    },
  ];
}

/**
 * Where the processes run (`--pin`), on a machine with two cores or more and `taskset`:
 *
 * - `loop` (default): the app's event-loop thread alone on core 1; the app's other threads
 *   (JIT compiler, GC helpers, allocator scavenger, the runtime's reactor thread), the load
 *   generator and the HTTP client on core 0. The event loop then shares its core with nothing
 *   of its own, as on a machine with cores to spare, where those threads run elsewhere;
 * - `process`: the whole app on core 1 (its event loop takes turns with its own JIT and
 *   allocator threads, which took 1–5 ms slices of that core in a cold process), the rest on 0;
 * - `none`: nothing pinned.
 */
type Pinning = "loop" | "process" | "none";
let pinning: Pinning = "loop";

/** The load and the HTTP client on core 0, away from the app's event loop. */
function onCore(core: number, command: string[]): string[] {
  return pinning === "none" ? command : ["taskset", "-c", String(core), ...command];
}

const PIN_NOTES: Record<Pinning, string> = {
  loop: "the app's event-loop thread alone on core 1; its other threads, the load generator and the HTTP client on core 0",
  process: "the whole app on core 1, the load generator and the HTTP client on core 0",
  none: "nothing pinned",
};

interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

interface Http extends Latency {
  readonly perSec: number;
  readonly failed: number;
}

interface Phase {
  http: Http | null;
  timer: Latency | null;
  echoesPerSec: number | null;
  /** Why the phase has no figures (the app crashed), if it has none. */
  failure: string | null;
}

/** A running app: its ports, and its stdout lines as they come. */
class RunningApp {
  readonly #child: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  readonly #lines: string[] = [];
  #waiters: (() => void)[] = [];
  #ended = false;
  udpPort = 0;
  httpPort = 0;

  constructor(app: App) {
    const script = [bun, "--preload", probe, join(root, app.script), "0", "0", "127.0.0.1"];
    const command = pinning === "process" ? onCore(1, script) : script;
    this.#child = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...app.env } });
    void this.#read();
  }

  async #read(): Promise<void> {
    let pending = "";
    for await (const chunk of this.#child.stdout) {
      pending += new TextDecoder().decode(chunk);
      const lines = pending.split("\n");
      pending = lines.pop()!;
      this.#lines.push(...lines);
      for (const wake of this.#waiters.splice(0)) wake();
    }
    this.#ended = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** The first line (from now on) that matches `pattern`, or null if the app ended first. */
  async line(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray | null> {
    const deadlineMs = performance.now() + timeoutMs;
    for (;;) {
      const index = this.#lines.findIndex((line) => pattern.test(line));
      if (index >= 0) return pattern.exec(this.#lines.splice(0, index + 1).at(-1)!);
      if (this.#ended || performance.now() > deadlineMs) return null;
      await Promise.race([new Promise<void>((wake) => this.#waiters.push(wake)), Bun.sleep(50)]);
    }
  }

  async ready(): Promise<void> {
    const match = await this.line(/listening on udp [\d.]+:(\d+), http [\d.]+:(\d+)/);
    if (match === null) throw new Error(`the app did not start: ${await new Response(this.#child.stderr).text()}`);
    this.pinThreads();
    this.udpPort = Number(match[1]);
    this.httpPort = Number(match[2]);
  }

  /**
   * With `--pin loop`: the app's event-loop thread (the main thread, whose id is the process's)
   * on core 1, its other threads on core 0. Called again before the measured window, for the
   * threads started since (a thread starts on its parent's cores).
   */
  pinThreads(): void {
    if (pinning !== "loop") return;
    const pid = this.#child.pid;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      Bun.spawnSync(["taskset", "-p", "-c", tid === String(pid) ? "1" : "0", tid], { stdout: "ignore", stderr: "ignore" });
    }
  }

  /** The host timer's delays since the last call; null if the app has died. */
  async hostTimer(): Promise<Latency | null> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return null;
    this.#child.kill("SIGUSR2");
    const match = await this.line(/^host-timer (\{.*\})$/, 5_000);
    return match === null ? null : (JSON.parse(match[1]!) as Latency);
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async stop(): Promise<string> {
    this.#child.kill("SIGKILL");
    await this.#child.exited;
    return (await new Response(this.#child.stderr).text()).trim();
  }
}

async function json<T>(command: string[]): Promise<T> {
  const child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`${command.join(" ")} failed (${code}): ${stderr}`);
  return JSON.parse(stdout) as T;
}

function flood(app: RunningApp, seconds: number): Promise<{ echoes_per_sec: number }> {
  return json(onCore(0, [loadgen, "throughput", "127.0.0.1", String(app.udpPort), "64", String(seconds), "4", "32"]));
}

/**
 * The HTTP client's niceness (`--client-nice`, default -10). The client shares core 0 with the
 * load generator, which keeps that core busy: at the same priority, the client waited up to
 * 3.4 ms there for the core before it could read a response (`perf sched`), and that wait went
 * into the server's p99. Ahead of the load generator, it reads at once, as a client on a
 * machine of its own would. 0 keeps it at the load generator's priority.
 */
let clientNice = -10;

/** `clientNice` if this user may set it (a negative niceness needs privilege), else 0. */
function usableNice(nice: number): number {
  if (nice === 0) return 0;
  const probe = Bun.spawnSync(["nice", "-n", String(nice), "true"], { stdout: "ignore", stderr: "pipe" });
  return probe.exitCode === 0 && probe.stderr.length === 0 ? nice : 0;
}

function httpClient(app: RunningApp, seconds: number): Promise<Http> {
  const niced = clientNice === 0 ? [] : ["nice", "-n", String(clientNice)];
  return json(onCore(0, [...niced, httpProbe, "127.0.0.1", String(app.httpPort), "/stats", String(seconds)]));
}

type PhaseName = "idle" | "flood" | "flood+http";

/** The phase's load on the app for `seconds`: the HTTP client, the flood, or both at once. */
function load(app: RunningApp, phase: PhaseName, seconds: number) {
  return Promise.all([
    phase === "flood" ? null : httpClient(app, seconds),
    phase === "idle" ? null : flood(app, seconds).catch((error: unknown) => error as Error),
  ]);
}

async function measurePhase(spec: App, phase: PhaseName, seconds: number, warmupSeconds: number): Promise<Phase> {
  const app = new RunningApp(spec);
  const result: Phase = { http: null, timer: null, echoesPerSec: null, failure: null };
  try {
    await app.ready();
    await Bun.sleep(200); // let the app settle (first timers)
    // The same load, unmeasured: the JIT compiles the hot paths now rather than inside the
    // measured window, so that the figures are a running app's, not its first seconds'.
    if (warmupSeconds > 0) await load(app, phase, warmupSeconds);
    app.pinThreads();
    await app.hostTimer(); // start the host timer's figures afresh
    const [http, loaded] = await load(app, phase, seconds);
    result.http = http;
    if (loaded instanceof Error) result.failure = loaded.message.split("\n")[0]!;
    else if (loaded !== null) result.echoesPerSec = loaded.echoes_per_sec;
    result.timer = await app.hostTimer();
    if (!app.alive) result.failure ??= "the app died";
  } finally {
    const stderr = await app.stop();
    if (result.failure !== null && stderr !== "") result.failure += `: ${stderr.split("\n")[0]}`;
  }
  return result;
}

const fixed = (value: number | null | undefined, digits = 2) =>
  value === null || value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(digits);
const ratio = (value: number | null | undefined, reference: number | null | undefined) =>
  value == null || reference == null || !(reference > 0) ? "n/a" : `${(value / reference).toFixed(2)}×`;
const latency = (figures: Latency | null) =>
  figures === null ? "n/a" : `${fixed(figures.p50)} / ${fixed(figures.p99)} / ${fixed(figures.max)}`;

function table(results: Map<string, Record<PhaseName, Phase>>): string[] {
  const lines = [
    "| app | HTTP req/s idle | under flood | ratio | HTTP ms p50/p99/max idle | under flood | " +
      "host timer ms p50/p99/max idle | under flood | echoes/s flood only | with HTTP | ratio |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [name, phases] of results) {
    const { idle, flood, "flood+http": both } = phases;
    lines.push(
      `| ${name} | ${fixed(idle.http?.perSec, 0)} | ${fixed(both.http?.perSec, 0)} | ${ratio(both.http?.perSec, idle.http?.perSec)} | ` +
        `${latency(idle.http)} | ${latency(both.http)} | ${latency(idle.timer)} | ${latency(both.timer)} | ` +
        `${fixed(flood.echoesPerSec, 0)} | ${fixed(both.echoesPerSec, 0)} | ${ratio(both.echoesPerSec, flood.echoesPerSec)} |`,
    );
  }
  return lines;
}

function verdicts(phases: Record<PhaseName, Phase>): string[] {
  const { idle, flood, "flood+http": both } = phases;
  const check = (ok: boolean | null, text: string) => `- ${ok === null ? "n/a" : ok ? "met" : "NOT met"}: ${text}`;
  const httpP99 = both.http?.p99 ?? null;
  const rate = both.http && idle.http ? both.http.perSec / idle.http.perSec : null;
  const echo = both.echoesPerSec !== null && flood.echoesPerSec ? both.echoesPerSec / flood.echoesPerSec : null;
  const timerP99 = both.timer?.p99 ?? null;
  return [
    check(
      httpP99 === null ? null : httpP99 <= TARGETS.httpP99Ms,
      `HTTP p99 under the flood ${fixed(httpP99)} ms ≤ ${TARGETS.httpP99Ms} ms`,
    ),
    check(
      rate === null ? null : rate >= TARGETS.httpRateRatio,
      `HTTP req/s under the flood ${fixed(rate)}× idle ≥ ${TARGETS.httpRateRatio}×`,
    ),
    check(
      echo === null ? null : echo >= TARGETS.echoRatio,
      `echoes/s with HTTP ${fixed(echo)}× the flood alone ≥ ${TARGETS.echoRatio}×`,
    ),
    check(
      timerP99 === null ? null : timerP99 <= TARGETS.timerP99Ms,
      `host setTimeout(…, 1) p99 under the flood ${fixed(timerP99)} ms ≤ ${TARGETS.timerP99Ms} ms`,
    ),
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string" },
      only: { type: "string" },
      budgets: { type: "string" },
      warmup: { type: "string" },
      pin: { type: "string" },
      "client-nice": { type: "string" },
      "no-write": { type: "boolean" },
    },
  });
  const seconds = Number(values.seconds ?? "5");
  if (!(seconds > 0)) throw new RangeError(`--seconds ${values.seconds} is not a positive number`);
  const warmupSeconds = Number(values.warmup ?? "1");
  if (!(warmupSeconds >= 0)) throw new RangeError(`--warmup ${values.warmup} is not a number of seconds ≥ 0`);
  const pin = values.pin ?? "loop";
  if (pin !== "loop" && pin !== "process" && pin !== "none") throw new RangeError(`--pin ${pin} is not loop, process or none`);
  pinning = cpus().length >= 2 && Bun.which("taskset") !== null ? pin : "none";
  const nice = Number(values["client-nice"] ?? "-10");
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
    throw new RangeError(`--client-nice ${values["client-nice"]} is not a niceness (an integer from -20 to 19)`);
  }
  clientNice = usableNice(nice);
  if (clientNice !== nice) console.error(`--client-nice ${nice} is not allowed here: the HTTP client runs at niceness 0`);
  const only = values.only?.split(",") ?? null;
  const APPS = apps((values.budgets ?? "0.25,1,Infinity").split(","));
  buildNative();
  run([join(root, "scripts", "zig"), "build", "bench", "--summary", "none"], join(root, "zig"));

  const results = new Map<string, Record<PhaseName, Phase>>();
  const failures: string[] = [];
  const measured = APPS.filter((candidate) => only === null || only.includes(candidate.name));
  for (const app of measured) {
    const phases = {} as Record<PhaseName, Phase>;
    for (const phase of ["idle", "flood", "flood+http"] as const) {
      phases[phase] = await measurePhase(app, phase, seconds, warmupSeconds);
      if (phases[phase].failure !== null) failures.push(`${app.name} (${phase}): ${phases[phase].failure}`);
      console.error(`${app.name} ${phase}: ${JSON.stringify(phases[phase])}`);
    }
    results.set(app.name, phases);
  }

  const lines = ["", `### Fairness under a UDP flood (\`bun run bench:fairness\`, ${seconds} s a phase)`, "", ...table(results)];
  const embedded = results.get("embedded");
  if (embedded !== undefined) lines.push("", "Targets (embedded, same run):", "", ...verdicts(embedded));
  if (failures.length > 0) lines.push("", "Failures:", "", ...failures.map((failure) => `- ${failure}`));
  const report = lines.join("\n");
  console.log(report);

  if (values["no-write"] !== true) {
    const when = new Date().toISOString().slice(0, 16).replace("T", " ");
    const context = [
      "",
      `Measured ${when} UTC; ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}; Bun ${Bun.version}` +
        `; ${PIN_NOTES[pinning]}; the HTTP client at niceness ${clientNice}` +
        `${warmupSeconds > 0 ? `; each phase measured after ${warmupSeconds} s of the same load, unmeasured` : ""}.`,
      "Load: 64-byte datagrams, 4 sockets × 32 in flight; HTTP: one `GET /stats` at a time (zig/bench/http-probe.zig); " +
        "host timer: `setTimeout(…, 1)` in a loop inside the app.",
      ...measured.map((app) => `- ${app.name}: ${app.note}`),
    ];
    await writeSection("fairness", `${report}\n${context.join("\n")}\n`);
  }
}

await main();
