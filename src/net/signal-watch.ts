/**
 * Process signals as a source the reactor watches: a task awaits `next()` and is woken when
 * SIGINT, SIGTERM, … arrives, like it is woken for a datagram.
 *
 * @module
 */
import type { Fd } from "../sys/poller.ts";
import { signalsClose, signalsOpen, signalsTake, WATCHED_SIGNALS, type WatchedSignal } from "../sys/signals.ts";
import type { Context } from "../runtime/context.ts";
import type { Future } from "../runtime/future.ts";
import { type IoSource, IoFuture, WOULD_BLOCK, type WouldBlock } from "../runtime/io-future.ts";
import { LazyRegistration, READ, type Registration } from "../runtime/reactor.ts";
import { type TryResult, WOULD_BLOCK_RESULT } from "./try-result.ts";

export type { WatchedSignal };

/**
 * Watches signals for the tasks of a runtime. One watch per process at a time; closing it
 * restores the signals' previous handlers.
 *
 * @example
 * ```ts
 * function* main(): Async<void> {
 *   using signals = SignalWatch.open(["SIGINT", "SIGTERM"]);
 *   const signal = yield* signals.next();
 *   console.log(`stopping on ${signal}`);
 * }
 * ```
 */
export class SignalWatch implements IoSource {
  readonly #fd: Fd;
  readonly #pending: WatchedSignal[] = [];
  readonly #registration = new LazyRegistration();
  #closed = false;

  private constructor(fd: Fd) {
    this.#fd = fd;
  }

  /**
   * Starts watching `signals` (`"SIGINT"`, `"SIGTERM"`, …). A name that is not one of them is
   * refused, named, before any handler changes.
   */
  static open(signals: readonly WatchedSignal[]): SignalWatch {
    if (!Array.isArray(signals) || signals.length === 0) {
      throw new TypeError(`SignalWatch.open: ${String(signals)} is not a list of signal names such as ["SIGINT"]`);
    }
    for (const name of signals as readonly unknown[]) {
      if (!WATCHED_SIGNALS.includes(name as WatchedSignal)) {
        throw new RangeError(`SignalWatch.open: ${JSON.stringify(name)} is not one of ${WATCHED_SIGNALS.join(", ")}`);
      }
    }
    return new SignalWatch(signalsOpen(signals));
  }

  /** @internal */
  registration(cx: Context): Registration {
    if (this.#closed) throw new Error("Cannot wait for signals: the watch is closed");
    return this.#registration.get(cx.runtime.reactor, this.#fd, this);
  }

  /** The next signal received, if one came since the last call; would-block if none did. */
  tryNext(): TryResult<WatchedSignal> {
    const signal = this.#nextNow();
    return signal === WOULD_BLOCK ? WOULD_BLOCK_RESULT : { state: "ok", value: signal };
  }

  #nextNow(): WatchedSignal | WouldBlock {
    if (this.#closed) throw new Error("Cannot read signals: the watch is closed");
    if (this.#pending.length === 0) this.#pending.push(...signalsTake(this.#fd));
    return this.#pending.shift() ?? WOULD_BLOCK;
  }

  /** Waits for the next signal. */
  next(): Future<WatchedSignal> {
    return new NextSignal(this, () => this.#nextNow());
  }

  /** Stops watching: previous handlers come back. Closing twice does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#registration.release();
    signalsClose(this.#fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

class NextSignal extends IoFuture<WatchedSignal> {
  readonly #next: () => WatchedSignal | WouldBlock;

  constructor(watch: SignalWatch, next: () => WatchedSignal | WouldBlock) {
    super(watch, READ);
    this.#next = next;
  }

  protected attempt(): WatchedSignal | WouldBlock {
    return this.#next();
  }

  protected describe(): string {
    return "read of the signal pipe";
  }
}
