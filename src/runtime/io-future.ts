/**
 * The leaf futures of I/O: try the system call, and on would-block ask the reactor to wake
 * this task (steps 4, 5 and 6). This class plays the part of the seed's `poll_fn` closure that
 * calls `Reactor::poll(token, cx)`.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { Future, PENDING, type Poll } from "./future.ts";
import type { DirectionIndex, Reactor, Registration, Waiter } from "./reactor.ts";
import { traceEvent } from "./trace.ts";
import type { Waker } from "./waker.ts";
import { WOULD_BLOCK } from "../sys/would-block.ts";

/** What {@link IoFuture.attempt} returns when the system call would block: the one spelling of it. */
export { WOULD_BLOCK, type WouldBlock } from "../sys/would-block.ts";

/** A descriptor that registers with the reactor of the runtime that first polls it. */
export interface IoSource {
  /** The source's registration in `cx`'s reactor, made on first use. */
  registration(cx: Context): Registration;
}

/**
 * A future over one non-blocking system call. Subclasses implement {@link attempt}; the poll
 * loop is the same for every operation:
 *
 * 1. try the call (step 4); if it did not would-block, that is the result;
 * 2. otherwise ask `Reactor.poll` (step 5): if readiness already happened it is consumed and
 *    the call is tried again; if not, the task's waker is stored under the token (step 6) and
 *    the future is pending until the OS reports the socket ready.
 *
 * A spurious wake costs one more attempt that would-blocks again.
 */
export abstract class IoFuture<T> extends Future<T> implements Waiter {
  readonly #source: IoSource;
  readonly #direction: DirectionIndex;
  /** The waker this future has the reactor keep for it (see {@link Waiter}). */
  waker: Waker | null = null;
  /** Whether the reactor holds this future's entry now. */
  stored = false;
  // Where the entry is kept, to take it back on drop.
  #reactor: Reactor | null = null;
  #registration: Registration | null = null;

  constructor(source: IoSource, direction: DirectionIndex) {
    super();
    this.#source = source;
    this.#direction = direction;
  }

  /** Step 4: tries the system call once, without blocking. */
  protected abstract attempt(): T | typeof WOULD_BLOCK;

  /** A few words on the operation, for traces. */
  protected abstract describe(): string;

  poll(cx: Context): Poll<T> {
    const trace = cx.runtime.trace;
    for (;;) {
      let result: T | typeof WOULD_BLOCK;
      try {
        result = this.attempt();
      } catch (error) {
        this.drop(); // a failed attempt keeps nothing in the reactor
        throw error;
      }
      if (result !== WOULD_BLOCK) {
        if (trace !== null) trace(traceEvent("try-io", { task: cx.taskId, detail: `${this.describe()}: ready` }));
        this.drop();
        return result;
      }
      const registration = this.#source.registration(cx);
      if (trace !== null) {
        trace(traceEvent("try-io", { task: cx.taskId, token: registration.token, detail: `${this.describe()}: would block` }));
      }
      const reactor = cx.runtime.reactor;
      if (!reactor.poll(registration, this.#direction, this, cx)) {
        this.#reactor = reactor;
        this.#registration = registration;
        return PENDING;
      }
    }
  }

  /** Takes back the entry this future has in the reactor, if any. */
  override drop(): void {
    if (this.stored) this.#reactor!.forget(this.#registration!, this.#direction, this);
  }
}
