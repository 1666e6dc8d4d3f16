/**
 * Join handles: a future for a task's value, and the way to cancel the task. A handle is its
 * task (as tokio's `JoinHandle` is a pointer to its task's header): `Task` in `task.ts` extends
 * {@link JoinHandle}, so a spawn makes one object, not a task and a handle beside it. This file
 * holds what joining means; the task holds the state.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { Future, handOver, PENDING, type Poll, resumeWith } from "./future.ts";
import type { Waker } from "./waker.ts";

/** How a task ended. */
export type Outcome<T> =
  | { readonly state: "ok"; readonly value: T }
  | { readonly state: "error"; readonly error: unknown }
  | { readonly state: "cancelled" };

/** Thrown by a join handle whose task was cancelled. */
export class TaskCancelledError extends Error {
  override readonly name = "TaskCancelledError";
  readonly taskId: number;

  constructor(taskId: number, taskName: string) {
    super(`task ${taskId} (${taskName}) was cancelled`);
    this.taskId = taskId;
  }
}

/**
 * The handle of a spawned task. Awaiting it (`yield* handle`) gives the task's value, throws
 * its error, or throws {@link TaskCancelledError} if it was cancelled.
 *
 * The task belongs to the runtime, not to the handle (as in tokio): dropping an await of the
 * handle (a `select` that chose another branch, a `timeout` that expired, a joiner that was
 * cancelled) detaches from the task, which runs on. Only {@link cancel} cancels it, so that no
 * joiner can cancel a task that others join without saying so.
 *
 * @example
 * ```ts
 * function* main(): Async<number> {
 *   const child = spawn(compute());
 *   return yield* child; // waits for compute() and returns its value
 * }
 * ```
 */
export abstract class JoinHandle<T> extends Future<T> {
  /** The task's id, as traces show it. */
  abstract get id(): number;

  abstract get name(): string;

  /** Whether the task has ended, one way or another. */
  abstract get finished(): boolean;

  /**
   * Marks the task as joined by whoever holds this handle: if it fails, its error is theirs
   * to read, and is not reported as unjoined.
   */
  abstract claim(): void;

  /** How the task ended, or null while it runs. Reading it counts as joining. */
  abstract outcome(): Outcome<T> | null;

  /**
   * Cancels the task: its future is dropped, so its `finally` blocks run and its sockets,
   * registrations and timers are released; every joiner then gets {@link TaskCancelledError}.
   * Cancelling a finished task does nothing. This is the only way to cancel a task.
   */
  abstract cancel(): void;

  /** Adds a waker to wake when the task finishes; the same waker twice is kept once. */
  protected abstract addJoiner(waker: Waker): void;

  /** The value of a finished task, or its error thrown; throws if it has not finished. */
  value(): T {
    const outcome = this.outcome();
    if (outcome === null) throw new Error(`${this.name} has not finished`);
    return unwrap(outcome, this);
  }

  /**
   * The task's outcome as a Promise, for code outside the runtime (the Bun app that embeds it):
   * it resolves with the value, or rejects with the error (or `TaskCancelledError`).
   *
   * @example
   * ```ts
   * const runtime = new Runtime({ driver: "embedded" });
   * const value = await runtime.spawn(compute()).promise();
   * ```
   */
  promise(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const settle = (outcome: Outcome<T>) => {
        try {
          resolve(unwrap(outcome, this));
        } catch (error) {
          reject(error);
        }
      };
      const outcome = this.outcome();
      if (outcome !== null) return settle(outcome);
      this.addJoiner({ wake: () => settle(this.outcome()!) });
    });
  }

  /**
   * Many tasks may join one task, through the same handle (other futures are awaited by one
   * task at a time).
   */
  override [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    // The first joiner awaits the handle itself, allocating nothing; one that comes while it
    // waits gets an iterator of its own.
    return this.awaited ? new JoinAwait(this) : super[Symbol.iterator]();
  }

  poll(cx: Context): Poll<T> {
    const outcome = this.outcome();
    if (outcome !== null) return unwrap(outcome, this);
    this.addJoiner(cx.waker);
    return PENDING;
  }

  /**
   * Detaches: the task runs on (see the class's cancellation rule). The joiner's waker stays
   * with the task: several tasks may share this handle, and a drop cannot tell whose waker to
   * take back. The cost is one spurious wake when the task ends, which wakes ignore or survive
   * by polling again.
   */
  override drop(): void {}
}

/** The value of an outcome, or the error it stands for, thrown. */
function unwrap<T>(outcome: Outcome<T>, handle: JoinHandle<T>): T {
  switch (outcome.state) {
    case "ok":
      return outcome.value;
    case "error":
      throw outcome.error;
    case "cancelled":
      throw new TaskCancelledError(handle.id, handle.name);
  }
}

/**
 * One await of a join handle (`yield* handle`): hands the handle to the executor, then returns
 * the value the task was resumed with. A small object instead of a generator per join.
 */
class JoinAwait<T> implements Iterator<Future<unknown>, T, unknown> {
  #handle: JoinHandle<T> | null;

  constructor(handle: JoinHandle<T>) {
    this.#handle = handle;
  }

  next(value?: unknown): IteratorResult<Future<unknown>, T> {
    const handle = this.#handle;
    if (handle === null) return resumeWith<T>(value);
    this.#handle = null;
    return handOver(handle);
  }

  throw(error?: unknown): never {
    throw error;
  }

  return(value?: unknown): IteratorResult<Future<unknown>, T> {
    return { done: true, value: value as T };
  }
}
