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
  #waiting: { reactor: Reactor; waker: Waker } | null = null;

  constructor(holds: () => boolean) {
    super();
    this.#holds = holds;
  }

  poll(cx: Context): Poll<void> {
    if (this.#holds()) {
      this.drop();
      return undefined;
    }
    this.#waiting = { reactor: cx.runtime.reactor, waker: cx.waker };
    cx.runtime.reactor.awaitRemoteWake(cx.waker);
    return PENDING;
  }

  override drop(): void {
    this.#waiting?.reactor.forgetRemoteWake(this.#waiting.waker);
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
