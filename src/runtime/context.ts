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
 * What the executor passes to every poll of one task: that task's waker and its runtime. A
 * task is its own context (`Task` in `task.ts`), reused by every poll; `new Context(waker,
 * taskId, runtime)` makes a context of its own, for polling a future outside any task (as
 * Rust's `Context::from_waker`).
 *
 * @example
 * ```ts
 * poll(cx: Context): Poll<number> {
 *   if (this.#value !== null) return this.#value;
 *   this.#waker = cx.waker; // woken when the value comes
 *   return PENDING;
 * }
 * ```
 */
export interface Context {
  /** The waker that puts this task back on the run queue; reading it counts as taking it. */
  readonly waker: Waker;
  /**
   * Whether this poll has taken the waker. A poll that returns pending without taking it left
   * nothing that could wake the task (a lost wake, which the console warns about); the task
   * clears it before each poll.
   */
  wakerTaken: boolean;
  /** The task's id, for traces (0 outside a task). */
  readonly taskId: number;
  readonly runtime: RuntimeCore;
  /**
   * Ready futures this poll may still consume (cooperative scheduling: a task whose futures
   * are always ready would otherwise never give the others a turn).
   */
  budget: number;
  /** Set when a poll stopped because the turn's time was up: the task continues first next turn. */
  preempted: boolean;
  /**
   * Counts one future found ready in this poll against its {@link budget} and checks the turn's
   * time, so that a task awaiting many ready futures in one poll also yields when the turn's
   * time is up; if so, the poll is marked {@link preempted}. True when the poll must stop there
   * (the value is kept for its next poll). One check without a time budget (see {@link turnOutOfTime}).
   */
  readyAwait(): boolean;
}

/**
 * Whether the executor's turn is out of time, for {@link Context.readyAwait} of any context
 * (marking it preempted if so): none at all without a time budget, a read of the clock now and
 * then with one (`turn.ts`). The deadline is the turn's, kept by the executor: not a field per task.
 *
 * @example
 * ```ts
 * readyAwait(): boolean {
 *   return --this.budget <= 0 || turnOutOfTime(this);
 * }
 * ```
 */
export function turnOutOfTime(cx: Context): boolean {
  if (!cx.runtime.executor.outOfTurnTime()) return false;
  cx.preempted = true;
  return true;
}

/** A context of its own around a waker, for polling a future outside any task. */
class WakerContext implements Context {
  readonly #waker: Waker;
  wakerTaken = false;
  readonly taskId: number;
  readonly runtime: RuntimeCore;
  budget = POLL_BUDGET;
  preempted = false;

  constructor(waker: Waker, taskId: number, runtime: RuntimeCore) {
    this.#waker = waker;
    this.taskId = taskId;
    this.runtime = runtime;
  }

  readyAwait(): boolean {
    return --this.budget <= 0 || turnOutOfTime(this);
  }

  get waker(): Waker {
    this.wakerTaken = true;
    return this.#waker;
  }
}

/**
 * Makes a {@link Context} around `waker`, to poll a future outside any task (a test, a future
 * driven by hand); `taskId` is what traces show (0: none).
 *
 * @example
 * ```ts
 * const cx = new Context({ wake: () => console.log("woken") }, 0, runtime);
 * if (future.poll(cx) === PENDING) console.log("pending: the waker above is woken later");
 * ```
 */
export const Context: new (waker: Waker, taskId: number, runtime: RuntimeCore) => Context = WakerContext;
