/**
 * Drives a generator function as a future: each `yield*` hands a future to this driver, which
 * polls it with the task's context and resumes the generator with its value once it is ready.
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

/** A future that runs an {@link Async} generator to completion. */
export class AsyncFuture<T> extends Future<T> {
  readonly #generator: Async<T>;
  /** The future the generator is waiting for, or null when it must be resumed. */
  #awaiting: Future<unknown> | null = null;
  /** What to resume the generator with: the awaited value, or an error to throw at the await. */
  #input: unknown = undefined;
  #inputIsError = false;
  #finished = false;

  constructor(generator: Async<T>) {
    super();
    this.#generator = generator;
  }

  poll(cx: Context): Poll<T> {
    for (;;) {
      if (this.#awaiting === null) {
        const step = this.#resume();
        if (step.done === true) {
          this.#finished = true;
          return step.value;
        }
        this.#awaiting = step.value;
        const trace = cx.runtime.trace;
        if (trace !== null) trace(traceEvent("await", { task: cx.taskId, detail: step.value.constructor.name }));
      }
      let value: unknown;
      try {
        value = this.#awaiting.poll(cx);
      } catch (error) {
        // The awaited future failed: it is dropped (releasing what it held), and the error is
        // thrown at the generator's await point.
        dropAfterFailure(this.#awaiting);
        this.#awaiting = null;
        this.#input = error;
        this.#inputIsError = true;
        continue;
      }
      if (value === PENDING) return PENDING;
      this.#awaiting = null;
      this.#input = value;
      if (--cx.budget <= 0 || cx.outOfTime()) {
        // Budget spent (others run first), or the turn's time (it continues first next turn):
        // keep the value for the next poll.
        cx.waker.wake();
        return PENDING;
      }
    }
  }

  #resume(): IteratorResult<Future<unknown>, T> {
    const input = this.#input;
    const isError = this.#inputIsError;
    this.#input = undefined;
    this.#inputIsError = false;
    const step = isError ? this.#generator.throw(input) : this.#generator.next(input);
    if (step.done !== true && !(step.value instanceof Future)) {
      // `yield x` instead of `yield* x`: a mistake in the task's code, reported where it is.
      this.#input = new TypeError(`a task yielded ${String(step.value)}, not a future: await with \`yield*\``);
      this.#inputIsError = true;
      return this.#resume();
    }
    return step;
  }

  /**
   * Abandons the generator: drops the future it awaits, then makes it return, so that its
   * `finally` blocks (and `using` declarations) run. A future yielded from a `finally` block
   * during this is dropped at once: cancellation cannot wait.
   */
  override drop(): void {
    if (this.#finished) return;
    this.#finished = true;
    const awaiting = this.#awaiting;
    this.#awaiting = null;
    try {
      awaiting?.drop();
    } finally {
      // Even if that drop failed, the generator's finally blocks and `using` declarations run.
      this.#closeGenerator();
    }
  }

  #closeGenerator(): void {
    for (let attempt = 0; attempt < CLOSE_ATTEMPTS_MAX; attempt++) {
      const step = this.#generator.return(undefined as T);
      if (step.done === true) return;
      if (step.value instanceof Future) dropAfterFailure(step.value);
    }
    throw new Error(`a cancelled task kept yielding from finally blocks ${CLOSE_ATTEMPTS_MAX} times`);
  }
}

/**
 * The future that runs `awaitable`: itself if it is a future, a driver if it is a generator.
 * Anything else is refused here, naming it, before a task or a combinator is made of it.
 */
export function toFuture<T>(awaitable: Awaitable<T>): Future<T> {
  if (!isAsync(awaitable)) return awaitable;
  if (!isGenerator(awaitable)) throw new TypeError(notAwaitable(awaitable));
  return new AsyncFuture(awaitable);
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
