/**
 * The executor: a FIFO run queue of tasks that it polls itself (steps 1, 2, 7, 10 and 11).
 *
 * ```text
 * spawn ──▶ [run queue] ──▶ poll ──▶ ready ──▶ done, joiners woken
 *              ▲                 └──▶ pending ──▶ parked until its waker is woken
 *              └──── wake ◀──── reactor / timers / join handles / other tasks
 * ```
 *
 * @module
 */
import { POLL_BUDGET, type RuntimeCore } from "./context.ts";
import type { Driver } from "./driver.ts";
import type { Awaitable } from "./future.ts";
import type { JoinHandle } from "./join-handle.ts";
import { RunQueue } from "./run-queue.ts";
import { Task, TaskState, type TaskStateValue } from "./task.ts";
import { now } from "./timers.ts";
import { traceEvent } from "./trace.ts";
import { TurnTiming } from "./turn.ts";
import type { Waker } from "./waker.ts";

/** Options of {@link Executor.spawn}. */
export interface SpawnOptions {
  /** A name for traces and error reports. */
  readonly name?: string;
}

/** Called with a task's error when the task failed and nobody joined it. */
export type UnjoinedErrorHandler = (error: unknown, task: { readonly id: number; readonly name: string }) => void;

/** The default report of an unjoined failure: the task and the error's stack, on stderr. */
export function reportUnjoinedError(error: unknown, task: { readonly id: number; readonly name: string }): void {
  const detail = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  console.error(`bun-reactor: ${task.name} (task ${task.id}) failed and nobody joined it:\n${detail}`);
}

/** Options of an {@link Executor}. */
export interface ExecutorOptions {
  /** Called when a task fails and nobody joins it (default: {@link reportUnjoinedError}). */
  readonly onUnjoinedError?: UnjoinedErrorHandler | undefined;
  /**
   * How long one turn ({@link Executor.runTurn}) or one call of {@link Executor.runReady} may
   * poll tasks, in milliseconds (default `Infinity`: every task that was ready when it began).
   * When the time is up, the tasks not yet polled stay at the head of the run queue, in order,
   * for the next call.
   */
  readonly turnBudgetMs?: number | undefined;
  /** The clock the budget is measured with, in milliseconds (default `performance.now`). */
  readonly clock?: (() => number) | undefined;
}

/**
 * While tasks are ready, how many polls may run between two checks of the OS (tokio's
 * `event_interval` is 61): a turn with few ready tasks then does not pay a system call.
 */
export const OS_CHECK_POLLS = 61;

/** Thrown by `blockOn` when its task waits but nothing could ever wake it. */
export class DeadlockError extends Error {
  override readonly name = "DeadlockError";
}

/**
 * The `pending` trace event's detail for a poll cut short by the turn's time: the task woke
 * itself only to go on first next turn, which the console does not count as a self-wake.
 *
 * @example
 * ```ts
 * const preempted = event.kind === "pending" && event.detail === PREEMPTED_DETAIL;
 * ```
 */
export const PREEMPTED_DETAIL = "cut short by the turn's time: goes on first next turn";

/**
 * What woke a task, as the `wake` trace event's detail says: `"itself"` (its own poll woke it),
 * `"another task"`, `"join"` (a task it joins ended), `"timer"`, `"reactor"` (an OS event),
 * `"another thread"` (a remote wake through the poller) or `"outside the runtime"` (a promise,
 * a spawn from the host app).
 */
export type WakeCause = "itself" | "another task" | "join" | "timer" | "reactor" | "another thread" | "outside the runtime";

/** A task as {@link Executor.snapshot} sees it: copies, for a viewer such as the console. */
export interface TaskSnapshot {
  readonly id: number;
  readonly name: string;
  readonly state: "scheduled" | "running" | "idle";
  readonly polls: number;
  /** Whether its latest poll took its waker (`cx.waker`): a pending task that did not is lost. */
  readonly wakerTaken: boolean;
  /** Its waker, to find where it is stored (the reactor's snapshot lists wakers). */
  readonly waker: Waker;
}

/** What a snapshot calls each live state (`TaskState` values 0 to 5). */
const stateNames = ["idle", "scheduled", "running", "running", "running", "idle"] as const;

