/**
 * A runtime's figures as Prometheus metrics: tasks alive and ready, registrations, timers (gauges,
 * sampled on the runtime's thread), tasks spawned, polls, wakes by cause, OS events (counters,
 * from the trace hook), and histograms of poll and turn durations (the trace hook times each
 * poll; the executor's `turnObserver` times each turn).
 *
 * The figures live in a {@link SharedBlock}, so a server thread can read them at a scrape
 * without asking the runtime's thread anything. A runtime without `RuntimeMetrics` pays nothing
 * for them: the trace hook and the turn observer are null until one is attached.
 *
 * @module
 */
import {
  type Async,
  combineHooks,
  type JoinHandle,
  now,
  type Runtime,
  sleep,
  type TraceEvent,
  type TraceHook,
} from "../index.ts";
import { formatExposition, type Labels, type MetricFamily } from "./exposition.ts";
import { checkSharedBlock, observe, readSharedBlock, type SharedBlock, type SharedFamily } from "./shared.ts";

/**
 * The upper bounds of the duration histograms, in seconds: from 10 µs (a poll that takes one
 * datagram) to 1 s (a task that blocks its thread).
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

/** What woke a task, as the `cause` label says it (the executor's `WakeCause`, in snake case). */
const WAKE_CAUSES = {
  reactor: "reactor",
  timer: "timer",
  join: "join",
  itself: "itself",
  "another task": "another_task",
  "another thread": "another_thread",
  "outside the runtime": "outside_runtime",
} as const;

const CAUSES = Object.keys(WAKE_CAUSES) as (keyof typeof WAKE_CAUSES)[];
const HISTOGRAM_SLOTS = DURATION_BUCKETS_SECONDS.length + 2;

/** Slot numbers in a runtime's block. */
const Slot = {
  tasksAlive: 0,
  tasksReady: 1,
  registrations: 2,
  timers: 3,
  tasksSpawned: 4,
  polls: 5,
  wakes: 6, // one per cause
  osEvents: 6 + CAUSES.length,
  pollDuration: 7 + CAUSES.length,
  turnDuration: 7 + CAUSES.length + HISTOGRAM_SLOTS,
} as const;

/** The bytes of shared memory one runtime's figures take. */
export const RUNTIME_METRICS_BYTES = (Slot.turnDuration + HISTOGRAM_SLOTS) * 8;

/**
 * The description of a runtime's figures in `memory` (from byte 0), labelled with `labels`: what
 * a server thread needs to read them. {@link RuntimeMetrics} writes them.
 *
 * @example
 * ```ts
 * const memory = new SharedArrayBuffer(RUNTIME_METRICS_BYTES);
 * const block = runtimeMetricsBlock(memory, { worker: "0" });
 * ```
 */
export function runtimeMetricsBlock(memory: SharedArrayBuffer, labels: Labels = {}): SharedBlock {
  if (!(memory instanceof SharedArrayBuffer) || memory.byteLength < RUNTIME_METRICS_BYTES) {
    throw new RangeError(`runtime metrics need a SharedArrayBuffer of at least ${RUNTIME_METRICS_BYTES} bytes`);
  }
  const one = (name: string, help: string, type: "counter" | "gauge", slot: number): SharedFamily => ({
    name,
    help,
    type,
    series: [{ labels, slot }],
  });
  const histogram = (name: string, help: string, slot: number): SharedFamily => ({
    name,
    help,
    type: "histogram",
    bounds: DURATION_BUCKETS_SECONDS,
    series: [{ labels, slot }],
  });
  return checkSharedBlock({
    memory,
    families: [
      one("bun_reactor_tasks_alive", "Tasks spawned and not finished.", "gauge", Slot.tasksAlive),
      one("bun_reactor_tasks_ready", "Tasks on the run queue, waiting for their turn.", "gauge", Slot.tasksReady),
      one("bun_reactor_registrations", "Sources registered with the reactor.", "gauge", Slot.registrations),
      one("bun_reactor_timers", "Timers set and not yet fired.", "gauge", Slot.timers),
      one("bun_reactor_tasks_spawned_total", "Tasks spawned.", "counter", Slot.tasksSpawned),
      one("bun_reactor_polls_total", "Polls of tasks by the executor.", "counter", Slot.polls),
      {
        name: "bun_reactor_wakes_total",
        help: "Tasks woken, by what woke them.",
        type: "counter",
        series: CAUSES.map((cause, index) => ({ labels: { ...labels, cause: WAKE_CAUSES[cause] }, slot: Slot.wakes + index })),
      },
      one("bun_reactor_os_events_total", "Readiness events the OS reported to the reactor.", "counter", Slot.osEvents),
      histogram("bun_reactor_poll_duration_seconds", "How long each poll of a task took.", Slot.pollDuration),
      histogram(
        "bun_reactor_turn_duration_seconds",
        "How long each turn of the executor that polled a task took.",
        Slot.turnDuration,
      ),
    ],
  });
}

/** Options of {@link RuntimeMetrics}. */
export interface RuntimeMetricsOptions {
  /** Labels on every series, e.g. `{ worker: "0" }` (default none). */
  readonly labels?: Labels;
  /** Where to keep the figures (default: a new buffer), for a server thread to read. */
  readonly memory?: SharedArrayBuffer;
  /**
   * Sample the gauges every this many milliseconds in a task of the runtime's (`metrics sampler`),
   * for readers on other threads (100 to 60000). Default none: {@link RuntimeMetrics.collect}
   * samples them, on the runtime's thread.
   */
  readonly sampleEveryMs?: number;
}

