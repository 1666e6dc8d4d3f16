/**
 * Timers: `sleep`, `timeout` and deadlines, kept in a hierarchical timer wheel
 * (`timer-wheel.ts`). The executor fires the due timers each turn and waits in the driver no
 * longer than the wheel's next deadline.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { toFuture } from "./async-future.ts";
import { type Awaitable, Future, PENDING, type Poll } from "./future.ts";
import { FIRED, removeTimer, type TimerEntry, TimerWheel, UNARMED, type WheelSlot } from "./timer-wheel.ts";
import { noopWaker, type Waker } from "./waker.ts";

/** Milliseconds on the monotonic clock the runtime's timers use. */
export function now(): number {
  return performance.now();
}

/**
 * The timers of one runtime: a {@link TimerWheel} (setting and cancelling a timer are O(1)
 * whatever the number of timers).
 *
 * @example
 * ```ts
 * const timers = new TimerQueue();
 * timers.add(now() + 10, task.waker);
 * ```
 */
export class TimerQueue extends TimerWheel {}

/**
 * A future that is ready at a deadline. It is its own timer-wheel entry, so that arming it
 * allocates nothing; dropping it removes its timer (from the wheel its slot belongs to: no
 * field of its own for the wheel, so that with Future's one it has six and fits JSC's 64-byte
 * size class).
 */
export class Sleep extends Future<void> implements TimerEntry {
  readonly deadline: number;
  waker: Waker = noopWaker;
  wheelSlot: WheelSlot | null = UNARMED;
  wheelPrev: TimerEntry | null = null;
  wheelNext: TimerEntry | null = null;

  constructor(deadline: number) {
    super();
    this.deadline = deadline;
  }

  poll(cx: Context): Poll<void> {
    if (this.wheelSlot === FIRED || now() >= this.deadline) {
      this.drop();
      return undefined;
    }
    // A deadline of Infinity never comes: it needs no timer, and one would ask the driver for
    // an infinite timeout that the poller cannot take.
    if (this.deadline === Infinity) return PENDING;
    this.waker = cx.waker;
    if (this.wheelSlot === UNARMED) cx.runtime.timers.insert(this);
    return PENDING;
  }

  override drop(): void {
    removeTimer(this);
  }
}

function checkDelay(ms: number, what: string): number {
  if (typeof ms !== "number" || Number.isNaN(ms) || ms < 0) {
    throw new RangeError(`${what} ${ms} is not a number of milliseconds >= 0`);
  }
  return ms;
}

/**
 * A future that is ready after `ms` milliseconds (at the poller's resolution, 1 ms).
 *
 * @example
 * ```ts
 * function* main(): Async<void> {
 *   yield* sleep(100);
 * }
 * ```
 */
export function sleep(ms: number): Sleep {
  return new Sleep(now() + checkDelay(ms, "sleep of"));
}

/** A future that is ready at `deadline`, a {@link now} value. */
export function sleepUntil(deadline: number): Sleep {
  if (typeof deadline !== "number" || Number.isNaN(deadline)) throw new RangeError(`deadline ${deadline} is not a number`);
  return new Sleep(deadline);
}

/** Thrown by {@link timeout} and {@link deadline} when time ran out first. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

class Deadline<T> extends Future<T> {
  readonly #inner: Future<T>;
  readonly #sleep: Sleep;
  readonly #limitMs: number;

  constructor(inner: Future<T>, sleep: Sleep, limitMs: number) {
    super();
    this.#inner = inner;
    this.#sleep = sleep;
    this.#limitMs = limitMs;
  }

  poll(cx: Context): Poll<T> {
    let value: T | typeof PENDING;
    try {
      value = this.#inner.poll(cx);
    } catch (error) {
      this.#sleep.drop(); // its timer goes with the failed work
      throw error;
    }
    if (value !== PENDING) {
      this.#sleep.drop();
      return value;
    }
    if (this.#sleep.poll(cx) === PENDING) return PENDING;
    this.#inner.drop();
    throw new TimeoutError(`timed out after ${this.#limitMs} ms`);
  }

  override drop(): void {
    this.#inner.drop();
    this.#sleep.drop();
  }
}

/**
 * Waits for `awaitable` for at most `ms` milliseconds (`Infinity`: no limit). If time runs out
 * first, a {@link TimeoutError} is thrown and the awaitable is dropped: a generator or a leaf
 * future is cancelled (its `finally` blocks run), a `JoinHandle` is detached (its task runs on;
 * `cancel()` it to stop it).
 *
 * @example
 * ```ts
 * function* main(socket: UdpSocket): Async<void> {
 *   try {
 *     const datagram = yield* timeout(socket.recvFrom(buffer), 1000);
 *   } catch (error) {
 *     if (error instanceof TimeoutError) console.log("nothing came within a second");
 *   }
 * }
 * ```
 */
export function timeout<T>(awaitable: Awaitable<T>, ms: number): Future<T> {
  const limitMs = checkDelay(ms, "timeout of");
  return new Deadline(toFuture(awaitable), sleep(limitMs), limitMs);
}

/** When a {@link deadline} falls. */
export interface DeadlineOptions {
  /** The instant, on the {@link now} clock (`now() + 500`), not a duration. */
  readonly at: number;
}

/**
 * Waits for `awaitable` until the instant `at` (a {@link now} value), as {@link timeout} does
 * for a duration. The instant is named (`{ at }`) so that a duration cannot be passed by
 * mistake: `deadline(work, 1000)` is refused (Deno's `deadline(p, ms)` takes a duration; here
 * that is {@link timeout}).
 *
 * @example
 * ```ts
 * function* both(): Async<void> {
 *   const end = now() + 1000; // one second for both steps together
 *   yield* deadline(stepOne(), { at: end });
 *   yield* deadline(stepTwo(), { at: end });
 * }
 * ```
 */
export function deadline<T>(awaitable: Awaitable<T>, options: DeadlineOptions): Future<T> {
  const at = (options as DeadlineOptions | undefined)?.at;
  if (typeof options !== "object" || options === null || typeof at !== "number" || Number.isNaN(at)) {
    const given = typeof options === "object" && options !== null ? `{ at: ${String(at)} }` : String(options);
    throw new TypeError(`deadline(…, ${given}): pass the instant as { at: now() + ms }; for a duration use timeout(…, ms)`);
  }
  return new Deadline(toFuture(awaitable), sleepUntil(at), Math.max(0, Math.round(at - now())));
}