/** Runs tasks: spawns them, polls the ready ones in order, parks in the driver when none is. */
export class Executor {
  readonly #runtime: RuntimeCore;
  readonly #driver: Driver;
  readonly #onUnjoinedError: UnjoinedErrorHandler;
  /** The turn's time budget, deadline and prediction (see `turn.ts`). */
  readonly #timing: TurnTiming;
  /**
   * Ready futures the poll in progress may still consume (a task's `cx.budget`): the
   * executor's, since it polls one task at a time, rather than a field of every task.
   */
  pollBudget = POLL_BUDGET;
  /** Whether the poll in progress was cut short by the turn's time (a task's `cx.preempted`). */
  pollPreempted = false;
  /** Whether the poll in progress has taken its task's waker (a task's `cx.wakerTaken`). */
  pollWakerTaken = false;
  readonly #queue = new RunQueue<Task<unknown>>();
  /** The live tasks, in spawn order: a list threaded through the tasks (no hashing, no entry objects). */
  #aliveHead: Task<unknown> | null = null;
  #aliveTail: Task<unknown> | null = null;
  #aliveCount = 0;
  /** Polls since the driver last checked the OS (see {@link OS_CHECK_POLLS}). */
  #pollsSinceOsCheck = 0;
  #failed: Task<unknown>[] = [];
  /** What is waking tasks now, for the `wake` trace event (set per turn, not per poll). */
  #waking: WakeCause = "outside the runtime";
  /**
   * Called whenever a task goes on the run queue or ends, for a runtime that runs the executor
   * from Bun's event loop instead of a loop of its own (the embedded driver): it schedules a
   * turn, which also decides whether the process must be kept alive.
   */
  onActivity: (() => void) | null = null;
  /**
   * Told how long each turn that polled a task took, in milliseconds (one {@link runReady} of
   * the executor loop, or one {@link runTurn}), for metrics. Null, the default: a turn pays one
   * comparison and reads no clock.
   */
  turnObserver: ((ms: number) => void) | null = null;

  constructor(runtime: RuntimeCore, driver: Driver, options: ExecutorOptions = {}) {
    this.#runtime = runtime;
    this.#driver = driver;
    this.#onUnjoinedError = options.onUnjoinedError ?? reportUnjoinedError;
    this.#timing = new TurnTiming(options.turnBudgetMs ?? Infinity, options.clock ?? now);
  }

  /** How many tasks have been spawned and have not finished. */
  get alive(): number {
    return this.#aliveCount;
  }

  /** How many tasks are on the run queue. */
  get ready(): number {
    return this.#queue.length;
  }

  /**
   * The tasks alive now (the first `limit` of them), in the order they were spawned: a
   * read-only view for a viewer such as the console, which calls it between polls.
   *
   * @example
   * ```ts
   * for (const task of runtime.executor.snapshot()) console.log(task.id, task.name, task.state, task.polls);
   * ```
   */
  snapshot(limit = Number.POSITIVE_INFINITY): TaskSnapshot[] {
    const tasks: TaskSnapshot[] = [];
    for (let task = this.#aliveHead; task !== null && tasks.length < limit; task = task.aliveNext) {
      // The task is its own waker; reading `task.waker` would count as taking it.
      tasks.push({
        id: task.id,
        name: task.name,
        state: stateNames[task.state as 0 | 1 | 2 | 3 | 4 | 5],
        polls: task.polls,
        wakerTaken: task.wakerTaken,
        waker: task,
      });
    }
    return tasks;
  }

