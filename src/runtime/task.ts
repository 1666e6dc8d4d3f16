/**
 * A task: a future the executor owns and polls, with its scheduling state and the outcome its
 * joiners read. A task is one object where there were five: it is the {@link Context} its
 * future is polled with, the {@link Waker} that puts it back on the run queue (as a tokio
 * task's header is both its scheduling state and its waker's data), its own
 * {@link JoinHandle} (as tokio's handle is a pointer to that header), and, when spawned from a
 * generator, it runs the generator itself (it is its own {@link GeneratorRun}).
 *
 * @module
 */
import { dropGenerator, type GeneratorRun, generatorOf, pollGenerator } from "./async-future.ts";
import { type Context, POLL_BUDGET, type RuntimeCore, turnOutOfTime } from "./context.ts";
import { type Async, type Awaitable, type Future, PENDING, type Poll } from "./future.ts";
import { JoinHandle, type Outcome } from "./join-handle.ts";
import type { Waker } from "./waker.ts";

// Defined with the join handle, which throws it; exported here too, where tasks are.
export { type Outcome, TaskCancelledError } from "./join-handle.ts";

/**
 * Where a task is in its life. `runningWoken` records a wake that came while the task was
 * being polled, so that the executor polls it again instead of losing the wake;
 * `runningCancelled` a `cancel()` that came then, carried out when the poll returns (a state,
 * not a flag beside it: a field fewer per task).
 */
export const TaskState = {
  idle: 0,
  scheduled: 1,
  running: 2,
  runningWoken: 3,
  runningCancelled: 4,
  done: 5,
  cancelled: 6,
} as const;

/** One of the {@link TaskState} values. */
export type TaskStateValue = (typeof TaskState)[keyof typeof TaskState];

let nextTaskId = 1;

/** The outcome of every task that ended with `undefined` (outcomes are never changed). */
const OK_UNDEFINED: Outcome<undefined> = Object.freeze({ state: "ok", value: undefined });

/**
 * One spawned future and its state, and its join handle. The executor makes every state change.
 *
 * @example
 * ```ts
 * // Made by Executor.spawn, which returns it as the JoinHandle; a future polled by the task
 * // sees the task as its context:
 * poll(cx: Context) {
 *   cx.waker.wake(); // the task itself: back on the run queue
 *   return PENDING;
 * }
 * ```
 */
export class Task<T> extends JoinHandle<T> implements Context, Waker, GeneratorRun<T> {
  // Its fields (with Future's one) are counted: JSC puts an object of 13 to 18 fields in its
  // 160-byte size class, and one of 19 in the 224-byte one (bench/runtime.ts's header).

  // As a Context (see context.ts):
  wakerTaken = false;
  readonly taskId: number;
  readonly runtime: RuntimeCore;
  budget = POLL_BUDGET;
  preempted = false;

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
  /** How the task ended, null while it runs (read by the executor: not counted as joining). */
  ended: Outcome<T> | null = null;
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
    super();
    this.taskId = nextTaskId++;
    this.runtime = runtime;
    this.#name = name;
    const generator = generatorOf(awaitable);
    this.generator = generator as Async<T>;
    this.awaiting = generator === null ? (awaitable as Future<T>) : null;
  }

  /** The waker that puts this task back on the run queue: the task itself (see {@link Context.waker}). */
  get waker(): Waker {
    this.wakerTaken = true;
    return this;
  }

  outOfTime(): boolean {
    return turnOutOfTime(this);
  }

  /** The task's id, as traces show it. */
  get id(): number {
    return this.taskId;
  }

  get name(): string {
    return this.#name ?? `task ${this.taskId}`;
  }

  get finished(): boolean {
    return this.ended !== null;
  }

  claim(): void {
    this.observed = true;
  }

  outcome(): Outcome<T> | null {
    if (this.ended !== null) this.observed = true;
    return this.ended;
  }

  cancel(): void {
    this.runtime.executor.cancel(this as Task<unknown>);
  }

  /** Step 10: puts the task back on its executor's run queue (once). */
  wake(): void {
    this.runtime.executor.wakeTask(this as Task<unknown>);
  }

  /** Polls the task's future once (steps 2 and 11). Returns whether the task has finished. */
  pollFuture(): boolean {
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
      this.ended = { state: "error", error };
      return true;
    }
    if (value === PENDING) return false;
    // Most tasks end with no value: they share one outcome instead of leaving one each.
    this.ended = value === undefined ? (OK_UNDEFINED as Outcome<T>) : { state: "ok", value };
    return true;
  }

  /**
   * Ends the task as cancelled (the executor's part of {@link cancel}): drops its future, which
   * runs its `finally` blocks and releases its registrations and timers. Returns the error a
   * `finally` block threw, if any.
   */
  endCancelled(): unknown {
    this.ended = { state: "cancelled" };
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

  protected addJoiner(waker: Waker): void {
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
