/**
 * Combinators: wait for all of several futures, or for the first of them.
 *
 * Both poll their futures inside the task that awaits them (like Rust's `join!` and
 * `select!`), so they spawn nothing. A future that loses, or is no longer needed because
 * another failed, is dropped, under the runtime's one cancellation rule (docs/guide.md, "Cancellation"):
 * dropping a future cancels the work it owns (its `finally` blocks run, its registrations and
 * timers are released), and dropping a `JoinHandle` detaches from its task, which runs on. Only
 * `handle.cancel()` cancels a task.
 *
 * @module
 */
import { toFuture } from "./async-future.ts";
import type { Context } from "./context.ts";
import { type Awaitable, dropAfterFailure, Future, PENDING, type Poll } from "./future.ts";

/** The value an awaitable resolves to. */
export type AwaitedOf<A> = A extends Awaitable<infer T> ? T : never;

class JoinAll<T extends readonly unknown[]> extends Future<T> {
  readonly #futures: Future<unknown>[];
  readonly #values: unknown[];
  readonly #done: boolean[];
  #remaining: number;

  constructor(futures: Future<unknown>[]) {
    super();
    this.#futures = futures;
    this.#values = new Array<unknown>(futures.length);
    this.#done = new Array<boolean>(futures.length).fill(false);
    this.#remaining = futures.length;
  }

  poll(cx: Context): Poll<T> {
    for (let index = 0; index < this.#futures.length; index++) {
      if (this.#done[index]) continue;
      let value: unknown;
      try {
        value = this.#futures[index]!.poll(cx);
      } catch (error) {
        // Every future not done, the failed one included, is dropped as select drops its
        // losers: a drop that fails too must not hide this error, nor spare the others.
        this.#dropPending(dropAfterFailure);
        throw error;
      }
      if (value === PENDING) continue;
      this.#values[index] = value;
      this.#done[index] = true;
      this.#remaining--;
    }
    return this.#remaining === 0 ? (this.#values as unknown as T) : PENDING;
  }

  #dropPending(dropOne: (future: Future<unknown>) => void): void {
    this.#futures.forEach((future, index) => {
      if (this.#done[index]) return;
      this.#done[index] = true;
      dropOne(future);
    });
  }

  override drop(): void {
    this.#dropPending((future) => future.drop());
  }
}

/**
 * Waits for every awaitable; resolves to their values in order. If one fails, its error is
 * thrown and every other one not finished is dropped: a generator or a leaf future is
 * cancelled, a `JoinHandle` is detached (its task runs on; `cancel()` it to stop it).
 *
 * @example
 * ```ts
 * const [a, b] = yield* joinAll([fetchA(), sleep(10)]);
 * ```
 */
export function joinAll<const A extends readonly Awaitable<unknown>[]>(
  awaitables: A,
): Future<{ -readonly [K in keyof A]: AwaitedOf<A[K]> }> {
  return new JoinAll(awaitables.map((awaitable) => toFuture(awaitable)));
}

/** The winner of a {@link select}: which awaitable, and its value. */
export interface Selected<T> {
  readonly index: number;
  readonly value: T;
}

class Select<T> extends Future<Selected<T>> {
  readonly #futures: Future<T>[];

  constructor(futures: Future<T>[]) {
    super();
    this.#futures = futures;
  }

  poll(cx: Context): Poll<Selected<T>> {
    for (let index = 0; index < this.#futures.length; index++) {
      let value: T | typeof PENDING;
      try {
        value = this.#futures[index]!.poll(cx);
      } catch (error) {
        // The failed future is dropped too: it may hold what an earlier poll registered.
        dropAfterFailure(this.#futures[index]!);
        this.#dropAllBut(index);
        throw error;
      }
      if (value !== PENDING) {
        this.#dropAllBut(index);
        return { index, value };
      }
    }
    return PENDING;
  }

  /**
   * Drops the losers. A losing `JoinHandle` is only detached: other tasks may join its task,
   * and a select has no right to cancel it under them.
   */
  #dropAllBut(winner: number): void {
    this.#futures.forEach((future, index) => {
      if (index !== winner) dropAfterFailure(future);
    });
  }

  override drop(): void {
    this.#dropAllBut(-1);
  }
}

/**
 * Waits for the first awaitable to finish, in the order given when several are ready at once;
 * the others are dropped: a generator or a leaf future is cancelled, a `JoinHandle` is
 * detached (its task runs on; `cancel()` it to stop it). If the first to finish fails, its
 * error is thrown, and the others are dropped all the same.
 *
 * @example
 * ```ts
 * const winner = yield* select([socket.recvFrom(buffer), sleep(1000)]);
 * if (winner.index === 1) console.log("nothing within a second");
 * ```
 */
export function select<const A extends readonly Awaitable<unknown>[]>(awaitables: A): Future<Selected<AwaitedOf<A[number]>>> {
  if (awaitables.length === 0) throw new RangeError("select needs at least one awaitable");
  return new Select(awaitables.map((awaitable) => toFuture(awaitable)) as Future<AwaitedOf<A[number]>>[]);
}
