/**
 * What the console learns from the trace hook, that the runtime does not keep: how often each
 * step fires, and per task its busy time, its last poll, what woke it last, how often it woke
 * itself, its polls longer than {@link SLOW_POLL_MS} and {@link LONG_POLL_MS} (its first poll is
 * judged against {@link LONG_FIRST_POLL_MS} instead) and its longest poll.
 *
 * @module
 */
import { now, type TraceEvent, type TraceHook } from "../index.ts";
import { PREEMPTED_DETAIL, threadCpuMs } from "../internals.ts";

/** A poll longer than this blocks every other task long enough to warn about it. */
export const LONG_POLL_MS = 10;

/**
 * A poll longer than this delays every other task, and every datagram waiting, by more than a
 * latency-sensitive service allows: `bun run bench` counts them for the echo's tasks (goal: none
 * once warm). Counted, not warned about: a millisecond is a tail, ten are a fault.
 */
export const SLOW_POLL_MS = 1;

/**
 * The same for a task's first poll, which runs code that has never run before: JavaScript that
 * Bun compiles on first use, modules initialised, buffers allocated. Only a first poll longer
 * than this is a sign of blocking work rather than of a cold start.
 */
export const LONG_FIRST_POLL_MS = 100;

/** How many finished tasks the console still shows. */
const FINISHED_KEPT = 20;

/** What the tracker knows of one task. */
export interface TaskActivity {
  name: string;
  /** Polls seen since the console was attached. */
  polls: number;
  busyMs: number;
  /** When its latest poll began ({@link now}), or null if it was never polled. */
  lastPollAt: number | null;
  lastWake: string | null;
  wakes: number;
  selfWakes: number;
  /** Polls after the first that took longer than {@link SLOW_POLL_MS} by the wall clock. */
  slowPolls: number;
  /**
   * Of those, the ones that used more than {@link SLOW_POLL_MS} of the thread's CPU time: the
   * runtime's and the task's own work. The others were slow because the OS took the core from
   * the thread in the middle of the poll (another process, or a compiler or collector thread of
   * this one), which the wall clock counts and the thread's CPU time does not.
   */
  slowCpuPolls: number;
  longPolls: number;
  maxPollMs: number;
  /** The most CPU time one poll used, in milliseconds. */
  maxPollCpuMs: number;
  /** How it ended, once it has. */
  outcome: string | null;
}

function activity(name: string): TaskActivity {
  return {
    name,
    polls: 0,
    busyMs: 0,
    lastPollAt: null,
    lastWake: null,
    wakes: 0,
    selfWakes: 0,
    slowPolls: 0,
    slowCpuPolls: 0,
    longPolls: 0,
    maxPollMs: 0,
    maxPollCpuMs: 0,
    outcome: null,
  };
}

/**
 * Listens to the runtime's trace events and keeps counts and per-task activity.
 *
 * @example
 * ```ts
 * const tracker = new ActivityTracker();
 * const runtime = new Runtime({ trace: tracker.hook });
 * runtime.blockOn(main());
 * tracker.steps[10]; // how many wakes
 * ```
 */
