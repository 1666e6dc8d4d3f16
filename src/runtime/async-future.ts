/**
 * Drives a generator function: each `yield*` hands a future to {@link pollGenerator}, which
 * polls it with the task's context and resumes the generator with its value once it is ready.
 * A task spawned from a generator runs it so itself; {@link AsyncFuture} wraps one as a future
 * for the combinators.
 * This is how step 3 ("the task runs async_main() and awaits recv_from()") and step 11 ("the
 * task resumes at its .await point") happen here.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { type Async, type Awaitable, dropAfterFailure, Future, isAsync, PENDING, type Poll } from "./future.ts";
import { traceEvent } from "./trace.ts";

/** The most times a generator that keeps yielding from `finally` is asked to return. */
const CLOSE_ATTEMPTS_MAX = 1000;

/**
 * A generator being run: the generator, the future it awaits and what to resume it with. An
 * {@link AsyncFuture} is one, for a generator that a combinator awaits; a task spawned from a
 * generator is one too, so that it costs no driver object of its own.
 */
export interface GeneratorRun<T> {
  readonly generator: Async<T>;
  /** The future the generator is waiting for, or null when it must be resumed. */
  awaiting: Future<unknown> | null;
  /**
   * What to resume the generator with: the awaited value, or a {@link ThrownAtAwait} holding an
   * error to throw at the await (a field fewer per task than a flag; errors are the rare path).
   */
  input: unknown;
}

/** An error to throw at a generator's await point, as a {@link GeneratorRun}'s input. */
class ThrownAtAwait {
  readonly error: unknown;

  constructor(error: unknown) {
    this.error = error;
  }
}

/**
 * Runs `run`'s generator until it returns (its value) or waits for a future that is not ready
 * ({@link PENDING}), polling the futures it awaits with `cx`. An error thrown by a future it
 * awaits is thrown into the generator at that await; one the generator throws is thrown from here.
 *
 * @example
 * ```ts
 * const run: GeneratorRun<number> = { generator: main(), awaiting: null, input: undefined };
 * const value = pollGenerator(run, cx); // a number, or PENDING
 * ```
 */
export function pollGenerator<T>(run: GeneratorRun<T>, cx: Context): Poll<T> {
  for (;;) {
    try {
      return stepGenerator(run, cx);
    } catch (error) {
      if (run.awaiting === null) throw error; // the generator's own
      awaitFailed(run, error);
    }
  }
}

/**
 * {@link pollGenerator} without its error handling, which its caller does: it holds no
 * `try`, so that JavaScriptCore can inline it where it is called (a task's poll, a generator's
 * future). It throws whatever is thrown in it; the error came from the future awaited if
 * `run.awaiting` is not null then (hand it to {@link awaitFailed}), else from the generator.
 *
 * @example
 * ```ts
 * try {
 *   return stepGenerator(run, cx);
 * } catch (error) {
 *   if (run.awaiting === null) throw error;
 *   awaitFailed(run, error); // thrown into the generator at its next step
 * }
 * ```
 */
export function stepGenerator<T>(run: GeneratorRun<T>, cx: Context): Poll<T> {
  // What to resume the generator with: the value it was waiting for, kept in a local from one
  // await to the next (not in `run`, unless the poll stops between the two).
  let input: unknown;
  const waiting = run.awaiting;
  if (waiting === null) {
    input = run.input;
    run.input = undefined;
  } else {
    input = waiting.poll(cx);
    if (input === PENDING) return PENDING;
    run.awaiting = null;
    if (cx.readyAwait()) return stopBeforeResuming(run, input, cx);
  }
  for (;;) {
    const step = input instanceof ThrownAtAwait ? run.generator.throw(input.error) : run.generator.next(input);
    // The step is read once: whether it is done, then its value.
    const awaited = step.value;
    if (step.done === true) return awaited as T;
    if (!(awaited instanceof Future)) {
      input = yieldedNotAFuture(awaited);
      continue;
    }
    // (Traced before the future is the one awaited: a failing hook is not the future's error.)
    if (cx.runtime.trace !== null) traceAwait(cx, awaited);
    // Set while it is polled: an error thrown now is the future's, not the generator's.
    run.awaiting = awaited;
    input = awaited.poll(cx);
    if (input === PENDING) return PENDING;
    run.awaiting = null;
    if (cx.readyAwait()) return stopBeforeResuming(run, input, cx);
  }
}

/**
 * The budget is spent (others run first), or the turn's time (it continues first next turn):
 * the poll stops with the value the generator waited for kept for its next poll.
 */