  /**
   * Step 1: makes a task of `awaitable` and puts it on the run queue; the task is its own join
   * handle. Works from outside the runtime and from inside a task alike.
   */
  spawn<T>(awaitable: Awaitable<T>, options?: SpawnOptions): JoinHandle<T> {
    // (No `= {}` default: that would be an object per spawn.)
    const task = new Task(awaitable, options?.name, this.#runtime);
    this.#addAlive(task as Task<unknown>);
    this.#queue.push(task as Task<unknown>);
    this.onActivity?.();
    const trace = this.#runtime.trace;
    if (trace !== null) trace(traceEvent("spawn", { task: task.id, detail: task.name }));
    return task;
  }

  /** Step 10: a waker puts its task back on the run queue, once. */
  wakeTask(task: Task<unknown>): void {
    const self = task.state === TaskState.running;
    switch (task.state) {
      case TaskState.idle:
      case TaskState.idleWakerNotTaken:
        task.state = TaskState.scheduled;
        this.#queue.push(task);
        this.onActivity?.();
        break;
      case TaskState.running:
        // Woken while it runs: poll it again after this poll, or the wake would be lost.
        task.state = TaskState.runningWoken;
        break;
      default:
        return; // already queued or woken, finished, or cancelled
    }
    const trace = this.#runtime.trace;
    if (trace !== null) trace(traceEvent("wake", { task: task.id, detail: this.#wakeCause(self) }));
  }

  #wakeCause(self: boolean): WakeCause {
    switch (this.#waking) {
      case "another task":
        return self ? "itself" : "another task";
      case "reactor":
        return this.#runtime.reactor.wakingRemote ? "another thread" : "reactor";
      default:
        return this.#waking;
    }
  }

  /**
   * Cancels a task: drops its future (its `finally` blocks run, its registrations and timers
   * are released) and fails its join handle with `TaskCancelledError`. A task that cancels
   * itself is cancelled when its current poll returns.
   */
  cancel(task: Task<unknown>): void {
    if (task.finished) return;
    if (task.state === TaskState.running || task.state === TaskState.runningWoken) {
      // Its poll may not be cut short: it is cancelled when the poll returns.
      task.state = TaskState.runningCancelled;
      return;
    }
    if (task.state === TaskState.runningCancelled) return;
    this.#cancelNow(task);
  }

  #cancelNow(task: Task<unknown>): void {
    // A queued task stays in the queue; the executor skips it when it comes out.
    task.state = TaskState.cancelled;
    const error = task.endCancelled();
    this.#finish(task);
    if (error !== undefined) this.#onUnjoinedError(error, task);
  }

  #addAlive(task: Task<unknown>): void {
    task.alivePrev = this.#aliveTail;
    if (this.#aliveTail === null) this.#aliveHead = task;
    else this.#aliveTail.aliveNext = task;
    this.#aliveTail = task;
    this.#aliveCount++;
  }

  #removeAlive(task: Task<unknown>): void {
    const { alivePrev: prev, aliveNext: next } = task;
    if (prev === null) this.#aliveHead = next;
    else prev.aliveNext = next;
    if (next === null) this.#aliveTail = prev;
    else next.alivePrev = prev;
    task.alivePrev = null;
    task.aliveNext = null;
    this.#aliveCount--;
  }

  #finish(task: Task<unknown>): void {
    this.#removeAlive(task);
    const waking = this.#waking;
    this.#waking = "join";
    task.wakeJoiners();
    this.#waking = waking;
    this.onActivity?.();
    if (task.ended?.state === "error" && !task.observed) this.#failed.push(task);
  }

  /**
   * Steps 2, 7 and 11: polls each task that was on the run queue when this call began, in
   * order. Tasks woken meanwhile wait for the next call, after the OS has been checked, so that
   * a task that keeps waking itself cannot starve I/O. With a turn budget, it stops once the
   * budget is spent (it always polls one task): the others keep their places at the head of the
   * queue, and a task in the middle of a poll stops at its next ready await and goes on first
   * in the next call. Returns how many tasks were polled.
   */
  runReady(): number {
    const observer = this.turnObserver;
    if (observer === null) return this.#runPass(this.#timing.startTurn());
    const startedMs = now();
    const polled = this.#runPass(this.#timing.startTurn());
    if (polled > 0) observer(now() - startedMs);
    return polled;
  }

