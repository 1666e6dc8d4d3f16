/**
 * Futures: values that are not ready yet, polled by the executor (the seed's `Future` trait).
 *
 * A future's {@link Future.poll} either returns its value or returns {@link PENDING} after it
 * has arranged for `cx.waker` to be woken when polling again could make progress. It is never
 * driven by Promises or the microtask queue: only the executor calls `poll`.
 *
 * Tasks are written as generator functions, and `yield*` plays the part of Rust's `.await`:
 *
 * ```ts
 * function* echoOnce(socket: UdpSocket): Async<void> {
 *   const { bytes, peer } = yield* socket.recvFrom(buffer); // await
 *   yield* socket.sendTo(bytes, peer);
 * }
 * ```
 *
 * `yield*` on a future hands the future itself to the executor, which polls it with the task's
 * {@link Context} until it is ready and then resumes the generator with its value.
 *
 * @module
 */
import type { Context } from "./context.ts";

/**
 * The two results of the iterator protocol behind `yield*`, shared by every future: `yield*`
 * passes the first straight out of the generator to the executor, which reads it at once, and
 * reads the value of the second at once, so one object of each serves every await.
 */
const handedOver: { done: false; value: Future<unknown> | null } = { done: false, value: null };
const resumed: { done: true; value: unknown } = { done: true, value: undefined };

/** `yield*`'s first result: hands `future` to the executor (shared; see {@link handedOver}). */
export function handOver(future: Future<unknown>): IteratorYieldResult<Future<unknown>> {
  handedOver.value = future;
  return handedOver as IteratorYieldResult<Future<unknown>>;
}

/** `yield*`'s last result: the value the executor resumed the awaiting generator with (shared). */
export function resumeWith<T>(value: unknown): IteratorReturnResult<T> {
  resumed.value = value;
  return resumed as IteratorReturnResult<T>;
}

/** Returned by {@link Future.poll} when the value is not ready: Rust's `Poll::Pending`. */
export const PENDING: unique symbol = Symbol("Pending");

/** What a poll returns: the value, or {@link PENDING}. */
export type Poll<T> = T | typeof PENDING;

/**
 * An async computation written as a generator function; `yield*` awaits a future or another
 * `Async`, and the generator's return value is the result.
 */
export type Async<T> = Generator<Future<unknown>, T, unknown>;

/**
 * A value that becomes ready later, polled by the executor.
 *
 * @example
 * ```ts
 * // A future that is ready on its second poll.
 * class Twice extends Future<string> {
 *   #polled = false;
 *   poll(cx: Context): Poll<string> {
 *     if (this.#polled) return "done";
 *     this.#polled = true;
 *     cx.waker.wake(); // ask to be polled again
 *     return PENDING;
 *   }
 * }
 * ```
 */
export abstract class Future<T> {
  /**
   * Makes progress: returns the value, or {@link PENDING} after arranging for `cx.waker` to
   * be woken. Called again after a wake; a wake can be spurious, so polling must be safe at
   * any time. A future is not polled again after it returned its value.
   */
  abstract poll(cx: Context): Poll<T>;

  /**
   * Abandons a pending future (its task was cancelled, a `select` chose another, a `timeout`
   * expired): it must release what its polls registered, such as a waker stored in the reactor
   * or a timer. Dropping a future that holds nothing does nothing.
   */
  drop(): void {}

  /**
   * Where an await of this future is: 0 before it was handed to the executor, 1 after. The
   * future is its own iterator for `yield*` (instead of a generator made for every await), so
   * that awaiting allocates nothing on the hot path.
   */
  #awaitStage = 0;

  /** Whether a task is awaiting this future now (handed over, not yet resumed). */
  protected get awaited(): boolean {
    return this.#awaitStage !== 0;
  }

  /**
   * Lets a generator await this future with `yield*`. A future is awaited by one task at a
   * time, as in Rust, where a future has one owner: awaiting it from a second task while the
   * first still waits is a mistake, reported here rather than left to lose a value. (A
   * `JoinHandle` is the exception: many tasks may join one task.)
   */
  [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    if (this.#awaitStage !== 0) {
      throw new TypeError(
        `this ${this.constructor.name} is already being awaited: a future is awaited by one task at a time ` +
          "(to share a result between tasks, spawn a task and share its JoinHandle)",
      );
    }
    return this as unknown as Iterator<Future<unknown>, T, unknown>;
  }