/**
 * Counts a runtime's figures from now on, until closed: attaches a trace hook (added to any
 * already there) and the executor's turn observer.
 *
 * @example
 * ```ts
 * using runtime = new Runtime({ driver: "embedded" });
 * using metrics = new RuntimeMetrics(runtime, { labels: { runtime: "main" } });
 * Bun.serve({ port: 9464, fetch: () => new Response(metrics.exposition()) });
 * ```
 */
export class RuntimeMetrics {
  /** The figures' description and memory, for {@link readSharedBlock} on any thread. */
  readonly block: SharedBlock;
  readonly #runtime: Runtime;
  readonly #values: Float64Array;
  /** The runtime's hook while attached: the one it had, then this one's. */
  readonly #hook: TraceHook;
  readonly #previous: TraceHook | null;
  readonly #observer: (ms: number) => void;
  readonly #sampler: JoinHandle<never> | null;
  #pollStartedMs = -1;
  #closed = false;

  constructor(runtime: Runtime, options: RuntimeMetricsOptions = {}) {
    const sampleEveryMs = options.sampleEveryMs;
    if (sampleEveryMs !== undefined && (!Number.isInteger(sampleEveryMs) || sampleEveryMs < 100 || sampleEveryMs > 60_000)) {
      throw new RangeError(`sampleEveryMs ${String(sampleEveryMs)} is not a whole number of milliseconds from 100 to 60000`);
    }
    this.block = runtimeMetricsBlock(options.memory ?? new SharedArrayBuffer(RUNTIME_METRICS_BYTES), options.labels ?? {});
    this.#runtime = runtime;
    this.#values = new Float64Array(this.block.memory, 0, RUNTIME_METRICS_BYTES / 8);
    this.#previous = runtime.trace;
    this.#hook = combineHooks(this.#previous, (event) => this.#count(event))!;
    runtime.trace = this.#hook;
    const values = this.#values;
    this.#observer = (ms) => observe(values, Slot.turnDuration, DURATION_BUCKETS_SECONDS, ms / 1000);
    runtime.executor.turnObserver = this.#observer;
    this.sample();
    this.#sampler =
      sampleEveryMs === undefined ? null : runtime.spawn(sampleEvery(this, sampleEveryMs), { name: "metrics sampler" });
  }

  #count(event: TraceEvent): void {
    const values = this.#values;
    switch (event.kind) {
      case "spawn":
        values[Slot.tasksSpawned]!++;
        return;
      case "poll":
      case "re-poll":
        values[Slot.polls]!++;
        this.#pollStartedMs = now();
        return;
      case "pending":
      case "ready":
        if (this.#pollStartedMs < 0) return; // a poll that began before the metrics were attached
        observe(values, Slot.pollDuration, DURATION_BUCKETS_SECONDS, (now() - this.#pollStartedMs) / 1000);
        this.#pollStartedMs = -1;
        return;
      case "wake": {
        const index = CAUSES.indexOf(event.detail as keyof typeof WAKE_CAUSES);
        if (index >= 0) values[Slot.wakes + index]!++;
        return;
      }
      case "os-event":
        values[Slot.osEvents]!++;
        return;
      default:
    }
  }

  /**
   * Counts anew from zero: the counters and histograms are cleared and the gauges sampled again.
   * For work the runtime did that is not the app's, such as a warm-up before its ready line, run
   * with the metrics attached so that their code is compiled with the rest. A Prometheus
   * scrape sees it as a counter reset. Call it between turns, not from a task.
   *
   * @example
   * ```ts
   * using metrics = new RuntimeMetrics(runtime);
   * runtime.blockOn(warmUp());
   * metrics.forget(); // what the app's clients see starts here
   * ```
   */
  forget(): void {
    if (this.#closed) return;
    this.#values.fill(0);
    this.sample();
  }

  /** Reads the gauges (tasks alive and ready, registrations, timers) into the block. On the runtime's thread. */
  sample(): void {
    if (this.#closed) return;
    const values = this.#values;
    const runtime = this.#runtime;
    values[Slot.tasksAlive] = runtime.executor.alive;
    values[Slot.tasksReady] = runtime.executor.ready;
    values[Slot.registrations] = runtime.reactor.registrations;
    values[Slot.timers] = runtime.timers.size;
  }

  /** The figures now (gauges sampled first): for {@link formatExposition} or a `prom-client` registry. */
  collect(): MetricFamily[] {
    this.sample();
    return readSharedBlock(this.block);
  }

  /** The figures now, in Prometheus' text format. */
  exposition(): string {
    return formatExposition(this.collect());
  }

  /** Stops counting: the hook and the observer are removed (if still the runtime's), the sampler cancelled. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sampler?.cancel();
    const runtime = this.#runtime;
    if (runtime.executor.turnObserver === this.#observer) runtime.executor.turnObserver = null;
    if (runtime.trace === this.#hook) runtime.trace = this.#previous;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function* sampleEvery(metrics: RuntimeMetrics, intervalMs: number): Async<never> {
  for (;;) {
    yield* sleep(intervalMs);
    metrics.sample();
  }
}
