/**
 * A task: a future the executor owns and polls, with its scheduling state, its waker and the
 * outcome its join handle reads.
 *
 * @module
 */
import { Context, POLL_BUDGET, type RuntimeCore } from "./context.ts";
import { dropAfterFailure, type Future, PENDING } from "./future.ts";
import { TaskWaker, type WakeTarget, type Waker } from "./waker.ts";

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

/** One spawned future and its state. The executor makes every state change. */
export class Task<T> {
  readonly id: number;
  readonly name: string;
  readonly waker: TaskWaker<Task<unknown>>;
  readonly cx: Context;
  readonly #future: Future<T>;
  state: TaskStateValue = TaskState.scheduled;
  outcome: Outcome<T> | null = null;
  /** A cancel asked for while the task was running, carried out when its poll returns. */
  cancelRequested = false;
  /** Whether anyone has joined (or is joining) the task: its failure is then theirs to see. */
  observed = false;
  /** How many times the task has been polled. */
  polls = 0;
  readonly #joiners: Waker[] = [];

  constructor(future: Future<T>, name: string | undefined, target: WakeTarget<Task<unknown>>, runtime: RuntimeCore) {
    this.id = nextTaskId++;
    this.name = name ?? `task ${this.id}`;
    this.#future = future;
    this.waker = new TaskWaker<Task<unknown>>(this, target);
    this.cx = new Context(this.waker, this.id, runtime);
  }

  get finished(): boolean {
    return this.outcome !== null;
  }

  /** Polls the future once (steps 2 and 11). Returns whether the task has finished. */
  poll(): boolean {
    this.polls++;
    this.cx.budget = POLL_BUDGET;
    let value: T | typeof PENDING;
    try {
      value = this.#future.poll(this.cx);
    } catch (error) {
      dropAfterFailure(this.#future);
      this.outcome = { state: "error", error };
      return true;
    }
    if (value === PENDING) return false;
    this.outcome = { state: "ok", value };
    return true;
  }

  /**
   * Ends the task as cancelled: drops its future, which runs its `finally` blocks and releases
   * its registrations and timers. Returns the error a `finally` block threw, if any.
   */
  cancel(): unknown {
    this.outcome = { state: "cancelled" };
    try {
      this.#future.drop();
      return undefined;
    } catch (error) {
      return error;
    }
  }

  addJoiner(waker: Waker): void {
    this.observed = true;
    if (!this.#joiners.includes(waker)) this.#joiners.push(waker);
  }

  /** Wakes everyone waiting to join, once the task has finished. */
  wakeJoiners(): void {
    for (const waker of this.#joiners.splice(0)) waker.wake();
  }
}