  /**
   * The iterator protocol behind `yield*`: the first call hands this future to the executor,
   * the second returns the value the executor resumed the generator with. Not for direct use.
   */
  next(value?: unknown): IteratorResult<Future<unknown>, T> {
    if (this.#awaitStage === 0) {
      this.#awaitStage = 1;
      return handOver(this);
    }
    this.#awaitStage = 0;
    return resumeWith<T>(value);
  }

  /** The iterator protocol: an error the executor throws at the await point. Not for direct use. */
  throw(error?: unknown): never {
    this.#awaitStage = 0;
    throw error;
  }

  /** The iterator protocol: the awaiting generator is being closed. Not for direct use. */
  return(value?: unknown): IteratorResult<Future<unknown>, T> {
    this.#awaitStage = 0;
    return { done: true, value: value as T };
  }
}

/**
 * Drops `future` while an error is already on its way: a future whose poll throws may still
 * hold what an earlier poll registered, and whoever polled it releases that. A failure of the
 * drop itself must not hide the first error, so it is ignored here.
 */
export function dropAfterFailure(future: Future<unknown>): void {
  try {
    future.drop();
  } catch {
    // the error being thrown already is the one to report
  }
}

/** Anything a task can run or a combinator can wait for. */
export type Awaitable<T> = Future<T> | Async<T>;

/**
 * A future from a poll function: the seed's `poll_fn`. The function is called with the
 * task's context on every poll; `drop` is called if the future is abandoned while pending.
 *
 * @example
 * ```ts
 * let ready = false;
 * const flag = pollFn<string>((cx) => (ready ? "ready" : PENDING));
 * ```
 */
export function pollFn<T>(poll: (cx: Context) => Poll<T>, drop?: () => void): Future<T> {
  return new PollFn(poll, drop);
}

class PollFn<T> extends Future<T> {
  readonly #poll: (cx: Context) => Poll<T>;
  readonly #drop: (() => void) | undefined;

  constructor(poll: (cx: Context) => Poll<T>, drop: (() => void) | undefined) {
    super();
    this.#poll = poll;
    this.#drop = drop;
  }

  poll(cx: Context): Poll<T> {
    return this.#poll(cx);
  }

  override drop(): void {
    this.#drop?.();
  }
}

/** A future that is ready at once with `value`. */
export function ready<T>(value: T): Future<T> {
  return pollFn(() => value);
}

/**
 * A future that is pending once and ready on its next poll: lets other tasks run.
 *
 * It allocates nothing in a task that yields again and again: the yield whose await is over is
 * kept (one per process) and handed out by the next call. So a `yieldNow()` future is for one
 * `yield*`, as written below; kept and awaited again later, it could be another task's by then.
 *
 * @example
 * ```ts
 * function* busy(): Async<void> {
 *   for (let i = 0; i < 1e6; i++) if (i % 1000 === 0) yield* yieldNow();
 * }
 * ```
 */
export function yieldNow(): Future<void> {
  const spare = spareYield;
  // (Not while a task that got it ready has not yet been resumed with it: a poll can stop there.)
  if (spare === null || spare.inUse) return new YieldNow();
  spareYield = null;
  return spare;
}

/** The yield kept for the next {@link yieldNow}: one whose await is over (see there). */
let spareYield: YieldNow | null = null;

class YieldNow extends Future<void> {
  #yielded = false;

  /** Whether a task awaits it now (`awaited`, readable here in its own class). */
  get inUse(): boolean {
    return this.awaited;
  }

  poll(cx: Context): Poll<void> {
    if (this.#yielded) {
      // Ready: nothing reads this yield's state any more, so the next yieldNow() may reuse it.
      this.#yielded = false;
      spareYield = this;
      return undefined;
    }
    this.#yielded = true;
    cx.waker.wake();
    return PENDING;
  }
}

/** Whether `value` is a generator (an {@link Async}) rather than a {@link Future}. */
export function isAsync<T>(value: Awaitable<T>): value is Async<T> {
  return !(value instanceof Future);
}
