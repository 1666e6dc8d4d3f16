/**
 * The context a future is polled with: Rust's `Context`, plus what this runtime's leaf futures
 * need to reach (the reactor, the timers, the trace hook).
 *
 * @module
 */
import type { Executor } from "./executor.ts";
import type { Reactor } from "./reactor.ts";
import type { TimerQueue } from "./timers.ts";
import type { TraceHook } from "./trace.ts";
import type { Waker } from "./waker.ts";

/** The parts of a runtime that futures use while they are polled. */
export interface RuntimeCore {
  readonly executor: Executor;
  readonly reactor: Reactor;
  readonly timers: TimerQueue;
  /** The trace hook, or null when tracing is off (then each emit point costs one branch). */
  readonly trace: TraceHook | null;
}

/** How many futures a task may find ready in one poll before it must let others run. */
export const POLL_BUDGET = 128;

/**
 * What the executor passes to every poll of one task: that task's waker and its runtime.
 * One context per task, reused by every poll.
 */
export class Context {
  readonly #waker: Waker;
  /**
   * Whether this poll has taken the waker. A poll that returns pending without taking it left
   * nothing that could wake the task (a lost wake, which the console warns about); the task
   * clears it before each poll.
   */
  wakerTaken = false;
  /** The task's id, for traces (0 outside a task). */
  readonly taskId: number;
  readonly runtime: RuntimeCore;
  /**
   * Ready futures this poll may still consume (cooperative scheduling: a task whose futures
   * are always ready would otherwise never give the others a turn).
   */
  budget = POLL_BUDGET;
  /** Set when a poll stopped because the turn's time was up: the task continues first next turn. */
  preempted = false;

  /** @param waker the task's waker; null when the context is itself the waker (a task). */
  constructor(waker: Waker | null, taskId: number, runtime: RuntimeCore) {
    this.#waker = waker ?? (this as unknown as Waker);
    this.taskId = taskId;
    this.runtime = runtime;
  }

  /**
   * Whether the executor's turn is out of time (one clock read, none at all without a time
   * budget), so that a task awaiting many ready futures in one poll also yields when the turn's
   * time is up, not only when its budget of awaits is; if so, the poll is marked
   * {@link preempted}. The deadline is the turn's, kept by the executor: not a field per task.
   */
  outOfTime(): boolean {
    const executor = this.runtime.executor;
    const deadlineMs = executor.turnDeadlineMs;
    if (deadlineMs === Infinity || executor.clock() < deadlineMs) return false;
    this.preempted = true;
    return true;
  }

  /** The waker that puts this task back on the run queue. */
  get waker(): Waker {
    this.wakerTaken = true;
    return this.#waker;
  }
}
