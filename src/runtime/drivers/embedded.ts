/**
 * The embedded driver: the runtime inside a Bun app, beside `Bun.serve`, timers and Promises,
 * without ever blocking Bun's thread.
 *
 * The reactor thread of the thread driver waits for the OS (step 8) as before. The executor
 * does not sleep in `Atomics.wait`: it runs in turns scheduled on Bun's event loop
 * (`setImmediate`), and between turns it waits for the handoff with `Atomics.waitAsync`, whose
 * Promise settles on Bun's thread when the reactor thread hands events over. No JavaScript
 * function is ever called from a native thread, so nothing depends on thread-safe callbacks.
 *
 * @module
 */
import type { Poller } from "../../sys/poller.ts";
import type { Driver } from "../driver.ts";
import type { Reactor } from "../reactor.ts";
import type { Traced } from "../trace.ts";
import { HandoffState, STATE } from "./handoff.ts";
import { ThreadDriver } from "./thread.ts";

/** A reactor thread whose handoff is awaited, never blocked on. */
export class EmbeddedDriver implements Driver {
  readonly name = "embedded";
  readonly #thread: ThreadDriver;
  #watching = false;

  constructor(poller: Poller, reactor: Reactor, traced: Traced, eventCapacity: number) {
    this.#thread = new ThreadDriver(poller, reactor, traced, eventCapacity);
  }

  /** Takes the events the reactor thread has handed over, if any; never waits. */
  park(_timeoutMs: number): void {
    this.#thread.park(0);
  }

  /**
   * Calls `onEvents` (once) on Bun's thread when the reactor thread hands events over, or at
   * once if it already has. Watching twice is the same as watching once.
   */
  watch(onEvents: () => void): void {
    if (this.#watching) return;
    const handoff = this.#thread.handoff;
    const waited = Atomics.waitAsync(handoff.control, STATE, HandoffState.waiting);
    this.#watching = true;
    const fire = () => {
      this.#watching = false;
      onEvents();
    };
    if (waited.async) void waited.value.then(fire);
    else queueMicrotask(fire);
  }

  /** Whether the reactor thread keeps the process alive (it should while tasks are alive). */
  keepAlive(alive: boolean): void {
    this.#thread.keepAlive(alive);
  }

  unpark(): void {
    this.#thread.unpark();
  }

  close(): void {
    this.#thread.close();
  }

  /** Resolves when the reactor thread has ended, after `close`. */
  closed(): Promise<void> {
    return this.#thread.terminated();
  }
}
