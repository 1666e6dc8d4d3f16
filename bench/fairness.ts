/**
 * The fairness benchmark: does an app that embeds the runtime stay as responsive while its UDP
 * port is flooded as the same two servers in two processes would? The apps:
 *
 * - `embedded`: examples/embedded-http.ts (the echo on bun-reactor, beside Bun.serve, in one
 *   process and on one thread), with its default turn budget;
 * - `two-process`, the control: Bun.serve alone (bench/servers/http-alone.ts, the same routes)
 *   in one process, the compiled udp-echo in another. It is what an app would do instead of
 *   embedding: run this project's echo beside it. The same echo code on the same runtime, so
 *   the difference is only that the two no longer share one thread; the two event-loop threads
 *   share one core, as the embedded app's one thread has one core (`--pin loop`);
 * - `embedded-<budget>`: the embedded example with `TURN_BUDGET_MS` set to each of `--budgets`
 *   (default 0.25, 1 and Infinity, the turn without a budget), to show what the budget trades;
 * - `bun-udp-http`: bench/servers/bun-udp-http.ts, the same two routes on Bun.udpSocket and
 *   Bun.serve in one process.
 *
 * Each app runs three phases, each on a fresh process: `idle` (HTTP only), `flood` (the Zig
 * load generator's UDP flood only) and `flood+http` (both at once). The HTTP client
 * (zig/bench/http-probe.zig) fetches `/stats` one request at a time and reports requests/s and
 * p50/p99/max latency: one thread blocking in `read`, since a JavaScript client's own handoffs
 * (its event loop, its HTTP thread: each a wakeup on a loaded core) took about as long as the
 * server when idle and added milliseconds to the p99 under the flood. It runs at normal
 * priority beside the load generator (`--client-nice`). A host timer loop preloaded into the
 * HTTP server's process (bench/host-timer-probe.ts) reports how long `setTimeout(…, 1)` took to
 * fire. The load: 64-byte datagrams from 4 sockets × 32 in flight, every echo verified.
 *
 * `--rounds` rounds (default 5), each every app's three phases, each round starting one app
 * further along. The table gives the median of each figure over the rounds; the targets take
 * ratios within one round (the embedded app's HTTP p99 under the flood over the control's, its
 * requests/s under the flood over its own idle, its echoes/s with HTTP over the flood alone),
 * then the median of the rounds, and print the load average beside each round.
 *
 * Usage: bun bench/fairness.ts [--seconds S] [--warmup S] [--rounds N] [--pin loop|process|none]
 *        [--client-nice N] [--budgets MS,…] [--only a,b] [--no-write]
 * (default 5 s a phase, after 1 s of the same load unmeasured; `--budgets ""` for none; the
 * table goes to its own section of bench/RESULTS.md unless --no-write, replacing the previous
 * run's).
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildExecutable, buildNative, executable, run } from "../scripts/build.ts";
import { writeSection } from "./results-file.ts";

const root = join(import.meta.dir, "..");
const loadgen = join(root, "zig", "zig-out", "bin", "loadgen");
const httpProbe = join(root, "zig", "zig-out", "bin", "http-probe");
const bun = process.execPath;
const probe = join(root, "bench", "host-timer-probe.ts");

/**
 * The issue's targets for the embedded app, each the median over the rounds of a ratio within
 * one round: its HTTP p99 under the flood against the two-process control's (at most), its HTTP
 * requests/s under the flood against its own idle (at least), its echoes/s with HTTP against the
 * flood alone (at least); and the host timer's p99 under the flood, in milliseconds (at most).
 */
const TARGETS = { httpP99VsControl: 2, httpRateRatio: 0.5, echoRatio: 0.7, timerP99Ms: 2 };

interface App {
  readonly name: string;
  readonly note: string;
  readonly script: string;
  readonly env?: Record<string, string>;
  /** The two-process control: `script` is the HTTP server alone, the echo is the compiled udp-echo. */
  readonly control?: boolean;
}

/** The control the embedded app's HTTP p99 is judged against. */
const CONTROL = "two-process";

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
      name: CONTROL,
      note:
        "the control: bench/servers/http-alone.ts (Bun.serve alone, same routes) in one process and the compiled " +
        "udp-echo in another, the app a user would run instead of embedding the runtime",
      script: "bench/servers/http-alone.ts",
      control: true,
    },
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

/** A process of an app, and its stdout lines as they come. */
class Lines {
  readonly child: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  readonly #lines: string[] = [];
  #waiters: (() => void)[] = [];
  #ended = false;

  constructor(command: string[], env: Record<string, string> = {}) {
    this.child = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
    void this.#read();
  }

