/**
 * Waiting for another thread: a task waits until a condition that another thread changes (in
 * shared memory) holds; that thread then calls `Runtime.unpark`, which wakes the poller, and
 * the reactor wakes the task to check the condition again.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { Future, PENDING, type Poll } from "./future.ts";
import type { Reactor } from "./reactor.ts";
import type { Waker } from "./waker.ts";

class RemoteCondition extends Future<void> {
  readonly #holds: () => boolean;
  /** This future's entry in the reactor while it waits (one per future, not per task). */
  #waiting: { reactor: Reactor; entry: { waker: Waker } } | null = null;

  constructor(holds: () => boolean) {
    super();
    this.#holds = holds;
  }

  poll(cx: Context): Poll<void> {
    if (this.#holds()) {
      this.drop();
      return undefined;
    }
    const reactor = cx.runtime.reactor;
    if (this.#waiting?.reactor !== reactor) {
      this.drop();
      this.#waiting = { reactor, entry: { waker: cx.waker } };
    }
    this.#waiting.entry.waker = cx.waker;
    reactor.awaitRemoteWake(this.#waiting.entry);
    return PENDING;
  }

  override drop(): void {
    this.#waiting?.reactor.forgetRemoteWake(this.#waiting.entry);
    this.#waiting = null;
  }
}

/**
 * A future that is ready once `holds()` returns true, checked again each time another thread
 * unparks this runtime (`Runtime.unpark`, which is safe to call from any thread through the
 * runtime's {@link PollerHandle}).
 *
 * @example
 * ```ts
 * // In a worker thread's task: wait until the main thread sets flags[0] and unparks us.
 * yield* remoteCondition(() => Atomics.load(flags, 0) === 1);
 * ```
 */
export function remoteCondition(holds: () => boolean): Future<void> {
  return new RemoteCondition(holds);
}
