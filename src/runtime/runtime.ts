/**
 * The runtime: an executor, a reactor, timers and a driver over one poller, and the entry
 * points that run tasks on them (step 1: "main() creates the executor and spawns async_main").
 *
 * @module
 */
import { Poller, pollerBackend, type PollerHandle } from "../sys/poller.ts";
import type { RuntimeCore } from "./context.ts";
import type { Driver, DriverName } from "./driver.ts";
import { EmbeddedDriver } from "./drivers/embedded.ts";
import { InlineDriver } from "./drivers/inline.ts";
import { ThreadDriver } from "./drivers/thread.ts";
import { Executor, reportUnjoinedError, type SpawnOptions, type UnjoinedErrorHandler } from "./executor.ts";
import type { Awaitable } from "./future.ts";
import type { JoinHandle } from "./join-handle.ts";
import { Reactor } from "./reactor.ts";
import { now, TimerQueue } from "./timers.ts";
import type { TraceHook } from "./trace.ts";

/** Options of a {@link Runtime}. */
export interface RuntimeOptions {
  /**
   * `"inline"` (default): the executor's thread waits for the OS itself. `"thread"`: a reactor
   * thread waits and hands events to the executor, which sleeps until then. `"embedded"`: the
   * runtime runs inside a Bun app, in turns on Bun's event loop, and never blocks it; tasks are
   * started with `spawn` and awaited with `JoinHandle.promise()` (there is no `blockOn`).
   */
  readonly driver?: DriverName;
  /** Receives a trace event at each step of the seed's flow. Off by default. */
  readonly trace?: TraceHook | null;
  /** Called when a task fails and nobody joins it; by default its stack goes to stderr. */
  readonly onUnjoinedError?: UnjoinedErrorHandler;
  /** How many OS events one wait may collect (1 to 1024, default 256). */
  readonly eventCapacity?: number;
  /**
   * A poller opened elsewhere to run on, instead of a new one: typically opened by another
   * thread, which keeps the right to wake this runtime (`Poller.wake`) for as long as it keeps
   * the poller open. The runtime does not close it.
   */
  readonly poller?: PollerHandle;
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
  readonly #embedded: EmbeddedDriver | null = null;
  #closed = false;
  #turnScheduled = false;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(options: RuntimeOptions = {}) {
    const driverName = options.driver ?? "inline";
    if (driverName !== "inline" && driverName !== "thread" && driverName !== "embedded") {
      throw new RangeError(`driver "${String(driverName)}" is not "inline", "thread" or "embedded"`);
    }
    this.trace = options.trace ?? null;
    this.#poller = options.poller === undefined ? Poller.open() : Poller.borrow(options.poller);
    this.reactor = new Reactor(this.#poller, this);
    const capacity = options.eventCapacity ?? 256;
    if (driverName === "embedded") {
      this.#embedded = new EmbeddedDriver(this.#poller, this.reactor, this, capacity);
      this.#driver = this.#embedded;
    } else if (driverName === "thread") {
      this.#driver = new ThreadDriver(this.#poller, this.reactor, this, capacity);
    } else {
      this.#driver = new InlineDriver(this.#poller, this.reactor, this, capacity);
    }
    this.executor = new Executor(this, this.#driver, options.onUnjoinedError ?? reportUnjoinedError);
    if (this.#embedded !== null) this.executor.onActivity = () => this.#scheduleTurn();
  }

  /**
   * The runtime whose task is running (or whose `blockOn` is on the stack).
   * Throws {@link RuntimeError} outside any runtime.
   */
  static current(): Runtime {
    if (current === null) throw new RuntimeError("no bun-reactor runtime is running here: call this from a task");
    return current;
  }

  /** The driver in use: `"inline"`, `"thread"` or `"embedded"`. */
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
    this.#ensureBlockingAllowed("blockOn");
    const handle = this.spawn(awaitable, options);
    return this.enter(() => this.executor.blockOn(handle));
  }

  /** Runs the executor loop until no task is left. */
  run(): void {
    this.#ensureOpen("run");
    this.#ensureBlockingAllowed("run");
    this.enter(() => this.executor.runUntilIdle());
  }

  #ensureBlockingAllowed(method: string): void {
    if (this.#embedded !== null) {
      throw new RuntimeError(
        `${method}() would block Bun's event loop: an embedded runtime runs by itself; await handle.promise()`,
      );
    }
  }

  /** Embedded: runs a turn soon, on Bun's event loop. */
  #scheduleTurn(): void {
    if (this.#turnScheduled || this.#closed) return;
    this.#turnScheduled = true;
    setImmediate(() => this.#turn());
  }

  /**
   * Embedded: one turn of the executor loop that never blocks. It runs the ready tasks, takes
   * what the reactor thread handed over and fires due timers; then either schedules the next
   * turn (tasks are ready) or arms what will: the handoff watch and a timer for the earliest
   * deadline. The reactor thread keeps the process alive exactly while tasks are alive.
   */
  #turn(): void {
    this.#turnScheduled = false;
    if (this.#closed) return;
    try {
      this.enter(() => {
        this.executor.runReady();
        this.executor.park(0);
      });
    } catch (error) {
      // Thrown from setImmediate, this would take the host app down: report it and close.
      const detail = error instanceof Error ? (error.stack ?? String(error)) : String(error);
      console.error(`bun-reactor: the embedded runtime failed and was closed:\n${detail}`);
      this.close();
      return;
    }
    const embedded = this.#embedded!;
    embedded.keepAlive(this.executor.alive > 0);
    if (this.executor.ready > 0) return this.#scheduleTurn();
    embedded.watch(() => this.#scheduleTurn());
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const timeoutMs = this.timers.timeoutMs(now(), -1);
    if (timeoutMs >= 0) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#scheduleTurn();
      }, timeoutMs);
      // The reactor thread is what keeps the process alive; a timer alone need not.
      this.#timer.unref();
    }
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
    let failure: { error: unknown } | null = null;
    try {
      this.executor.cancelAll();
      // Every owner is closed, even if one fails; the first failure is thrown at the end.
      for (const owner of this.reactor.owners()) {
        try {
          owner.close();
        } catch (error) {
          failure ??= { error };
        }
      }
    } finally {
      current = null;
      this.#closed = true;
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#driver.close();
      this.#poller.close();
    }
    if (failure !== null) throw failure.error;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the runtime and waits until its reactor thread, if it has one, has ended. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#embedded?.closed();
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