  /**
   * One turn of a runtime that shares its thread ({@link Runtime.turn}): passes of
   * {@link runReady}, each followed by a check of the OS and the timers that does not block
   * (`park(0)`), until no task is ready or the turn's time budget is spent. Tasks that wake each
   * other then go on within the turn instead of paying a return to the host per wake, and a
   * datagram that arrives during the turn is taken in it. Without a time budget, one pass:
   * nothing else would bound the turn.
   */
  runTurn(): void {
    const timing = this.#timing;
    const observer = this.turnObserver;
    const startedMs = observer === null ? 0 : now();
    const deadlineMs = timing.startTurn();
    let polled = 0;
    do {
      polled += this.#runPass(deadlineMs);
      this.park(0);
    } while (this.#queue.length > 0 && timing.goesOn(deadlineMs));
    if (observer !== null && polled > 0) observer(now() - startedMs);
  }

  /** {@link runReady} until `deadlineMs` (`Infinity`: no time budget). */
  #runPass(deadlineMs: number): number {
    const queue = this.#queue;
    const timing = this.#timing;
    const count = queue.length;
    let index = 0;
    timing.startPass(deadlineMs);
    this.#waking = "another task";
    for (; index < count; index++) {
      if (index > 0 && timing.passed()) break;
      const task = queue.shift()!;
      if (task.state !== TaskState.scheduled) continue; // cancelled while queued
      this.#pollTask(task);
    }
    timing.endPass();
    this.#waking = "outside the runtime";
    this.#pollsSinceOsCheck += index;
    this.#reportUnjoinedFailures();
    return index;
  }

  /** Whether the polled task should stop before its next ready await ({@link TurnTiming.outOfTime}). */
  outOfTurnTime(): boolean {
    return this.#timing.outOfTime();
  }

  /**
   * A task's {@link Context.readyAwait}: one future found ready in the poll in progress counts
   * against its budget ({@link pollBudget}); then, with a time budget, the turn's time. The
   * budget and the time are checked here in one call, rather than through the task's budget
   * accessors and a chain of calls for the time.
   */
  readyAwait(): boolean {
    if (--this.pollBudget <= 0) return true;
    if (!this.#timing.outOfTime()) return false;
    this.pollPreempted = true;
    return true;
  }

  #pollTask(task: Task<unknown>): void {
    const trace = this.#runtime.trace;
    task.state = TaskState.running;
    if (trace !== null) trace(traceEvent(task.polls === 0 ? "poll" : "re-poll", { task: task.id }));
    this.pollBudget = POLL_BUDGET;
    this.pollWakerTaken = false;
    this.pollPreempted = false;
    if (task.pollFuture()) return this.#polledReady(task);
    // (The poll may have changed the state: through the task's waker, or by cancelling it.)
    if ((task.state as TaskStateValue) === TaskState.runningWoken && !this.pollPreempted) {
      // Woken while it ran (a yield, a spent budget): queued again, behind the others. The
      // commonest end of a poll, so it comes first; the others are in #polledPending.
      task.state = TaskState.scheduled;
      this.#queue.push(task);
      if (trace !== null) trace(traceEvent("pending", { task: task.id, detail: "woken while it ran: queued again" }));
      return;
    }
    this.#polledPending(task);
  }

