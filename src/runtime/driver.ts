/**
 * Drivers: how the executor waits for the OS when no task is ready (step 8), and how the
 * events it gets reach the reactor (step 9).
 *
 * @module
 */

/** The names of the drivers a runtime can use. */
export type DriverName = "inline" | "thread" | "embedded";

/**
 * Waits for OS events on behalf of an executor and hands them to its reactor.
 */
export interface Driver {
  readonly name: DriverName;
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
