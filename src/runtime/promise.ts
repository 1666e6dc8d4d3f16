/**
 * Waiting on a Promise from a task: the boundary with the Bun app that embeds the runtime.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { Future, PENDING, type Poll } from "./future.ts";
import type { Waker } from "./waker.ts";

type Settled<T> = { readonly state: "fulfilled"; readonly value: T } | { readonly state: "rejected"; readonly reason: unknown };

class PromiseFuture<T> extends Future<T> {
  #settled: Settled<T> | null = null;
  #waker: Waker | null = null;

  constructor(promise: PromiseLike<T>) {
    super();
    promise.then(
      (value) => this.#settle({ state: "fulfilled", value }),
      (reason: unknown) => this.#settle({ state: "rejected", reason }),
    );
  }

  #settle(settled: Settled<T>): void {
    this.#settled = settled;
    const waker = this.#waker;
    this.#waker = null;
    waker?.wake();
  }

  poll(cx: Context): Poll<T> {
    const settled = this.#settled;
    if (settled === null) {
      this.#waker = cx.waker;
      return PENDING;
    }
    if (settled.state === "rejected") throw settled.reason;
    return settled.value;
  }

  override drop(): void {
    this.#waker = null;
  }
}

/**
 * A future that is ready when `promise` settles: with its value, or throwing its reason. The
 * task is woken from the Promise's reaction, so this works where Bun's event loop runs: in a
 * runtime with the `"embedded"` driver (a `blockOn` holds the thread, and Promises cannot settle
 * while it does).
 *
 * @example
 * ```ts
 * function* task(): Async<string> {
 *   const response = yield* fromPromise(fetch("http://127.0.0.1:3000/"));
 *   return yield* fromPromise(response.text());
 * }
 * ```
 */
export function fromPromise<T>(promise: PromiseLike<T>): Future<T> {
  return new PromiseFuture(promise);
}