  /** Step 11: the task's poll returned its outcome. */
  #polledReady(task: Task<unknown>): void {
    task.state = TaskState.done;
    this.#finish(task);
    const trace = this.#runtime.trace;
    if (trace !== null) trace(traceEvent("ready", { task: task.id, detail: task.ended!.state }));
  }

  /** The task's poll returned pending, and it was not simply woken while it ran. */
  #polledPending(task: Task<unknown>): void {
    const trace = this.#runtime.trace;
    if (task.state === TaskState.runningCancelled) {
      // The task cancelled itself.
      this.#cancelNow(task);
    } else if (task.state === TaskState.runningWoken) {
      // Cut short by the turn's time, not by its own choice: it goes on where it stopped,
      // before the tasks behind it, so that budgets change when work runs, never its order.
      task.state = TaskState.scheduled;
      this.pollPreempted = false;
      // A poll cut short ends the turn even before the deadline: it was predicted to pass it.
      this.#timing.cutShort();
      this.#queue.unshift(task);
      if (trace !== null) trace(traceEvent("pending", { task: task.id, detail: PREEMPTED_DETAIL }));
    } else {
      // Step 7: pending, and nobody woke it: paused until its waker is woken.
      task.state = this.pollWakerTaken ? TaskState.idle : TaskState.idleWakerNotTaken;
      if (trace !== null) trace(traceEvent("pending", { task: task.id }));
    }
  }

  /** Reports the tasks that failed in this turn and that nobody has joined since. */
  #reportUnjoinedFailures(): void {
    if (this.#failed.length === 0) return;
    const failed = this.#failed;
    this.#failed = [];
    for (const task of failed) {
      if (task.observed || task.ended?.state !== "error") continue;
      task.claim();
      this.#onUnjoinedError(task.ended.error, task);
    }
  }

  /**
   * Fires due timers, then waits for the OS in the driver (steps 8 and 9) for at most
   * `limitMs` (negative: until something happens), or only checks it if tasks are ready
   * (and then only once per {@link OS_CHECK_POLLS} polls). Throws {@link DeadlockError}
   * rather than wait forever when nothing could end the wait.
   */
  park(limitMs: number): void {
    const timers = this.#runtime.timers;
    // Tasks ready, no timer set, the OS checked a moment ago: nothing to do, no clock to read.
    if (this.#queue.length > 0 && this.#pollsSinceOsCheck < OS_CHECK_POLLS && timers.size === 0) return;
    this.#waking = "timer";
    timers.fireDue(now());
    if (this.#queue.length > 0 && this.#pollsSinceOsCheck < OS_CHECK_POLLS) {
      // Tasks are ready and the OS was checked a moment ago: check it again once OS_CHECK_POLLS
      // polls have run (tokio's event_interval): no system call per wake, I/O waits at most that.
      this.#waking = "outside the runtime";
      return;
    }
    this.#pollsSinceOsCheck = 0;
    const timeoutMs = this.#queue.length > 0 ? 0 : timers.timeoutMs(now(), limitMs);
    if (timeoutMs < 0 && this.#runtime.reactor.waiters === 0) {
      this.#waking = "outside the runtime";
      throw new DeadlockError(
        `${this.#aliveCount} task(s) wait, but no task is ready, no timer is set and no I/O is awaited: nothing can wake them`,
      );
    }
    this.#waking = "reactor";
    this.#driver.park(timeoutMs);
    this.#waking = "timer";
    timers.fireDue(now());
    this.#waking = "outside the runtime";
  }

  /** The executor loop (step 2): runs until `handle`'s task finishes; returns its value. */
  blockOn<T>(handle: JoinHandle<T>): T {
    handle.claim();
    for (;;) {
      this.runReady();
      if (handle.finished) return handle.value();
      this.park(-1);
    }
  }

  /** The executor loop, until no task is left. */
  runUntilIdle(): void {
    for (;;) {
      this.runReady();
      if (this.#aliveCount === 0) return;
      this.park(-1);
    }
  }

  /** Cancels every task still alive, in the order they were spawned. */
  cancelAll(): void {
    const alive: Task<unknown>[] = [];
    for (let task = this.#aliveHead; task !== null; task = task.aliveNext) alive.push(task);
    for (const task of alive) this.cancel(task);
  }

  /**
   * The executor's invariants, checked by the chaos test between turns: no task is both on the
   * run queue and idle, none is queued twice, and every scheduled task is queued. Returns what
   * is wrong, empty when all hold. Walks every task: for tests, never for the hot path.
   */
  checkInvariants(): string[] {
    const problems: string[] = [];
    const queued = new Set<Task<unknown>>();
    this.#queue.forEach((task) => {
      if (task.state === TaskState.idle || task.state === TaskState.idleWakerNotTaken) {
        problems.push(`task ${task.id} (${task.name}) is both queued and idle`);
      }
      if (task.state !== TaskState.scheduled) return; // cancelled while queued: skipped when taken
      if (queued.has(task)) problems.push(`task ${task.id} (${task.name}) is queued twice`);
      queued.add(task);
    });
    for (let task = this.#aliveHead; task !== null; task = task.aliveNext) {
      if (task.state === TaskState.scheduled && !queued.has(task)) {
        problems.push(`task ${task.id} (${task.name}) is scheduled but not on the run queue: it would never run`);
      }
    }
    return problems;
  }
}
