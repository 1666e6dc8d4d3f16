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
import { EMBEDDED_TURN_BUDGET_MS, EmbeddedHost } from "./embedded-host.ts";
import { Executor, type SpawnOptions, type UnjoinedErrorHandler } from "./executor.ts";
import type { Awaitable } from "./future.ts";
import type { JoinHandle } from "./join-handle.ts";
import { Reactor } from "./reactor.ts";
import { now, TimerQueue } from "./timers.ts";
import type { TraceHook } from "./trace.ts";
import { checkTurnBudget } from "./turn.ts";

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
  /**
   * How long one turn may poll tasks, in milliseconds, before the runtime checks the OS and
   * (embedded) lets Bun's event loop run; the tasks not yet polled continue next turn, in order.
   * Default 0.1 for `"embedded"`, `Infinity` (no limit: every ready task, every turn) otherwise.
   * A smaller budget lets the host answer sooner under load; a larger one spends less on
   * switching (see docs/embedding.md, "Sharing Bun's thread").
   */
  readonly turnBudgetMs?: number;
  /** The clock the turn budget is measured with, in milliseconds (default `performance.now`). */
  readonly turnClock?: () => number;
}

/** Thrown when a runtime is used after `close`, or a runtime function is called outside one. */
export class RuntimeError extends Error {
  override readonly name = "RuntimeError";
}

let current: Runtime | null = null;

/** The largest `eventCapacity`: what one wait of the library can return. */
const EVENT_CAPACITY_MAX = 1024;

function checkEventCapacity(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > EVENT_CAPACITY_MAX) {
    throw new RangeError(`eventCapacity ${String(capacity)} is not a whole number from 1 to ${EVENT_CAPACITY_MAX}`);
  }
  return capacity;
}

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
  /**
   * The trace hook, read at each place that may emit. It may be changed while the runtime runs
   * (the console adds its own), from the runtime's thread.
   */
  trace: TraceHook | null;
  readonly #poller: Poller;
  readonly #driver: Driver;
  readonly #driverName: DriverName;
  /** The reactor thread of the thread and embedded drivers, awaited by `asyncDispose`. */
  readonly #thread: ThreadDriver | null = null;
  readonly #host: EmbeddedHost | null = null;
  #closed = false;
  /** Set while `close` cancels the tasks: a task spawned then (from a `finally`) is cancelled. */
  #closing = false;

  constructor(options: RuntimeOptions = {}) {
    const driverName = options.driver ?? "inline";
    if (driverName !== "inline" && driverName !== "thread" && driverName !== "embedded") {
      throw new RangeError(`driver "${String(driverName)}" is not "inline", "thread" or "embedded"`);
    }
    const turnBudgetMs = checkTurnBudget(
      options.turnBudgetMs ?? (driverName === "embedded" ? EMBEDDED_TURN_BUDGET_MS : Infinity),
    );
    // Checked before the poller is opened: a bad value must not cost descriptors.
    const capacity = checkEventCapacity(options.eventCapacity ?? 256);
    for (const name of ["trace", "onUnjoinedError"] as const) {
      const hook: unknown = options[name];
      if (hook !== undefined && hook !== null && typeof hook !== "function") {
        throw new TypeError(`Runtime option ${name} ${String(hook)} is not a function`);
      }
    }
    this.#driverName = driverName;
    this.trace = options.trace ?? null;
    this.#poller = options.poller === undefined ? Poller.open() : Poller.borrow(options.poller);
    this.reactor = new Reactor(this.#poller, this);
    if (driverName === "inline") {
      this.#driver = new InlineDriver(this.#poller, this.reactor, this, capacity);
    } else {
      this.#thread = new ThreadDriver(this.#poller, this.reactor, this, capacity);
      this.#driver = this.#thread;
    }
    this.executor = new Executor(this, this.#driver, {
      onUnjoinedError: options.onUnjoinedError,
      turnBudgetMs,
      clock: options.turnClock,
    });
    if (driverName === "embedded") this.#host = new EmbeddedHost(this, this.#thread!);
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
    return this.#driverName;
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

  /** How many tasks have been spawned and have not finished. */
  get tasksAlive(): number {
    return this.executor.alive;
  }

  #ensureOpen(action: string): void {
    if (this.#closed) throw new RuntimeError(`Cannot ${action}: the runtime is closed`);
  }

  /** Step 1: spawns `awaitable` as a task; it runs when the runtime runs. */
  spawn<T>(awaitable: Awaitable<T>, options?: SpawnOptions): JoinHandle<T> {
    this.#ensureOpen("spawn a task");
    const handle = this.executor.spawn(awaitable, options);
    // Spawned from a `finally` block while `close` cancels everything: it would never run.
    if (this.#closing) handle.cancel();
    return handle;
  }

  /**
   * Runs the executor loop on this thread until `awaitable` completes; returns its value or
   * throws its error. Other tasks run meanwhile and stay alive afterwards.
   */
  blockOn<T>(awaitable: Awaitable<T>, options?: SpawnOptions): T {
    this.#ensureBlockingAllowed("blockOn");
    // Refused before the spawn: the awaitable must not run if blockOn cannot.
    this.#ensureOpen("run");
    ensureOutsideTasks(this);
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
    if (this.#host !== null) {
      throw new RuntimeError(
        `${method}() would block Bun's event loop: an embedded runtime runs by itself; await handle.promise()`,
      );
    }
  }

  /**
   * One turn of the executor loop that never blocks (libxev's `run(.no_wait)`): polls the
   * ready tasks, takes the OS events already there and fires the due timers; with a turn
   * budget, again and again while tasks are ready, until the budget is spent. Returns how long
   * the caller may wait before the next turn: 0 if tasks are ready, the milliseconds until the
   * earliest timer, or -1 if only I/O (or another thread) can wake a task. An embedded
   * runtime's turns are run by Bun's event loop (`embedded-host.ts`); with another driver, an
   * app that runs its own loop may call this instead of `run()`.
   *
   * @example
   * ```ts
   * using runtime = new Runtime();
   * runtime.spawn(work());
   * while (runtime.tasksAlive > 0) {
   *   const waitMs = runtime.turn();
   *   if (waitMs > 0) Bun.sleepSync(Math.min(waitMs, 1)); // the app's own work goes here
   * }
   * ```
   */
  turn(): number {
    return this.enter(this.#turnBody);
  }

  /** The body of {@link turn}, made once: an embedded runtime runs thousands of turns a second. */
  readonly #turnBody = (): number => {
    this.executor.runTurn();
    return this.executor.ready > 0 ? 0 : this.timers.timeoutMs(now(), -1);
  };

  /** Runs `body` with this runtime as {@link Runtime.current}. Runtimes do not nest. */
  enter<T>(body: () => T): T {
    this.#ensureOpen("run");
    ensureOutsideTasks(this);
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
    // Closing runtime B from a task of runtime A: B is current while its tasks' finally blocks
    // run, then A is again.
    const previous = current;
    current = this;
    this.#closing = true;
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
      current = previous;
      this.#closing = false;
      this.#closed = true;
      this.#host?.close();
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
    await this.#thread?.terminated();
  }
}

/** Refuses to run `runtime` where a runtime is running already: runtimes do not nest. */
function ensureOutsideTasks(runtime: Runtime): void {
  if (current === null) return;
  throw new RuntimeError(
    current === runtime
      ? "Cannot block on the runtime from inside one of its own tasks"
      : "Cannot run a runtime inside another runtime's task",
  );
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
