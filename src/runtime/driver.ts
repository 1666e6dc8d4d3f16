/**
 * Drivers: how the executor waits for the OS when no task is ready (step 8), and how the
 * events it gets reach the reactor (step 9).
 *
 * @module
 */

/**
 * The names of the drivers a runtime can use. `"embedded"` is the thread driver hosted on
 * Bun's event loop (see `embedded-host.ts`), not a driver of its own.
 */
export type DriverName = "inline" | "thread" | "embedded";

/**
 * Waits for OS events on behalf of an executor and hands them to its reactor. These are the
 * members the runtime uses with every driver; a driver's own extras (the reactor thread's
 * handoff, its keep-alive) stay on its class.
 *
 * @example
 * ```ts
 * class Idle implements Driver {
 *   park(timeoutMs: number): void {
 *     if (timeoutMs < 0) throw new Error("nothing could wake this driver");
 *     Bun.sleepSync(timeoutMs);
 *   }
 *   unpark(): void {}
 *   close(): void {}
 * }
 * ```
 */
export interface Driver {
  /**
   * Waits for events for at most `timeoutMs` (0: only collect those already there; negative:
   * no limit) and dispatches them to the reactor, which wakes the tasks they concern.
   */
  park(timeoutMs: number): void;
  /** Makes a `park` in progress on this runtime return; safe from any thread. */
  unpark(): void;
  /** Stops the driver and releases its thread, if it has one. */
  close(): void;
}
