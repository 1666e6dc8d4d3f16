/**
 * A task: a future the executor owns and polls, with its scheduling state and the outcome its
 * join handle reads. A task is also the {@link Context} its future is polled with and the
 * {@link Waker} that puts it back on the run queue: one object where there were three, as a
 * tokio task's header is both its scheduling state and its waker's data. A task spawned from a
 * generator also runs the generator itself (it is its own {@link GeneratorRun}), with no driver
 * object between them.
 *
 * @module
 */
import { dropGenerator, type GeneratorRun, generatorOf, pollGenerator } from "./async-future.ts";
import { Context, POLL_BUDGET, type RuntimeCore } from "./context.ts";
import { type Async, type Awaitable, type Future, PENDING, type Poll } from "./future.ts";
import type { Waker } from "./waker.ts";

/**
 * Where a task is in its life. `runningWoken` records a wake that came while the task was
 * being polled, so that the executor polls it again instead of losing the wake.
 */
export const TaskState = {
  idle: 0,
  scheduled: 1,
  running: 2,
  runningWoken: 3,
  done: 4,
  cancelled: 5,
} as const;

/** One of the {@link TaskState} values. */
export type TaskStateValue = (typeof TaskState)[keyof typeof TaskState];

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

let nextTaskId = 1;

/** The outcome of every task that ended with `undefined` (outcomes are never changed). */
const OK_UNDEFINED: Outcome<undefined> = Object.freeze({ state: "ok", value: undefined });

/**
 * One spawned future and its state. The executor makes every state change.
 *
 * @example
 * ```ts
 * // Made by Executor.spawn; a future polled by the task sees the task as its context:
 * poll(cx: Context) {
 *   cx.waker.wake(); // the task itself: back on the run queue
 *   return PENDING;
 * }
 * ```
 */
export class Task<T> extends Context implements Waker, GeneratorRun<T> {
  /** The name given at spawn, if any (the default name is made only when asked for). */
  readonly #name: string | undefined;
  /**
   * The generator spawned, which the task runs itself (see {@link GeneratorRun}); null (though
   * typed as set) when a future was spawned: that future is then {@link awaiting} for good.
   */
  readonly generator: Async<T>;
  /** The future the generator awaits (or the future spawned, if no generator was). */
  awaiting: Future<unknown> | null;
  input: unknown = undefined;
  state: TaskStateValue = TaskState.scheduled;
  outcome: Outcome<T> | null = null;
  /** A cancel asked for while the task was running, carried out when its poll returns. */
  cancelRequested = false;
  /** Whether anyone has joined (or is joining) the task: its failure is then theirs to see. */
  observed = false;
  /** How many times the task has been polled. */
  polls = 0;
  /**
   * Who waits to join this task: nobody, one waker (a task, or a Promise's), or, rarely,
   * several in an array (one field where two were: 8 bytes a task).
   */
  #joiners: Waker | Waker[] | null = null;
  /** The executor's list of live tasks, in spawn order, threaded through the tasks themselves. */
  aliveNext: Task<unknown> | null = null;
  alivePrev: Task<unknown> | null = null;

  /** Throws a TypeError naming `awaitable` if it is neither a future nor a generator. */
  constructor(awaitable: Awaitable<T>, name: string | undefined, runtime: RuntimeCore) {
    // The task is its own waker (null): `cx.waker.wake()` from a future polled by it calls `wake` below.
    super(null, nextTaskId++, runtime);
    this.#name = name;
    const generator = generatorOf(awaitable);
    this.generator = generator as Async<T>;
    this.awaiting = generator === null ? (awaitable as Future<T>) : null;
  }

  /** The task's id, as traces show it. */
  get id(): number {
    return this.taskId;
  }

  get name(): string {
    return this.#name ?? `task ${this.taskId}`;
  }

  get finished(): boolean {
    return this.outcome !== null;
  }

  /** Step 10: puts the task back on its executor's run queue (once). */
  wake(): void {
    this.runtime.executor.wakeTask(this as Task<unknown>);
  }

  /** Polls the future once (steps 2 and 11). Returns whether the task has finished. */
  poll(): boolean {
    this.polls++;
    this.budget = POLL_BUDGET;
    this.wakerTaken = false;
    let value: Poll<T>;
    try {
      value = this.generator === null ? (this.awaiting!.poll(this) as Poll<T>) : pollGenerator(this, this);
    } catch (error) {
      // The body may still hold what an earlier poll registered; a failing drop must not hide
      // the first error.
      try {
        this.#dropBody();
      } catch {
        // the error being thrown already is the one to report
      }
      this.outcome = { state: "error", error };
      return true;
    }
    if (value === PENDING) return false;
    // Most tasks end with no value: they share one outcome instead of leaving one each.
    this.outcome = value === undefined ? (OK_UNDEFINED as Outcome<T>) : { state: "ok", value };
    return true;
  }

  /**
   * Ends the task as cancelled: drops its future, which runs its `finally` blocks and releases
   * its registrations and timers. Returns the error a `finally` block threw, if any.
   */
  cancel(): unknown {
    this.outcome = { state: "cancelled" };
    try {
      this.#dropBody();
      return undefined;
    } catch (error) {
      return error;
    }
  }

  /** Drops the future, or closes the generator (its `finally` blocks run). */
  #dropBody(): void {
    if (this.generator === null) this.awaiting!.drop();
    else dropGenerator(this);
  }

  /** Adds a waker to wake when the task finishes; the same waker twice is kept once. */
  addJoiner(waker: Waker): void {
    this.observed = true;
    const joiners = this.#joiners;
    if (joiners === null) {
      this.#joiners = waker;
    } else if (Array.isArray(joiners)) {
      if (!joiners.includes(waker)) joiners.push(waker);
    } else if (joiners !== waker) {
      this.#joiners = [joiners, waker];
    }
  }

  /** Wakes everyone waiting to join, once the task has finished. */
  wakeJoiners(): void {
    const joiners = this.#joiners;
    this.#joiners = null;
    if (joiners === null) return;
    if (Array.isArray(joiners)) for (const waker of joiners) waker.wake();
    else joiners.wake();
  }
}
