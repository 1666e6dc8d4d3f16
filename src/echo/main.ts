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
  type Async,
  combineHooks,
  type ConsoleHandle,
  formatSocketAddress,
  isLoopbackHost,
  now,
  remoteCondition,
  Runtime,
  select,
  serveConsole,
  SignalWatch,
  SystemError,
  sleep,
  spawn,
  TimeoutError,
  timeout,
  TraceFile,
  UdpSocket,
} from "../index.ts";
// Worker threads and their pollers: the process's hosting, below the app-facing API.
import { Poller, pollerBackend } from "../internals.ts";
import { workerModuleUrl } from "../sys/locations.ts";
import { type EchoConfig, parseCommandLine, USAGE, UsageError } from "./config.ts";
import { err, out } from "./output.ts";
import { policyFor, serveEcho } from "./service.ts";
import { Counter, type CounterName, EchoStats, formatStatsLine, formatTotals } from "./stats.ts";
import { RestartLimitError } from "./supervisor.ts";
import { TracePrinter } from "./trace-printer.ts";
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

function readyLine(socket: UdpSocket, config: EchoConfig): string {
  const workers = `${config.workers} worker${config.workers === 1 ? "" : "s"}`;
  return (
    `udp-echo listening on ${formatSocketAddress(socket.localAddress)} ` +
    `(${pollerBackend()}, ${config.reactor} reactor, ${workers}, ${describeOffload(socket, config)})`
  );
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
    out(formatStatsLine(current, before, elapsed / 1000));
    before = current.snapshot();
  }
}

/** Binds the server's sockets: one, or one per worker sharing the port (SO_REUSEPORT). */
function bindSockets(config: EchoConfig): UdpSocket[] {
  const options = {
    reusePort: config.workers > 1,
    recvBufferBytes: 4 << 20,
    sendBufferBytes: 4 << 20,
    offload: config.offload === "auto",
  };
  const first = UdpSocket.bind({ host: config.host, port: config.port }, options);
  const sockets = [first];
  try {
    while (sockets.length < config.workers) {
      sockets.push(UdpSocket.bind({ host: config.host, port: first.localAddress.port }, options));
    }
  } catch (error) {
    for (const socket of sockets) socket.close();
    throw error;
  }
  return sockets;
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
  out(`console: ${handle.url}`);
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

/** `--workers 1`: the echo service runs on the main thread's runtime. */
function serveInProcess(config: EchoConfig, socket: UdpSocket, signals: SignalWatch): number {
  const printer = config.trace ? new TracePrinter(out) : null;
  let traceFile: TraceFile | null;
  try {
    traceFile = openTraceFile(config.traceFile);
  } catch (error) {
    err(traceFileError(config.traceFile!, error));
    return 1;
  }
  const runtime = new Runtime({ driver: config.reactor, trace: combineHooks(printer?.hook, traceFile?.hook) });
  const stats = new EchoStats();
  let liveConsole: ConsoleHandle | null;
  try {
    liveConsole = openConsole(config, runtime, stats);
  } catch (error) {
    err(`udp-echo: ${error instanceof Error ? error.message : String(error)}`);
    runtime.close();
    // The trace file made for this run would hold nothing: it goes too.
    if (traceFile !== null) rmSync(traceFile.path, { force: true });
    return 1;
  }
  out(readyLine(socket, config));
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
        try {
          yield* serveEcho(socket, policyFor(config, stats, socket.offload.state === "on"), {
            stop: signals.next(),
            report: (line) => err(`udp-echo: ${line}`),
            sampleSeconds: config.statsSeconds,
            summary: out,
          });
        } finally {
          statsPrinter?.cancel();
        }
      })(),
      { name: "async_main" },
    );
  } catch (error) {
    if (!(error instanceof RestartLimitError)) throw error;
    err(`udp-echo: ${error.message}`);
    status = 1;
  }
  out(formatTotals(stats));
  if (printer !== null) out(printer.summary());
  liveConsole?.close();
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
function serveWithWorkers(config: EchoConfig, sockets: UdpSocket[], signals: SignalWatch): number {
  const runtime = new Runtime({ driver: config.reactor });
  const slots = WorkerSlots.allocate(config.workers);
  const stats = (): EchoStats => EchoStats.sum(Array.from({ length: slots.count }, (_, index) => slots.stats(index)));
  const first = sockets[0]!;
  // Each worker's poller is opened here and closed here, after the worker has stopped: waking
  // it is then always safe.
  const pollers = sockets.map(() => Poller.open());
  const workers = sockets.map((socket, index) => {
    const data: EchoWorkerData = {
      memory: slots.memory,
      workers: slots.count,
      index,
      fd: socket.release(),
      config,
      poller: pollers[index]!.handle,
      mainPoller: runtime.pollerHandle,
    };
    return new Worker(workerModuleUrl("echo/worker"), { workerData: data });
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
      out(readyLine(first, config));
      const statsPrinter =
        config.statsSeconds === null ? null : spawn(printStats(stats, config.statsSeconds), { name: "stats printer" });
      const ended = yield* select([signals.next(), remoteCondition(() => slots.some(WorkerState.failed, WorkerState.stopped))]);
      statsPrinter?.cancel();
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
  out(formatTotals(stats()));
  const byWorker = Array.from({ length: slots.count }, (_, index) => {
    const worker = slots.stats(index);
    return `worker ${index}: in ${worker.get("datagramsIn")} out ${worker.get("datagramsOut")}`;
  });
  out(`totals by worker: ${byWorker.join(", ")}`);
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
  const config = command.config;
  let sockets: UdpSocket[];
  try {
    sockets = bindSockets(config);
  } catch (error) {
    if (!(error instanceof SystemError)) throw error;
    err(`udp-echo: ${error.message}`);
    return 1;
  }
  if (!isLoopbackHost(config.host) && config.rateLimit === null) {
    err(
      `udp-echo: warning: listening on ${config.host} without --rate-limit: anyone who can reach it can make it send ` +
        "datagrams to a forged source address (reflection). Set --rate-limit PPS to cap each source.",
    );
  }
  // Watch signals before the ready line: a script that sends SIGTERM after reading it must
  // reach the handler, not the default action.
  using signals = SignalWatch.open(["SIGINT", "SIGTERM"]);
  return config.workers === 1 ? serveInProcess(config, sockets[0]!, signals) : serveWithWorkers(config, sockets, signals);
}

process.exit(main(process.argv.slice(2)));