export class ActivityTracker {
  /** How many events each step (index 1 to 11) has had. */
  readonly steps = new Float64Array(12);
  readonly #tasks = new Map<number, TaskActivity>();
  readonly #finished: number[] = [];
  #polling: {
    task: TaskActivity;
    startedAt: number;
    cpuStartedAtMs: number;
    limitMs: number;
    first: boolean;
    wokeItself: boolean;
  } | null = null;

  /** The hook that feeds the tracker. */
  readonly hook: TraceHook = (event: TraceEvent) => {
    this.steps[event.step]!++;
    switch (event.kind) {
      case "spawn":
        this.#tasks.set(event.task!, activity(event.detail ?? `task ${event.task}`));
        return;
      case "poll":
        this.#startPoll(event.task!, true);
        return;
      case "re-poll":
        this.#startPoll(event.task!, false);
        return;
      case "pending":
        // A poll cut short by the turn's time woke its task to go on next turn: not a self-wake.
        if (event.detail === PREEMPTED_DETAIL && this.#polling?.wokeItself === true) this.#polling.task.selfWakes--;
        this.#endPoll();
        return;
      case "ready":
        this.#endPoll();
        this.#finish(event.task!, event.detail ?? "done");
        return;
      case "wake":
        this.#wake(event.task!, event.detail ?? "unknown");
        return;
      default:
    }
  };

  /** How many tasks the tracker holds (alive, recently finished, or gone without a trace). */
  get size(): number {
    return this.#tasks.size;
  }

  /** The activity of task `id`, if the tracker has seen it. */
  task(id: number): TaskActivity | undefined {
    return this.#tasks.get(id);
  }

  /** The ids of the latest finished tasks, oldest first. */
  get finished(): readonly number[] {
    return this.#finished;
  }

  #taskOf(id: number): TaskActivity {
    let task = this.#tasks.get(id);
    if (task === undefined) {
      // Spawned before the console was attached.
      task = activity(`task ${id}`);
      this.#tasks.set(id, task);
    }
    return task;
  }

  #startPoll(id: number, first: boolean): void {
    this.#endPoll();
    const startedAt = now();
    const task = this.#taskOf(id);
    task.lastPollAt = startedAt;
    task.polls++;
    const limitMs = first ? LONG_FIRST_POLL_MS : LONG_POLL_MS;
    this.#polling = { task, startedAt, cpuStartedAtMs: threadCpuMs(), limitMs, first, wokeItself: false };
  }

  #endPoll(): void {
    const polling = this.#polling;
    if (polling === null) return;
    this.#polling = null;
    const pollMs = now() - polling.startedAt;
    const task = polling.task;
    task.busyMs += pollMs;
    if (pollMs > polling.limitMs) task.longPolls++;
    if (pollMs > task.maxPollMs) task.maxPollMs = pollMs;
    // The CPU time is read only when the wall clock says slow: a poll's CPU time is no more than its wall time.
    if (pollMs <= SLOW_POLL_MS && pollMs <= task.maxPollCpuMs) return;
    const cpuMs = threadCpuMs() - polling.cpuStartedAtMs;
    if (cpuMs > task.maxPollCpuMs) task.maxPollCpuMs = cpuMs;
    if (polling.first || pollMs <= SLOW_POLL_MS) return;
    task.slowPolls++;
    if (cpuMs > SLOW_POLL_MS) task.slowCpuPolls++;
  }

  #wake(id: number, cause: string): void {
    const task = this.#taskOf(id);
    task.lastWake = cause;
    task.wakes++;
    if (cause !== "itself") return;
    task.selfWakes++;
    if (this.#polling?.task === task) this.#polling.wokeItself = true;
  }

  #finish(id: number, outcome: string): void {
    this.#taskOf(id).outcome = outcome;
    this.#finished.push(id);
    if (this.#finished.length > FINISHED_KEPT) this.#tasks.delete(this.#finished.shift()!);
  }

  /**
   * Starts counting anew, as if attached now: the steps' counts and every task's polls, wakes,
   * times and warnings go back to zero (each task keeps its name), finished tasks are dropped,
   * and a poll in progress is not timed.
   */
  forget(): void {
    this.steps.fill(0);
    for (const id of this.#finished) this.#tasks.delete(id);
    this.#finished.length = 0;
    for (const [id, task] of this.#tasks) this.#tasks.set(id, activity(task.name));
    this.#polling = null;
  }

  /** Forgets the tasks that ended without a trace event (cancelled): `alive` are the others. */
  prune(alive: ReadonlySet<number>): void {
    for (const [id, task] of this.#tasks) if (task.outcome === null && !alive.has(id)) this.#tasks.delete(id);
  }
}
