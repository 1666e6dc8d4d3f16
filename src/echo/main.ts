/**
 * `udp-echo`: the echo server's command line. This is step 1 of the seed's flow: `main()`
 * creates the runtime (executor, reactor, driver) and spawns the echo service as tasks.
 *
 * @module
 */
import { rmSync, writeFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import packageJson from "../../package.json" with { type: "json" };
import {
  ActivationError,
  type Async,
  combineHooks,
  formatSocketAddress,
  isLoopbackHost,
  now,
  remoteCondition,
  Runtime,
  select,
  SignalWatch,
  SystemError,
  sleep,
  spawn,
  TimeoutError,
  timeout,
  UdpSocket,
} from "../index.ts";
import {
  type MetricsHandle,
  RUNTIME_METRICS_BYTES,
  RuntimeMetrics,
  runtimeMetricsBlock,
  type SharedBlock,
  serveMetrics,
} from "../metrics/index.ts";
import { type ConsoleHandle, serveConsole, TraceFile } from "../console/index.ts";
// Worker threads and their pollers: the process's hosting, below the app-facing API.
import { Poller, pollerBackend } from "../internals.ts";
import { cpuCountMismatch, type EchoConfig, parseCommandLine, USAGE, UsageError } from "./config.ts";
import { ECHO_WORKER_URL } from "./locations.ts";
import { err, out, setLogFormat } from "./output.ts";
import { PRIVILEGED_PORT_HINT, type SocketGroups, takeSockets } from "./sockets.ts";
import { listenersFor, serveEcho, TURN_BUDGET_MS } from "./service.ts";
import { echoMetricsBlock } from "./metrics.ts";
import { Counter, type CounterName, countersOf, EchoStats, formatStatsLine, formatTotals, STATS_BYTES } from "./stats.ts";
import { RestartLimitError } from "./supervisor.ts";
import { TracePrinter } from "./trace-printer.ts";
import { cpusLeftBy, keepHelperThreads, pinEventLoop, type ThreadPlacement } from "./helper-threads.ts";
import { unlessQuiet, warmUpQuietly } from "./warm-up.ts";
import type { EchoWorkerData } from "./worker.ts";
import { WorkerSlots, WorkerState } from "./worker-slots.ts";

/** How long the main thread waits for worker threads to start, and to stop. */
const WORKER_START_MS = 10_000;
const WORKER_STOP_MS = 1500;

function usageError(message: string): never {
  err(`udp-echo: ${message}`);
  err("Try 'udp-echo --help' for the options.");
  process.exit(2);
}

/** `offload on`, or `offload off: WHY`, as the ready line puts it. */
function describeOffload(socket: UdpSocket, config: EchoConfig): string {
  if (config.offload === "off") return "offload off: --offload off";
  return socket.offload.state === "on" ? "offload on" : `offload off: ${socket.offload.reason}`;
}

/**
 * `udp-echo listening on 127.0.0.1:7777 (epoll, …)`; with socket activation every passed
 * address (`0.0.0.0:7 and [::]:7`) and `socket activation` first in the parentheses.
 */
function readyLine(sockets: readonly UdpSocket[], config: EchoConfig, activated: boolean): string {
  const workers = `${config.workers} worker${config.workers === 1 ? "" : "s"}`;
  const addresses = activated
    ? sockets.map((socket) => formatSocketAddress(socket.localAddress))
    : [formatSocketAddress(sockets[0]!.localAddress)];
  return (
    `udp-echo listening on ${addresses.join(" and ")} ` +
    `(${activated ? "socket activation, " : ""}${pollerBackend()}, ${config.reactor} reactor, ${workers}, ` +
    `${describeOffload(sockets[0]!, config)})`
  );
}

/** The ready line's facts, for `--log-format json`. */
function readyFields(sockets: readonly UdpSocket[], config: EchoConfig, activated: boolean) {
  const offload = describeOffload(sockets[0]!, config);
  return {
    event: "ready",
    addresses: (activated ? sockets : sockets.slice(0, 1)).map((socket) => formatSocketAddress(socket.localAddress)),
    socket_activation: activated,
    backend: pollerBackend(),
    reactor: config.reactor,
    workers: config.workers,
    offload: offload === "offload on" ? "on" : "off",
    ...(offload === "offload on" ? {} : { offload_reason: offload.replace(/^offload off: /, "") }),
  };
}

/** Whether this machine allows offload, as `--version` says it: asked of a socket made for the question. */
function offloadHere(): string {
  let probe: UdpSocket;
  try {
    probe = UdpSocket.bind("127.0.0.1:0", { offload: true });
  } catch (error) {
    // --version must answer even where no socket can be made (a sandbox without a network).
    return `offload unknown: ${error instanceof Error ? error.message : String(error)}`;
  }
  using socket = probe;
  return socket.offload.state === "on" ? "offload available" : `offload unavailable: ${socket.offload.reason}`;
}

/** Prints a stats line every `seconds`, of the counters `read` returns. */
function* printStats(read: () => EchoStats, seconds: number): Async<never> {
  let before = read().snapshot();
  let at = now();
  for (;;) {
    yield* sleep(seconds * 1000);
    const current = read();
    const elapsed = now() - at;
    at += elapsed;
    out(formatStatsLine(current, before, elapsed / 1000), {
      event: "stats",
      seconds: elapsed / 1000,
      ...countersOf(current, before),
      tasks: current.get("tasksAlive"),
    });
    before = current.snapshot();
  }
}

/**
 * The counters the console charts: traffic each way, and drops by reason: every `dropped…`
 * counter, so that a new reason is charted without being listed here too.
 */
const CONSOLE_COUNTERS = (Object.keys(Counter) as CounterName[]).filter(
  (name) => name.startsWith("dropped") || name.startsWith("datagrams") || name.startsWith("bytes"),
);

/** `--console`: serves it, and says where; a port already taken ends the server (status 1). */
function openConsole(config: EchoConfig, runtime: Runtime, stats: EchoStats): ConsoleHandle | null {
  if (config.console === null) return null;
  const handle = serveConsole(runtime, {
    ...config.console,
    metrics: () => Object.fromEntries(CONSOLE_COUNTERS.map((name) => [name, stats.get(name)])),
    warn: (line) => err(line.replace(/^bun-reactor/, "udp-echo")),
  });
  out(`console: ${handle.url}`, { event: "console", url: handle.url });
  return handle;
}

/** How often the runtimes' gauges (tasks, registrations, timers) are sampled for `--metrics`. */
const METRICS_SAMPLE_MS = 1000;

/** `--metrics`: serves the blocks from a thread of its own, and says where; a port already taken throws. */
function openMetrics(config: EchoConfig, blocks: readonly SharedBlock[]): MetricsHandle | null {
  if (config.metrics === null) return null;
  const handle = serveMetrics({ ...config.metrics, blocks, warn: (line) => err(line.replace(/^bun-reactor/, "udp-echo")) });
  out(`metrics: ${handle.url}`, { event: "metrics", url: handle.url });
  return handle;
}

/** `Cannot write the trace file trace.json: no such file or directory (ENOENT)`. */
function traceFileError(path: string, error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const reason = code === undefined ? message : `${message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "")} (${code})`;
  return `udp-echo: Cannot write the trace file ${path}: ${reason}`;
}

/**
 * `--trace-file`: the file is made now, empty, so that a path that cannot be written ends the
 * server before it starts, not at exit with the whole trace lost.
 */
function openTraceFile(path: string | null): TraceFile | null {
  if (path === null) return null;
  writeFileSync(path, "");
  return new TraceFile(path);
}

/** Where the service's own messages go (a restart, a refused segmented send): stderr. */
function report(line: string): void {
  err(`udp-echo: ${line}`);
}

/** `--workers 1`: the echo service runs on the main thread's runtime. */
function serveInProcess(
  config: EchoConfig,
  sockets: UdpSocket[],
  signals: SignalWatch,
  activated: boolean,
  placement: ThreadPlacement | null,
): number {
  const printer = config.trace ? new TracePrinter(out) : null;
  let traceFile: TraceFile | null;
  try {
    traceFile = openTraceFile(config.traceFile);
  } catch (error) {
    err(traceFileError(config.traceFile!, error));
    return 1;
  }
  const quiet = { on: false };
  const runtime = new Runtime({
    driver: config.reactor,
    trace: combineHooks(unlessQuiet(printer?.hook, quiet), unlessQuiet(traceFile?.hook, quiet)),
    turnBudgetMs: TURN_BUDGET_MS,
  });
  // In shared memory, for the metrics server thread to read.
  const stats = new EchoStats({ buffer: new SharedArrayBuffer(STATS_BYTES), byteOffset: 0 });
  const runtimeMetricsMemory = config.metrics === null ? null : new SharedArrayBuffer(RUNTIME_METRICS_BYTES);
  let liveConsole: ConsoleHandle | null = null;
  let metrics: MetricsHandle | null = null;
  try {
    liveConsole = openConsole(config, runtime, stats);
    metrics = openMetrics(config, [
      echoMetricsBlock(stats.counters.buffer as SharedArrayBuffer, 0, {}),
      ...(runtimeMetricsMemory === null ? [] : [runtimeMetricsBlock(runtimeMetricsMemory, {})]),
    ]);
  } catch (error) {
    err(`udp-echo: ${error instanceof Error ? error.message : String(error)}`);
    liveConsole?.close();
    runtime.close();
    // The trace file made for this run would hold nothing: it goes too.
    if (traceFile !== null) rmSync(traceFile.path, { force: true });
    return 1;
  }
  // Attached before the warm-up, as the console is, so that the code that counts is compiled
  // with the rest; both count from the service's first step (they forget the warm-up's).
  const runtimeMetrics =
    runtimeMetricsMemory === null
      ? null
      : new RuntimeMetrics(runtime, { memory: runtimeMetricsMemory, sampleEveryMs: METRICS_SAMPLE_MS });
  // Socket activation started the server for a datagram that is already waiting: no warm-up.
  if (!activated) warmUpQuietly(runtime, config, quiet, [liveConsole, runtimeMetrics]);
  let status = 0;
  try {
    runtime.blockOn(
      (function* (): Async<void> {
        const statsPrinter =
          config.statsSeconds === null
            ? null
            : spawn(
                printStats(() => stats, config.statsSeconds),
                { name: "stats printer" },
              );
        // Polled first, before the service's ready line.
        const helperThreads = spawn(keepHelperThreads({ idleCompilers: true, placement }, report), { name: "helper threads" });
        try {
          yield* serveEcho(listenersFor(config, stats, sockets), {
            stop: signals.next(),
            report,
            sampleSeconds: config.statsSeconds,
            summary: out,
            started: () => {
              // The warm-up's garbage and the service's buffers are collected now, before the
              // first client, rather than by the collection their bytes would start after it.
              Bun.gc(true);
              out(readyLine(sockets.slice(0, 1), config, activated), readyFields(sockets.slice(0, 1), config, activated));
            },
          });
        } finally {
          statsPrinter?.cancel();
          helperThreads.cancel();
        }
      })(),
      { name: "async_main" },
    );
  } catch (error) {
    if (!(error instanceof RestartLimitError)) throw error;
    err(`udp-echo: ${error.message}`);
    status = 1;
  }
  out(formatTotals(stats), { event: "totals", ...countersOf(stats, null) });
  if (printer !== null) out(printer.summary());
  liveConsole?.close();
  metrics?.close();
  runtimeMetrics?.close();
  runtime.close();
  try {
    if (traceFile !== null) out(traceFile.write());
  } catch (error) {
    err(traceFileError(traceFile!.path, error));
    status = 1;
  }
  return status;
}

/** `--workers N`: each worker thread runs its own runtime; this thread watches and adds up. */
function serveWithWorkers(
  config: EchoConfig,
  groups: SocketGroups,
  signals: SignalWatch,
  activated: boolean,
  otherCpus: readonly number[] | null,
): number {
  const runtime = new Runtime({ driver: config.reactor });
  const slots = WorkerSlots.allocate(config.workers);
  const stats = (): EchoStats => EchoStats.sum(Array.from({ length: slots.count }, (_, index) => slots.stats(index)));
  // Each worker's poller is opened here and closed here, after the worker has stopped: waking
  // it is then always safe.
  // Each worker's runtime counts its figures into memory of its own, served with its echo's
  // counters, labelled with the worker's number.
  const metricsMemory = groups.map(() => (config.metrics === null ? null : new SharedArrayBuffer(RUNTIME_METRICS_BYTES)));
  let metrics: MetricsHandle | null;
  try {
    metrics = openMetrics(
      config,
      metricsMemory.flatMap((memory, index) => {
        if (memory === null) return []; // no --metrics
        const labels = { worker: String(index) };
        return [
          echoMetricsBlock(slots.memory, slots.stats(index).counters.byteOffset, labels),
          runtimeMetricsBlock(memory, labels),
        ];
      }),
    );
  } catch (error) {
    err(`udp-echo: ${error instanceof Error ? error.message : String(error)}`);
    for (const socket of groups.flat()) socket.close();
    runtime.close();
    return 1;
  }
  const pollers = groups.map(() => Poller.open());
  const workers = groups.map((group, index) => {
    const data: EchoWorkerData = {
      memory: slots.memory,
      workers: slots.count,
      index,
      fds: group.map((socket) => socket.release()),
      config,
      poller: pollers[index]!.handle,
      mainPoller: runtime.pollerHandle,
      metricsMemory: metricsMemory[index]!,
      metricsSampleMs: METRICS_SAMPLE_MS,
    };
    return new Worker(ECHO_WORKER_URL, { workerData: data });
  });
  const status = runtime.blockOn(
    (function* (): Async<number> {
      try {
        yield* timeout(
          remoteCondition(() => slots.all(WorkerState.running) || slots.some(WorkerState.failed, WorkerState.stopped)),
          WORKER_START_MS,
        );
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        err(`udp-echo: the workers did not start within ${WORKER_START_MS} ms`);
        return 1;
      }
      if (!slots.all(WorkerState.running)) return 1; // the worker has said why
      const leaders = groups.map((group) => group[0]!);
      out(readyLine(leaders, config, activated), readyFields(leaders, config, activated));
      const statsPrinter =
        config.statsSeconds === null ? null : spawn(printStats(stats, config.statsSeconds), { name: "stats printer" });
      // With --cpu, each worker has pinned itself: this thread and the engine's go to the rest.
      const loops = new Set(Array.from({ length: slots.count }, (_, index) => slots.thread(index)));
      const helperThreads =
        otherCpus === null
          ? null
          : spawn(keepHelperThreads({ idleCompilers: false, placement: { loops, cpus: otherCpus } }, report), {
              name: "helper threads",
            });
      const ended = yield* select([signals.next(), remoteCondition(() => slots.some(WorkerState.failed, WorkerState.stopped))]);
      statsPrinter?.cancel();
      helperThreads?.cancel();
      slots.requestStop();
      for (const poller of pollers) poller.wake();
      try {
        yield* timeout(
          remoteCondition(() => slots.all(WorkerState.stopped, WorkerState.failed)),
          WORKER_STOP_MS,
        );
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        err(`udp-echo: some workers did not stop within ${WORKER_STOP_MS} ms`);
      }
      return ended.index === 0 && !slots.some(WorkerState.failed) ? 0 : 1;
    })(),
    { name: "async_main" },
  );
  out(formatTotals(stats()), { event: "totals", ...countersOf(stats(), null) });
  const byWorker = Array.from({ length: slots.count }, (_, index) => {
    const worker = slots.stats(index);
    return `worker ${index}: in ${worker.get("datagramsIn")} out ${worker.get("datagramsOut")}`;
  });
  out(`totals by worker: ${byWorker.join(", ")}`, {
    event: "totals_by_worker",
    workers: Array.from({ length: slots.count }, (_, index) => countersOf(slots.stats(index), null)),
  });
  metrics?.close();
  for (const worker of workers) void worker.terminate();
  // A worker still running (it did not stop in time) keeps its poller: the process is ending.
  pollers.forEach((poller, index) => {
    const state = slots.state(index);
    if (state === WorkerState.stopped || state === WorkerState.failed) poller.close();
  });
  runtime.close();
  return status;
}

function main(args: readonly string[]): number {
  let command;
  try {
    command = parseCommandLine(args);
  } catch (error) {
    if (error instanceof UsageError) usageError(error.message);
    throw error;
  }
  if (command.kind === "help") {
    out(USAGE);
    return 0;
  }
  if (command.kind === "version") {
    out(`udp-echo ${packageJson.version} (bun-reactor; Bun ${Bun.version}; ${pollerBackend()}; ${offloadHere()})`);
    return 0;
  }
  setLogFormat(command.config.logFormat);
  let listening: { config: EchoConfig; groups: SocketGroups; activated: boolean };
  try {
    listening = takeSockets(command.config);
  } catch (error) {
    if (error instanceof ActivationError) {
      err(`udp-echo: ${error.message}`);
      return 2;
    }
    if (!(error instanceof SystemError)) throw error;
    err(`udp-echo: ${error.message}${error.code === "EACCES" ? PRIVILEGED_PORT_HINT : ""}`);
    return 1;
  }
  const { config, groups, activated } = listening;
  let otherCpus: number[] | null = null;
  // With --cpu and one worker, this thread is the event loop: on its CPU from the warm-up on.
  let placement: ThreadPlacement | null = null;
  if (config.cpus !== null) {
    if (config.cpus.length !== config.workers) {
      for (const socket of groups.flat()) socket.close();
      usageError(cpuCountMismatch(config.cpus, config.workers));
    }
    try {
      otherCpus = cpusLeftBy(config.cpus);
      if (config.workers === 1) placement = { loops: new Set([pinEventLoop(config.cpus[0]!)]), cpus: otherCpus };
    } catch (error) {
      for (const socket of groups.flat()) socket.close();
      if (!(error instanceof Error)) throw error;
      err(`udp-echo: ${error.message}`);
      return 1;
    }
  }
  const exposed = [...new Set(groups.map((group) => group[0]!.localAddress.host))].filter((host) => !isLoopbackHost(host));
  if (exposed.length > 0 && config.rateLimit === null) {
    err(
      `udp-echo: warning: listening on ${exposed.join(" and ")} without --rate-limit: anyone who can reach it can make it ` +
        "send datagrams to a forged source address (reflection). Set --rate-limit PPS to cap each source.",
    );
  }
  // Watch signals before the ready line: a script that sends SIGTERM after reading it must
  // reach the handler, not the default action.
  using signals = SignalWatch.open(["SIGINT", "SIGTERM"]);
  return config.workers === 1
    ? serveInProcess(config, groups[0]!, signals, activated, placement)
    : serveWithWorkers(config, groups, signals, activated, otherCpus);
}

process.exit(main(process.argv.slice(2)));
