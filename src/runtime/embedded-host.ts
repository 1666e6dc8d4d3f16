/**
 * The embedded hosting: a runtime inside a Bun app, run in turns on Bun's event loop beside
 * `Bun.serve`, timers and Promises, without ever blocking Bun's thread.
 *
 * The runtime itself only offers {@link Runtime.turn}, a turn that never blocks (libxev's
 * `run(.no_wait)`). This module decides when Bun runs one:
 *
 * - at once (`setImmediate`) while tasks are ready, which is also how a turn that spent its
 *   time budget lets Bun's loop run (HTTP, timers, Promises) before the runtime continues;
 * - when the reactor thread of the thread driver hands events over: `Atomics.waitAsync` on the
 *   handoff's state word, whose Promise settles on Bun's thread. The thread waits for the OS
 *   only then, when no task is ready; while tasks are, each turn checks the OS itself. No JavaScript function is ever
 *   called from a native thread, so nothing depends on thread-safe callbacks;
 * - at the earliest timer deadline (`setTimeout`, unreferenced: the reactor thread is what
 *   keeps the process alive, exactly while tasks are alive).
 *
 * @module
 */
import { HandoffState, STATE } from "./drivers/handoff.ts";
import type { ThreadDriver } from "./drivers/thread.ts";
import type { Runtime } from "./runtime.ts";

/**
 * The longest delay `setTimeout` takes (2^31 − 1 ms, about 24.8 days): a longer one is taken as
 * 1 ms, with a warning. A timer further away is armed for this long, and re-armed when it fires.
 */
const HOST_TIMER_MAX_MS = 2 ** 31 - 1;

/** The default time budget of an embedded runtime's turn, in milliseconds. */
export const EMBEDDED_TURN_BUDGET_MS = 0.1;

/**
 * Runs a runtime on Bun's event loop in non-blocking turns. Made by `new Runtime({ driver:
 * "embedded" })`; an app never makes one itself.
 *
 * @example
 * ```ts
 * const runtime = new Runtime({ driver: "embedded" }); // hosted by an EmbeddedHost
 * const value = await runtime.spawn(work()).promise();
 * ```
 */
export class EmbeddedHost {
  readonly #runtime: Runtime;
  readonly #thread: ThreadDriver;
  #scheduled = false;
  #watching = false;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(runtime: Runtime, thread: ThreadDriver) {
    this.#runtime = runtime;
    this.#thread = thread;
    // A spawn, a wake from outside a turn (a Promise settling, another task) or a task ending
    // calls for a turn: it runs the task, or decides whether the process must be kept alive.
    runtime.executor.onActivity = () => this.schedule();
  }

  /** Runs a turn soon, on Bun's event loop; scheduling twice is the same as once. */
  schedule(): void {
    if (this.#scheduled || this.#runtime.closed) return;
    this.#scheduled = true;
    setImmediate(this.#runTurn);
  }

  // Made once, as is #fire: under a flood a turn is scheduled thousands of times a second, and
  // each allocation brings the collection that pauses Bun's thread (and the host's requests) nearer.
  readonly #runTurn = (): void => this.#turn();

  /** Called when the reactor thread has handed events over: the watch ends and a turn comes. */
  readonly #fire = (): void => {
    this.#watching = false;
    this.schedule();
  };

  /**
   * One turn, then what brings the next: at once if tasks are ready, else the handoff watch
   * and a timer for the earliest deadline.
   */
  #turn(): void {
    this.#scheduled = false;
    const runtime = this.#runtime;
    if (runtime.closed) return;
    let waitMs: number;
    try {
      waitMs = runtime.turn();
    } catch (error) {
      // Thrown from setImmediate, this would take the host app down: report it and close.
      const detail = error instanceof Error ? (error.stack ?? String(error)) : String(error);
      console.error(`bun-reactor: the embedded runtime failed and was closed:\n${detail}`);
      try {
        runtime.close();
      } catch (closeError) {
        // Still on setImmediate: a failure to close is reported too, never thrown at the host.
        console.error(`bun-reactor: closing the failed runtime failed too: ${String(closeError)}`);
      }
      return;
    }
    this.#thread.keepAlive(runtime.executor.alive > 0);
    if (waitMs === 0) return this.schedule();
    this.#watch();
    this.#armTimer(waitMs);
  }

  /** Schedules a turn (once) when the reactor thread hands events over, or has already. */
  #watch(): void {
    this.#thread.letThreadWait();
    if (this.#watching) return;
    const waited = Atomics.waitAsync(this.#thread.handoff.control, STATE, HandoffState.waiting);
    this.#watching = true;
    if (waited.async) void waited.value.then(this.#fire);
    else queueMicrotask(this.#fire);
  }

  /**
   * Arms the timer for a turn in `waitMs` (negative: none). A deadline beyond what `setTimeout`
   * takes gets a timer for the longest it takes; the turn it brings finds nothing due and arms
   * the rest.
   */
  #armTimer(waitMs: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (waitMs < 0) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.schedule();
      },
      Math.min(waitMs, HOST_TIMER_MAX_MS),
    );
    this.#timer.unref();
  }

  /** Stops scheduling turns (the runtime is closing). */
  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