function stopBeforeResuming(run: GeneratorRun<unknown>, value: unknown, cx: Context): typeof PENDING {
  run.input = value;
  cx.waker.wake();
  return PENDING;
}

/**
 * The future `run` awaits threw `error`: it is dropped (releasing what it held), and the error
 * is thrown into the generator at its await point, at its next step.
 *
 * @example
 * ```ts
 * awaitFailed(run, new Error("the socket was closed"));
 * ```
 */
export function awaitFailed(run: GeneratorRun<unknown>, error: unknown): void {
  dropAfterFailure(run.awaiting!);
  run.awaiting = null;
  run.input = new ThrownAtAwait(error);
}

/** `yield x` instead of `yield* x`: a mistake in the task's code, thrown where it is. */
function yieldedNotAFuture(value: unknown): ThrownAtAwait {
  return new ThrownAtAwait(new TypeError(`a task yielded ${String(value)}, not a future: await with \`yield*\``));
}

function traceAwait(cx: Context, future: Future<unknown>): void {
  cx.runtime.trace?.(traceEvent("await", { task: cx.taskId, detail: future.constructor.name }));
}

/**
 * Abandons `run`'s generator: drops the future it awaits, then makes it return, so that its
 * `finally` blocks (and `using` declarations) run. A future yielded from a `finally` block
 * during this is dropped at once: cancellation cannot wait. Once the generator has finished,
 * this costs one `return()` that does nothing (no flag per generator to spare it).
 *
 * @example
 * ```ts
 * dropGenerator(run); // its finally blocks have run
 * ```
 */
export function dropGenerator(run: GeneratorRun<unknown>): void {
  const awaiting = run.awaiting;
  run.awaiting = null;
  try {
    awaiting?.drop();
  } finally {
    // Even if that drop failed, the generator's finally blocks and `using` declarations run.
    closeGenerator(run.generator);
  }
}

function closeGenerator(generator: Async<unknown>): void {
  for (let attempt = 0; attempt < CLOSE_ATTEMPTS_MAX; attempt++) {
    const step = generator.return(undefined);
    if (step.done === true) return;
    if (step.value instanceof Future) dropAfterFailure(step.value);
  }
  throw new Error(`a cancelled task kept yielding from finally blocks ${CLOSE_ATTEMPTS_MAX} times`);
}

/**
 * A future that runs an {@link Async} generator to completion, for a combinator that awaits a
 * generator (a task runs its own generator, with the same fields). It is its own
 * {@link GeneratorRun}: one object per generator awaited.
 */
export class AsyncFuture<T> extends Future<T> implements GeneratorRun<T> {
  readonly generator: Async<T>;
  awaiting: Future<unknown> | null = null;
  input: unknown = undefined;

  constructor(generator: Async<T>) {
    super();
    this.generator = generator;
  }

  poll(cx: Context): Poll<T> {
    return pollGenerator(this, cx);
  }

  /** Abandons the generator; its `finally` blocks run (see {@link dropGenerator}). */
  override drop(): void {
    dropGenerator(this);
  }
}

/**
 * The future that runs `awaitable`: itself if it is a future, a driver if it is a generator.
 * Anything else is refused here, naming it, before a task or a combinator is made of it.
 */
export function toFuture<T>(awaitable: Awaitable<T>): Future<T> {
  const generator = generatorOf(awaitable);
  return generator === null ? (awaitable as Future<T>) : new AsyncFuture(generator);
}

/**
 * `awaitable` as a generator, or null if it is a future; anything else is refused, naming it.
 *
 * @example
 * ```ts
 * generatorOf(main()); // the generator
 * generatorOf(sleep(10)); // null: a future
 * generatorOf(main); // TypeError: function main is not a future or a generator: call the generator function…
 * ```
 */
export function generatorOf<T>(awaitable: Awaitable<T>): Async<T> | null {
  if (!isAsync(awaitable)) return null;
  if (!isGenerator(awaitable)) throw new TypeError(notAwaitable(awaitable));
  return awaitable;
}

function isGenerator(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<Record<"next" | "throw" | "return", unknown>>;
  return typeof candidate.next === "function" && typeof candidate.throw === "function" && typeof candidate.return === "function";
}

function notAwaitable(value: unknown): string {
  if (typeof value === "function") {
    const name = value.name === "" ? "an anonymous function" : `function ${value.name}`;
    return `${name} is not a future or a generator: call the generator function to make one (main(), not main)`;
  }
  if (value instanceof Promise) return "a Promise is not a future: wrap it with fromPromise(promise) to await it in a task";
  return `${String(value)} is not a future or a generator (a task awaits futures and generators, with yield*)`;
}