  async #read(): Promise<void> {
    let pending = "";
    for await (const chunk of this.child.stdout) {
      pending += new TextDecoder().decode(chunk);
      const lines = pending.split("\n");
      pending = lines.pop()!;
      this.#lines.push(...lines);
      for (const wake of this.#waiters.splice(0)) wake();
    }
    this.#ended = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** The first line (from now on) that matches `pattern`, or null if the process ended first. */
  async line(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray | null> {
    const deadlineMs = performance.now() + timeoutMs;
    for (;;) {
      const index = this.#lines.findIndex((line) => pattern.test(line));
      if (index >= 0) return pattern.exec(this.#lines.splice(0, index + 1).at(-1)!);
      if (this.#ended || performance.now() > deadlineMs) return null;
      await Promise.race([new Promise<void>((wake) => this.#waiters.push(wake)), Bun.sleep(50)]);
    }
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

/**
 * A running app: its ports, and its processes: one (the HTTP server and the echo in one
 * process), or for the control the HTTP server and the echo each in its own. The host timer
 * runs in the HTTP server's process.
 */
class RunningApp {
  readonly #http: Lines;
  readonly #echo: Lines | null;
  udpPort = 0;
  httpPort = 0;

  constructor(app: App) {
    const wrap = (command: string[]) => (pinning === "process" ? onCore(1, command) : command);
    if (app.control) {
      this.#http = new Lines(wrap([bun, "--preload", probe, join(root, app.script), "0", "127.0.0.1"]), app.env);
      this.#echo = new Lines(wrap([executable, "--port", "0"]));
    } else {
      this.#http = new Lines(wrap([bun, "--preload", probe, join(root, app.script), "0", "0", "127.0.0.1"]), app.env);
      this.#echo = null;
    }
  }

  async ready(): Promise<void> {
    if (this.#echo === null) {
      const match = await this.#http.line(/listening on udp [\d.]+:(\d+), http [\d.]+:(\d+)/);
      if (match === null) throw new Error(`the app did not start: ${await new Response(this.#http.child.stderr).text()}`);
      this.udpPort = Number(match[1]);
      this.httpPort = Number(match[2]);
    } else {
      const http = await this.#http.line(/listening on http [\d.]+:(\d+)/);
      if (http === null) throw new Error(`the HTTP server did not start: ${await new Response(this.#http.child.stderr).text()}`);
      const echo = await this.#echo.line(/udp-echo listening on [\d.]+:(\d+)/);
      if (echo === null) throw new Error(`udp-echo did not start: ${await new Response(this.#echo.child.stderr).text()}`);
      this.httpPort = Number(http[1]);
      this.udpPort = Number(echo[1]);
    }
    this.pinThreads();
  }

  /**
   * With `--pin loop`: each process's event-loop thread (the main thread, whose id is the
   * process's) on core 1, its other threads on core 0; for the control, both main threads share
   * core 1, as the embedded app's one thread does. Called again before the measured window, for
   * the threads started since (a thread starts on its parent's cores).
   */
  pinThreads(): void {
    if (pinning !== "loop") return;
    for (const { child } of this.#processes()) {
      const pid = child.pid;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        Bun.spawnSync(["taskset", "-p", "-c", tid === String(pid) ? "1" : "0", tid], { stdout: "ignore", stderr: "ignore" });
      }
    }
  }

  #processes(): Lines[] {
    return this.#echo === null ? [this.#http] : [this.#http, this.#echo];
  }

  /** The host timer's delays since the last call; null if the app has died. */
  async hostTimer(): Promise<Latency | null> {
    if (!this.#http.alive) return null;
    this.#http.child.kill("SIGUSR2");
    const match = await this.#http.line(/^host-timer (\{.*\})$/, 5_000);
    return match === null ? null : (JSON.parse(match[1]!) as Latency);
  }

  get alive(): boolean {
    return this.#processes().every((process) => process.alive);
  }

  async stop(): Promise<string> {
    const errors: string[] = [];
    for (const { child } of this.#processes()) {
      child.kill("SIGKILL");
      await child.exited;
      errors.push((await new Response(child.stderr).text()).trim());
    }
    return errors.filter((text) => text !== "").join("\n");
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
 * The HTTP client's niceness (`--client-nice`, default 0: the priority a user's client has, so
 * the figure is the one users see). The client shares core 0 with the load generator, which
 * keeps that core busy: at the same priority the client waited up to 3.4 ms there for the core
 * before it could read a response (`perf sched`), and that wait goes into every app's p99
 * alike, the control's too: the targets are ratios to the control for that reason. A negative
 * niceness (e.g. -10) puts the client ahead of the load generator, as on a machine of its own.
 */
let clientNice = 0;

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

type Phases = Record<PhaseName, Phase>;

function median(values: readonly number[]): number | null {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Every figure of the table, the median over the rounds (each figure on its own). */
function medianPhases(rounds: readonly Phases[]): Phases {
  const of = (values: (number | null | undefined)[]) => median(values.filter((value): value is number => value != null));
  const latencyOf = (pick: (phases: Phases) => Latency | null): Latency | null => {
    const present = rounds.map(pick).filter((figures): figures is Latency => figures !== null);
    if (present.length === 0) return null;
    return { p50: of(present.map((x) => x.p50))!, p99: of(present.map((x) => x.p99))!, max: of(present.map((x) => x.max))! };
  };
  const phase = (name: PhaseName): Phase => {
    const http = latencyOf((phases) => phases[name].http);
    return {
      http:
        http === null
          ? null
          : {
              ...http,
              perSec: of(rounds.map((phases) => phases[name].http?.perSec))!,
              failed: rounds.reduce((sum, phases) => sum + (phases[name].http?.failed ?? 0), 0),
            },
      timer: latencyOf((phases) => phases[name].timer),
      echoesPerSec: of(rounds.map((phases) => phases[name].echoesPerSec)),
      failure: null,
    };
  };
  return { idle: phase("idle"), flood: phase("flood"), "flood+http": phase("flood+http") };
}

function table(results: Map<string, Phases[]>): string[] {
  const lines = [
    "| app | HTTP req/s idle | under flood | ratio | HTTP ms p50/p99/max idle | under flood | " +
      "host timer ms p50/p99/max idle | under flood | echoes/s flood only | with HTTP | ratio |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [name, rounds] of results) {
    const { idle, flood, "flood+http": both } = medianPhases(rounds);
    lines.push(
      `| ${name} | ${fixed(idle.http?.perSec, 0)} | ${fixed(both.http?.perSec, 0)} | ${ratio(both.http?.perSec, idle.http?.perSec)} | ` +
        `${latency(idle.http)} | ${latency(both.http)} | ${latency(idle.timer)} | ${latency(both.timer)} | ` +
        `${fixed(flood.echoesPerSec, 0)} | ${fixed(both.echoesPerSec, 0)} | ${ratio(both.echoesPerSec, flood.echoesPerSec)} |`,
    );
  }
  return lines;
}

/** The ratios the targets are about, within one round. */
interface RoundRatios {
  readonly load: number;
  /** The embedded app's HTTP p99 under the flood over the control's. */
  readonly httpP99VsControl: number | null;
  /** The embedded app's HTTP req/s under the flood over its own idle. */
  readonly httpRate: number | null;
  /** The embedded app's echoes/s with HTTP over the flood alone. */
  readonly echo: number | null;
  readonly timerP99Ms: number | null;
  /** The control's own: its HTTP req/s under the flood over idle, its echoes/s with HTTP over alone. */
  readonly controlHttpRate: number | null;
  readonly controlEcho: number | null;
}

const quotient = (value: number | null | undefined, reference: number | null | undefined) =>
  value == null || reference == null || !(reference > 0) ? null : value / reference;

function roundRatios(embedded: Phases, control: Phases | undefined, load: number): RoundRatios {
  const both = embedded["flood+http"];
  return {
    load,
    httpP99VsControl: quotient(both.http?.p99, control?.["flood+http"].http?.p99),
    httpRate: quotient(both.http?.perSec, embedded.idle.http?.perSec),
    echo: quotient(both.echoesPerSec, embedded.flood.echoesPerSec),
    timerP99Ms: both.timer?.p99 ?? null,
    controlHttpRate: control === undefined ? null : quotient(control["flood+http"].http?.perSec, control.idle.http?.perSec),
    controlEcho: control === undefined ? null : quotient(control["flood+http"].echoesPerSec, control.flood.echoesPerSec),
  };
}

function verdicts(rounds: readonly RoundRatios[]): string[] {
  const check = (value: number | null, ok: (value: number) => boolean, text: string) =>
    `- ${value === null ? "n/a" : ok(value) ? "met" : "NOT met"}: ${text}`;
  const of = (pick: (round: RoundRatios) => number | null) =>
    median(rounds.map(pick).filter((value): value is number => value !== null));
  const p99 = of((round) => round.httpP99VsControl);
  const rate = of((round) => round.httpRate);
  const echo = of((round) => round.echo);
  const timer = of((round) => round.timerP99Ms);
  const x = (value: number | null) => `${fixed(value)}×`;
  return [
    "| round | load | HTTP p99 vs control | HTTP req/s flood ÷ idle | echoes/s with HTTP ÷ alone | timer p99 ms | " +
      "control: HTTP req/s flood ÷ idle | control: echoes/s with HTTP ÷ alone |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rounds.map(
      (round, index) =>
        `| ${index + 1} | ${fixed(round.load)} | ${x(round.httpP99VsControl)} | ${x(round.httpRate)} | ${x(round.echo)} | ` +
        `${fixed(round.timerP99Ms)} | ${x(round.controlHttpRate)} | ${x(round.controlEcho)} |`,
    ),
    "",
    check(
      p99,
      (value) => value <= TARGETS.httpP99VsControl,
      `HTTP p99 under the flood ${x(p99)} the two-process control's ≤ ${TARGETS.httpP99VsControl}×`,
    ),
    check(
      rate,
      (value) => value >= TARGETS.httpRateRatio,
      `HTTP req/s under the flood ${x(rate)} idle ≥ ${TARGETS.httpRateRatio}×`,
    ),
    check(echo, (value) => value >= TARGETS.echoRatio, `echoes/s with HTTP ${x(echo)} the flood alone ≥ ${TARGETS.echoRatio}×`),
    check(
      timer,
      (value) => value <= TARGETS.timerP99Ms,
      `host setTimeout(…, 1) p99 under the flood ${fixed(timer)} ms ≤ ${TARGETS.timerP99Ms} ms`,
    ),
  ];
}

async function loadAverage(): Promise<number> {
  return Number((await Bun.file("/proc/loadavg").text()).split(" ")[0]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string" },
      rounds: { type: "string" },
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
  const roundCount = Number(values.rounds ?? "5");
  if (!Number.isInteger(roundCount) || roundCount < 1)
    throw new RangeError(`--rounds ${values.rounds} is not a whole number ≥ 1`);
  const warmupSeconds = Number(values.warmup ?? "1");
  if (!(warmupSeconds >= 0)) throw new RangeError(`--warmup ${values.warmup} is not a number of seconds ≥ 0`);
  const pin = values.pin ?? "loop";
  if (pin !== "loop" && pin !== "process" && pin !== "none") throw new RangeError(`--pin ${pin} is not loop, process or none`);
  pinning = cpus().length >= 2 && Bun.which("taskset") !== null ? pin : "none";
  const nice = Number(values["client-nice"] ?? "0");
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
    throw new RangeError(`--client-nice ${values["client-nice"]} is not a niceness (an integer from -20 to 19)`);
  }
  clientNice = usableNice(nice);
  if (clientNice !== nice) console.error(`--client-nice ${nice} is not allowed here: the HTTP client runs at niceness 0`);
  const only = values.only?.split(",") ?? null;
  const budgets = values.budgets ?? "0.25,1,Infinity";
  const APPS = apps(budgets === "" ? [] : budgets.split(","));
  buildNative();
  run([join(root, "scripts", "zig"), "build", "bench", "--summary", "none"], join(root, "zig"));
  await buildExecutable();

  const measured = APPS.filter((candidate) => only === null || only.includes(candidate.name));
  const results = new Map<string, Phases[]>(measured.map((app) => [app.name, []]));
  const ratios: RoundRatios[] = [];
  const failures: string[] = [];
  for (let round = 0; round < roundCount; round++) {
    const load = await loadAverage();
    // Each round starts one app further along, so that every app takes every place in the order.
    for (let turn = 0; turn < measured.length; turn++) {
      const app = measured[(round + turn) % measured.length]!;
      const phases = {} as Phases;
      for (const phase of ["idle", "flood", "flood+http"] as const) {
        phases[phase] = await measurePhase(app, phase, seconds, warmupSeconds);
        if (phases[phase].failure !== null) failures.push(`${app.name} (${phase}, round ${round + 1}): ${phases[phase].failure}`);
        console.error(`round ${round + 1} ${app.name} ${phase}: ${JSON.stringify(phases[phase])}`);
      }
      results.get(app.name)!.push(phases);
    }
    const embedded = results.get("embedded")?.[round];
    if (embedded !== undefined) ratios.push(roundRatios(embedded, results.get(CONTROL)?.[round], load));
  }

  const lines = [
    "",
    `### Fairness under a UDP flood (\`bun run bench:fairness\`, ${seconds} s a phase, median of ${roundCount} rounds)`,
    "",
    ...table(results),
  ];
  if (ratios.length > 0) {
    lines.push("", "Targets (embedded; each ratio within one round, then the median of the rounds):", "", ...verdicts(ratios));
  }
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
