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
import { awaitFailed, dropGenerator, type GeneratorRun, generatorOf, stepGenerator } from "./async-future.ts";
import type { Context, RuntimeCore } from "./context.ts";
import { type Async, type Awaitable, type Future, PENDING, type Poll } from "./future.ts";
import { JoinHandle, type Outcome } from "./join-handle.ts";
import { traceEvent } from "./trace.ts";
import type { Waker } from "./waker.ts";

// Defined with the join handle, which throws it; exported here too, where tasks are.
export { type Outcome, TaskCancelledError } from "./join-handle.ts";

/**
 * Where a task is in its life. `runningWoken` records a wake that came while the task was
 * being polled, so that the executor polls it again instead of losing the wake;
 * `runningCancelled` a `cancel()` that came then, carried out when the poll returns;
 * `idleWakerNotTaken` is idle after a poll that returned pending without taking its waker (a lost
 * wake, which the console warns about, unless the future stored a waker it had taken before).
 * States, not flags beside them: fields fewer per task.
 */
export const TaskState = {
  idle: 0,
  scheduled: 1,
  running: 2,
  runningWoken: 3,
  runningCancelled: 4,
  idleWakerNotTaken: 5,
  done: 6,
  cancelled: 7,
} as const;

/** One of the {@link TaskState} values. */
export type TaskStateValue = (typeof TaskState)[keyof typeof TaskState];

let nextTaskId = 1;

/**
 * The names given at spawn, kept beside the tasks rather than in a field of each: most tasks
 * have none (the default name is made only when asked for), and a field would cost every task.
 */
const givenNames = new WeakMap<object, string>();

/**
 * A task's joiners once someone has joined it (claimed it, read its outcome, or was woken when
 * it ended) and nobody waits now: so that "observed" needs no field of its own.
 */
