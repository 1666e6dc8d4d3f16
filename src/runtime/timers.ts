/**
 * Timers: `sleep`, `timeout` and deadlines, kept in a binary min-heap ordered by deadline (ties
 * in the order the timers were set). The executor fires the due timers each turn and waits in
 * the driver no longer than the earliest deadline.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { toFuture } from "./async-future.ts";
import { type Awaitable, Future, PENDING, type Poll } from "./future.ts";
import type { Waker } from "./waker.ts";

/** Milliseconds on the monotonic clock the runtime's timers use. */
export function now(): number {
  return performance.now();
}

/**
 * The longest one wait in the driver may be, in milliseconds: the poller's timeout is a 32-bit
 * signed number. A timer further away makes the driver wake once per this period and wait again.
 */
const WAIT_MS_MAX = 0x7fff_ffff;

/** One pending timer: when it fires and whom it wakes. */
export class Timer {
  readonly deadline: number;
  readonly sequence: number;
  waker: Waker;
  /** Position in the heap, or -1 when not in it. */
  index = -1;
  fired = false;

  constructor(deadline: number, sequence: number, waker: Waker) {
    this.deadline = deadline;
    this.sequence = sequence;
    this.waker = waker;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.sequence < b.sequence);
}

/** The timers of one runtime. */
export class TimerQueue {
  readonly #heap: Timer[] = [];
  #sequence = 0;

  /** How many timers are set. */
  get size(): number {
    return this.#heap.length;
  }

  /** Sets a timer that wakes `waker` at `deadline` (a {@link now} value). */
  add(deadline: number, waker: Waker): Timer {
    const timer = new Timer(deadline, this.#sequence++, waker);
    timer.index = this.#heap.length;
    this.#heap.push(timer);
    this.#siftUp(timer.index);
    return timer;
  }

  /** Removes a timer that has not fired; removing it twice does nothing. */
  remove(timer: Timer): void {
    const index = timer.index;
    if (index === -1) return;
    timer.index = -1;
    const last = this.#heap.pop()!;
    if (index === this.#heap.length) return;
    this.#heap[index] = last;
    last.index = index;
    this.#siftDown(index);
    this.#siftUp(last.index);
  }

  /**
   * How long the driver may wait: whole milliseconds until the earliest deadline (rounded up,
   * so that it never wakes early), capped by `limitMs`; `limitMs` if no timer is set (negative:
   * no limit).
   */
  timeoutMs(at: number, limitMs: number): number {
    const first = this.#heap[0];
    if (first === undefined) return limitMs;
    // At most WAIT_MS_MAX: a longer wait would not fit the poller's 32-bit timeout.
    const untilMs = Math.min(WAIT_MS_MAX, Math.max(0, Math.ceil(first.deadline - at)));
    return limitMs < 0 ? untilMs : Math.min(untilMs, limitMs);
  }

  /** Fires every timer whose deadline is at or before `at`, earliest first; returns how many. */
  fireDue(at: number): number {
    let fired = 0;
    for (let first = this.#heap[0]; first !== undefined && first.deadline <= at; first = this.#heap[0]) {
      this.remove(first);
      first.fired = true;
      first.waker.wake();
      fired++;
    }
    return fired;
  }

  #siftUp(start: number): void {
    const heap = this.#heap;
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      this.#swap(index, parent);
      index = parent;
    }
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    let index = start;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === index) return;
      this.#swap(index, smallest);
      index = smallest;
    }
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap;
    const timer = heap[a]!;
    heap[a] = heap[b]!;
    heap[b] = timer;
    heap[a]!.index = a;
    heap[b]!.index = b;
  }
}

/** A future that is ready at a deadline. Dropping it removes its timer. */
export class Sleep extends Future<void> {
  readonly deadline: number;
  #timer: Timer | null = null;
  #queue: TimerQueue | null = null;

  constructor(deadline: number) {
    super();
    this.deadline = deadline;
  }

  poll(cx: Context): Poll<void> {
    if (this.#timer?.fired === true || now() >= this.deadline) {
      this.drop();
      return undefined;
    }
    // A deadline of Infinity never comes: it needs no timer, and one would ask the driver for
    // an infinite timeout that the poller cannot take.
    if (this.deadline === Infinity) return PENDING;
    if (this.#timer === null) {
      this.#queue = cx.runtime.timers;
      this.#timer = this.#queue.add(this.deadline, cx.waker);
    } else {
      this.#timer.waker = cx.waker;
    }
    return PENDING;
  }

  override drop(): void {
    if (this.#timer !== null) this.#queue?.remove(this.#timer);
    this.#timer = null;
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
