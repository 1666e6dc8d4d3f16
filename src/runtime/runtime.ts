/**
 * The runtime: an executor, a reactor, timers and a driver over one poller, and the entry
 * points that run tasks on them (step 1: "main() creates the executor and spawns async_main").
 *
 * @module
 */
import { Poller, pollerBackend, type PollerHandle } from "../sys/poller.ts";
import type { RuntimeCore } from "./context.ts";
import type { Driver, DriverName } from "./driver.ts";
import { InlineDriver } from "./drivers/inline.ts";
import { ThreadDriver } from "./drivers/thread.ts";
import { Executor, reportUnjoinedError, type SpawnOptions, type UnjoinedErrorHandler } from "./executor.ts";
import type { Awaitable } from "./future.ts";
import type { JoinHandle } from "./join-handle.ts";
import { Reactor } from "./reactor.ts";
import { TimerQueue } from "./timers.ts";
import type { TraceHook } from "./trace.ts";

/** Options of a {@link Runtime}. */
export interface RuntimeOptions {
  /**
   * `"inline"` (default): the executor's thread waits for the OS itself. `"thread"`: a reactor
   * thread waits and hands events to the executor, which sleeps until then.
   */
  readonly driver?: DriverName;
  /** Receives a trace event at each step of the seed's flow. Off by default. */
  readonly trace?: TraceHook | null;
  /** Called when a task fails and nobody joins it; by default its stack goes to stderr. */
  readonly onUnjoinedError?: UnjoinedErrorHandler;
  /** How many OS events one wait may collect (1 to 1024, default 256). */
  readonly eventCapacity?: number;
}

/** Thrown when a runtime is used after `close`, or a runtime function is called outside one. */
export class RuntimeError extends Error {
  override readonly name = "RuntimeError";
}

let current: Runtime | null = null;

/**
 * An async runtime: spawns tasks and polls them itself, waking them through its reactor when
 * the OS reports readiness and through its timers when deadlines pass.
 *
 * @example
 * ```ts
 * using runtime = new Runtime();
 * const value = runtime.blockOn(function* () {
 *   yield* sleep(10);
 *   return 42;
 * }());
 * ```
 */
export class Runtime implements RuntimeCore {
  readonly executor: Executor;
  readonly reactor: Reactor;
  readonly timers = new TimerQueue();
  readonly trace: TraceHook | null;
  readonly #poller: Poller;
  readonly #driver: Driver;
  #closed = false;

  constructor(options: RuntimeOptions = {}) {
    const driverName = options.driver ?? "inline";
    if (driverName !== "inline" && driverName !== "thread") {
      throw new RangeError(`driver "${String(driverName)}" is neither "inline" nor "thread"`);
    }
    this.trace = options.trace ?? null;
    this.#poller = Poller.open();
    const trace = (): TraceHook | null => this.trace;
    this.reactor = new Reactor(this.#poller, trace);
    const capacity = options.eventCapacity ?? 256;
    this.#driver =
      driverName === "thread"
        ? new ThreadDriver(this.#poller, this.reactor, trace, capacity)
        : new InlineDriver(this.#poller, this.reactor, trace, capacity);
    this.executor = new Executor(this, this.#driver, options.onUnjoinedError ?? reportUnjoinedError);
  }

  /**
   * The runtime whose task is running (or whose `blockOn` is on the stack).
   * Throws {@link RuntimeError} outside any runtime.
   */
  static current(): Runtime {
    if (current === null) throw new RuntimeError("no bun-reactor runtime is running here: call this from a task");
    return current;
  }

  /** The driver in use: `"inline"` or `"thread"`. */
  get driverName(): DriverName {
    return this.#driver.name;
  }

  /** The OS poller behind the reactor: `"epoll"` or `"kqueue"`. */
  get backend(): string {
    return pollerBackend();
  }

  /** The poller's descriptors, for another thread to {@link unpark} this runtime. */
  get pollerHandle(): PollerHandle {
    return this.#poller.handle;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #ensureOpen(action: string): void {
    if (this.#closed) throw new RuntimeError(`Cannot ${action}: the runtime is closed`);
  }

  /** Step 1: spawns `awaitable` as a task; it runs when the runtime runs. */
  spawn<T>(awaitable: Awaitable<T>, options?: SpawnOptions): JoinHandle<T> {
    this.#ensureOpen("spawn a task");
    return this.executor.spawn(awaitable, options);
  }

  /**
   * Runs the executor loop on this thread until `awaitable` completes; returns its value or
   * throws its error. Other tasks run meanwhile and stay alive afterwards.
   */
  blockOn<T>(awaitable: Awaitable<T>, options?: SpawnOptions): T {
    const handle = this.spawn(awaitable, options);
    return this.enter(() => this.executor.blockOn(handle));
  }

  /** Runs the executor loop until no task is left. */
  run(): void {
    this.#ensureOpen("run");
    this.enter(() => this.executor.runUntilIdle());
  }

  /** Runs `body` with this runtime as {@link Runtime.current}. Runtimes do not nest. */
  enter<T>(body: () => T): T {
    this.#ensureOpen("run");
    if (current !== null) {
      throw new RuntimeError(
        current === this
          ? "Cannot block on the runtime from inside one of its own tasks"
          : "Cannot run a runtime inside another runtime's task",
      );
    }
    current = this;
    try {
      return body();
    } finally {
      current = null;
    }
  }

  /** Makes a wait of this runtime in the OS return; safe from any thread. */
  unpark(): void {
    this.#driver.unpark();
  }

  /**
   * Cancels every task (their `finally` blocks run), closes every socket still registered,
   * stops the driver's thread if it has one, and closes the poller. Closing twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    if (current === this) throw new RuntimeError("Cannot close the runtime from inside one of its own tasks");
    current = this;
    try {
      this.executor.cancelAll();
      for (const owner of this.reactor.owners()) owner.close();
    } finally {
      current = null;
      this.#closed = true;
      this.#driver.close();
      this.#poller.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Spawns a task on the current runtime, from inside a task.
 *
 * @example
 * ```ts
 * function* main(): Async<void> {
 *   const child = spawn(work());
 *   yield* child;
 * }
 * ```
 */
export function spawn<T>(awaitable: Awaitable<T>, options?: SpawnOptions): JoinHandle<T> {
  return Runtime.current().spawn(awaitable, options);
}