const JOINED: Waker = Object.freeze({ wake() {} });

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
  // Its fields (with Future's one) are counted: JSC puts an object of 9 to 12 fields in its
  // 112-byte size class, of 13 to 18 in the 160-byte one (bench/runtime.ts's header). Hence what
  // is not here: the name (in givenNames), whether it was joined (in #joiners), and the state of
  // the poll in progress, which is the executor's since it polls one task at a time (its budget,
  // its preemption, whether it took the waker: kept past the poll as the state `idleWakerNotTaken`).

  // In the order a poll reads them, so that a poll touches as few cache lines as it can: JSC
  // lays fields out in the order they are defined, after Future's one.
  // As a Context (see context.ts):
  readonly runtime: RuntimeCore;
  /**
   * The generator spawned, which the task runs itself (see {@link GeneratorRun}); null (though
   * typed as set) when a future was spawned: that future is then {@link awaiting} for good.
   */
  readonly generator: Async<T>;
  /** The future the generator awaits (or the future spawned, if no generator was). */
  awaiting: Future<unknown> | null;
  input: unknown = undefined;
  state: TaskStateValue = TaskState.scheduled;
  /** How many times the task has been polled. */
  polls = 0;
  readonly taskId: number;
  /** How the task ended, null while it runs (read by the executor: not counted as joining). */
  ended: Outcome<T> | null = null;
  /**
   * Who waits to join this task: never anyone (null), nobody now though someone joined
   * ({@link JOINED}), one waker (a task, or a Promise's), or, rarely, several in an array.
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
    if (name !== undefined) givenNames.set(this, name);
    const generator = generatorOf(awaitable);
    this.generator = generator as Async<T>;
    this.awaiting = generator === null ? (awaitable as Future<T>) : null;
  }

  /** The waker that puts this task back on the run queue: the task itself (see {@link Context.waker}). */
  get waker(): Waker {
    this.runtime.executor.pollWakerTaken = true;
    return this;
  }

  /**
   * Whether the latest poll took the waker (see {@link Context.wakerTaken}): the executor's
   * while the task is polled; afterwards a task that went idle without it is `idleWakerNotTaken`.
   */
  get wakerTaken(): boolean {
    const state = this.state;
    if (state === TaskState.running || state === TaskState.runningWoken || state === TaskState.runningCancelled) {
      return this.runtime.executor.pollWakerTaken;
    }
    return state !== TaskState.idleWakerNotTaken;
  }

  set wakerTaken(value: boolean) {
    this.runtime.executor.pollWakerTaken = value;
  }

  /** See {@link Context.readyAwait}: the executor's, which keeps the poll's budget. */
  readyAwait(): boolean {
    return this.runtime.executor.readyAwait();
  }

  /** The budget of the poll in progress (see {@link Context.budget}): the executor's. */
  get budget(): number {
    return this.runtime.executor.pollBudget;
  }

  set budget(value: number) {
    this.runtime.executor.pollBudget = value;
  }

  /** Whether the poll in progress was cut short by the turn's time: the executor's. */
  get preempted(): boolean {
    return this.runtime.executor.pollPreempted;
  }

  set preempted(value: boolean) {
    this.runtime.executor.pollPreempted = value;
  }

  /** Whether anyone has joined (or is joining) the task: its failure is then theirs to see. */
  get observed(): boolean {
    return this.#joiners !== null;
  }

  /** The task's id, as traces show it. */
  get id(): number {
    return this.taskId;
  }

  get name(): string {
    return givenNames.get(this) ?? `task ${this.taskId}`;
  }

  get finished(): boolean {
    return this.ended !== null;
  }

  claim(): void {
    this.#joiners ??= JOINED;
  }

  outcome(): Outcome<T> | null {
    if (this.ended !== null) this.claim();
    return this.ended;
  }

  cancel(): void {
    this.runtime.executor.cancel(this as Task<unknown>);
  }

  /** Step 10: puts the task back on its executor's run queue (once). */
  wake(): void {
    if (this.state === TaskState.running) {
      // Woken by its own poll (a yield, a spent budget, a future it wakes itself): the
      // executor polls it again after this poll. The commonest wake, so it is decided here.
      this.state = TaskState.runningWoken;
      const trace = this.runtime.trace;
      if (trace !== null) trace(traceEvent("wake", { task: this.taskId, detail: "itself" }));
      return;
    }
    this.runtime.executor.wakeTask(this as Task<unknown>);
  }

  /** Polls the task's future once (steps 2 and 11). Returns whether the task has finished. */
  pollFuture(): boolean {
    this.polls++;
    let value: Poll<T>;
    for (;;) {
      // One `try` for the whole poll (pollGenerator's, here): stepGenerator has none, so that
      // it can be compiled into this method.
      try {
        value = this.generator === null ? (this.awaiting!.poll(this) as Poll<T>) : stepGenerator(this, this);
        break;
      } catch (error) {
        if (this.generator !== null && this.awaiting !== null) {
          awaitFailed(this, error); // a future it awaited failed: thrown at that await
          continue;
        }
        this.#fail(error);
        return true;
      }
    }
    if (value === PENDING) return false;
    // Most tasks end with no value: they share one outcome instead of leaving one each.
    this.ended = value === undefined ? (OK_UNDEFINED as Outcome<T>) : { state: "ok", value };
    return true;
  }

  /** Ends the task with `error`, which its body threw. */
  #fail(error: unknown): void {
    // The body may still hold what an earlier poll registered; a failing drop must not hide
    // the first error.
    try {
      this.#dropBody();
    } catch {
      // the error being thrown already is the one to report
    }
    this.ended = { state: "error", error };
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
    const joiners = this.#joiners;
    if (joiners === null || joiners === JOINED) {
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
    if (joiners === null || joiners === JOINED) return;
    this.#joiners = JOINED;
    if (Array.isArray(joiners)) for (const waker of joiners) waker.wake();
    else joiners.wake();
  }
}
