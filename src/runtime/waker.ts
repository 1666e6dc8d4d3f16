/**
 * Wakers: what a pending future keeps so that its task can be polled again (step 10).
 *
 * @module
 */

/**
 * Puts a task back on its executor's run queue. Waking is cheap and idempotent: a task woken
 * twice before it runs is queued once, waking a finished or cancelled task does nothing, and a
 * task woken while it runs is polled again afterwards.
 */
export interface Waker {
  wake(): void;
}

/** Where a task waker sends its task: the executor's side of step 10. */
export interface WakeTarget<T> {
  wakeTask(task: T): void;
}

/**
 * The waker of one task. Each task has exactly one, made when it is spawned, so that stores of
 * "the same waker" (the reactor, timers, join handles) can compare it by identity.
 */
export class TaskWaker<T> implements Waker {
  readonly #task: T;
  readonly #target: WakeTarget<T>;

  constructor(task: T, target: WakeTarget<T>) {
    this.#task = task;
    this.#target = target;
  }

  /** Step 10: puts the task back on the run queue (once). */
  wake(): void {
    this.#target.wakeTask(this.#task);
  }
}

/** A waker that does nothing, for polling a future outside any task. */
export const noopWaker: Waker = { wake() {} };
