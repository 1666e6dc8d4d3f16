/**
 * Wakers: what a pending future keeps so that its task can be polled again (step 10). A task
 * is its own waker (`Task.wake` in `task.ts`), so storing "the same waker" in the reactor, a
 * timer or a join handle compares it by identity.
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

/** A waker that does nothing, for polling a future outside any task. */
export const noopWaker: Waker = { wake() {} };
