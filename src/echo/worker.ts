/**
 * The entry of an echo worker thread (`--workers N`): a runtime of its own, serving the sockets
 * the main thread bound for it, until the main thread asks it to stop.
 *
 * @module
 */
import { workerData } from "node:worker_threads";
import { remoteCondition, Runtime, UdpSocket } from "../index.ts";
import { Poller, type PollerHandle } from "../internals.ts";
import { RuntimeMetrics } from "../metrics/index.ts";
import type { EchoConfig } from "./config.ts";
import { pinEventLoop } from "./helper-threads.ts";
import { err, out, setLogFormat } from "./output.ts";
import { listenersFor, serveEcho, TURN_BUDGET_MS } from "./service.ts";
import { TracePrinter } from "./trace-printer.ts";
import { WorkerSlots, WorkerState } from "./worker-slots.ts";

/**
 * What the main thread gives each worker. The main thread opens the worker's poller and closes
 * it only after the worker has stopped, so that it can always wake the worker safely.
 */
export interface EchoWorkerData {
  readonly memory: SharedArrayBuffer;
  readonly workers: number;
  readonly index: number;
  /** The descriptors of the worker's sockets: the one on the address asked for first. */
  readonly fds: readonly number[];
  readonly config: EchoConfig;
  readonly poller: PollerHandle;
  readonly mainPoller: PollerHandle;
  /** Where this worker's runtime counts its figures for `--metrics`, or null without it. */
  readonly metricsMemory: SharedArrayBuffer | null;
  readonly metricsSampleMs: number;
}

const data = workerData as EchoWorkerData;
setLogFormat(data.config.logFormat);
const slots = new WorkerSlots(data.memory, data.workers);
const mainPoller = Poller.borrow(data.mainPoller);
let state: number = WorkerState.failed;

try {
  // With --cpu, this thread is an event loop: alone on its CPU (the main thread moves the rest).
  if (data.config.cpus !== null) slots.setThread(data.index, pinEventLoop(data.config.cpus[data.index]!));
  const printer = data.config.trace ? new TracePrinter(out, { prefix: `trace[worker ${data.index}]` }) : null;
  using runtime = new Runtime({
    driver: data.config.reactor,
    trace: printer?.hook ?? null,
    poller: data.poller,
    turnBudgetMs: TURN_BUDGET_MS,
  });
  using metrics =
    data.metricsMemory === null
      ? null
      : new RuntimeMetrics(runtime, {
          memory: data.metricsMemory,
          labels: { worker: String(data.index) },
          sampleEveryMs: data.metricsSampleMs,
        });
  using sockets = new DisposableStack();
  // What each descriptor reports of its datagrams stays on: the wildcard socket's destinations.
  const taken = data.fds.map((fd) => sockets.use(UdpSocket.fromDescriptor(fd, { offload: data.config.offload === "auto" })));
  slots.setState(data.index, WorkerState.running);
  mainPoller.wake();
  runtime.blockOn(
    serveEcho(listenersFor(data.config, slots.stats(data.index), taken), {
      stop: remoteCondition(() => slots.stopRequested),
      report: (line) => err(`udp-echo: worker ${data.index}: ${line}`),
      sampleSeconds: data.config.statsSeconds,
    }),
  );
  if (printer !== null) out(printer.summary());
  state = WorkerState.stopped;
} catch (error) {
  err(`udp-echo: worker ${data.index} failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  slots.setState(data.index, state);
  try {
    mainPoller.wake();
  } catch {
    // The main thread has already stopped waiting (and closed its poller): nothing to tell.
  }
}
