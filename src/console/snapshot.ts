/**
 * The console's view of a runtime at one moment, as plain JSON: built on the runtime's thread,
 * between polls, from the read-only snapshots of the executor and the reactor, the timers'
 * counts and what the {@link ActivityTracker} learned from the trace.
 *
 * @module
 */
import { formatSocketAddress, now, type Runtime, type SocketAddress, type Waker } from "../index.ts";
import type { Closeable, StatusSnapshot } from "../internals.ts";
import { LONG_POLL_MS, type ActivityTracker, type TaskActivity } from "./tracker.ts";

/** A task needs at least this many polls before its self-wakes are judged. */
const SELF_WAKE_POLLS_MIN = 10;

/**
 * The most tasks and registrations a snapshot lists (and judges for warnings): a runtime with a
 * million sleeping tasks must not make each snapshot, or the page, that large.
 */
export const SNAPSHOT_ROWS_MAX = 500;

/** How many forgotten tasks the tracker may hold before a snapshot walks every task to prune. */
const PRUNE_SLACK = 10_000;

/** One row of the task table. */
export interface TaskView {
  readonly id: number;
  readonly name: string;
  readonly state: "scheduled" | "running" | "idle" | "done";
  readonly polls: number;
  readonly busyMs: number;
  readonly sinceLastPollMs: number | null;
  readonly lastWake: string | null;
  readonly selfWakes: number;
  /** Polls after its first over 1 ms (the tracker's `SLOW_POLL_MS`) since the console was attached. */
  readonly slowPolls: number;
  /** Of those, the ones that used over 1 ms of the thread's CPU time (the others: the OS took the core). */
  readonly slowCpuPolls: number;
  /** Its longest poll since the console was attached, its first included. */
  readonly maxPollMs: number;
  /** The most CPU time one of its polls used, in milliseconds. */
  readonly maxPollCpuMs: number;
}

/** One direction of a reactor registration: idle, happened, or awaited by tasks. */
export interface DirectionView {
  readonly status: "idle" | "happened" | "awaited";
  /** The ids of the tasks whose wakers wait here (0: a waker of no task). */
  readonly tasks: readonly number[];
}

/** One row of the reactor table. */
export interface RegistrationView {
  readonly token: number;
  readonly fd: number;
  readonly owner: string;
  readonly read: DirectionView;
  readonly write: DirectionView;
}

/** A warning in the spirit of tokio-console's lints. */
export interface WarningView {
  readonly kind: "self-wake" | "lost-wake" | "long-poll";
  readonly task: number;
  readonly message: string;
}

/** Everything the page shows, at one moment. */
export interface ConsoleSnapshot {
  /** Wall-clock milliseconds, for the page's clock. */
  readonly at: number;
  readonly driver: string;
  readonly backend: string;
  /** Events per step (index 1 to 11) since the console was attached. */
  readonly steps: readonly number[];
  /** The first {@link SNAPSHOT_ROWS_MAX} tasks alive, then the latest finished ones. */
  readonly tasks: readonly TaskView[];
  /** How many tasks are alive, listed or not. */
  readonly tasksAlive: number;
  /** The first {@link SNAPSHOT_ROWS_MAX} registrations. */
  readonly reactor: readonly RegistrationView[];
  /** How many registrations there are, listed or not. */
  readonly registrations: number;
  readonly timers: { readonly count: number; readonly nextInMs: number | null };
  /** The app's counters (for the echo: datagrams and bytes in and out, drops by reason). */
  readonly metrics: Readonly<Record<string, number>> | null;
  readonly warnings: readonly WarningView[];
}

/** What a task view shows of the tracker's `activity` (none: a task the tracker has not seen poll), at `at`. */
function activityView(activity: TaskActivity | undefined, at: number): Omit<TaskView, "id" | "name" | "state" | "polls"> {
  return {
    busyMs: activity?.busyMs ?? 0,
    sinceLastPollMs: activity?.lastPollAt == null ? null : at - activity.lastPollAt,
    lastWake: activity?.lastWake ?? null,
    selfWakes: activity?.selfWakes ?? 0,
    slowPolls: activity?.slowPolls ?? 0,
    slowCpuPolls: activity?.slowCpuPolls ?? 0,
    maxPollMs: activity?.maxPollMs ?? 0,
    maxPollCpuMs: activity?.maxPollCpuMs ?? 0,
  };
}

function describeOwner(owner: Closeable | null): string {
  if (owner === null) return "(none)";
  const kind = owner.constructor.name;
  try {
    const address = (owner as { localAddress?: SocketAddress }).localAddress;
    if (address !== undefined) return `${kind} ${formatSocketAddress(address)}`;
  } catch {
    // A closed socket has no address any more: its kind is enough.
  }
  return kind;
}

function directionView(status: StatusSnapshot, owners: ReadonlyMap<Waker, number>): DirectionView {
  if (status.status !== "awaited") return { status: status.status, tasks: [] };
  return { status: "awaited", tasks: status.wakers.map((waker) => owners.get(waker) ?? 0) };
}

function warningsOf(task: TaskView, tracker: ActivityTracker, stored: boolean, wakerTaken: boolean): WarningView[] {
  const warnings: WarningView[] = [];
  const label = `task ${task.id} (${task.name})`;
  if (task.polls >= SELF_WAKE_POLLS_MIN && task.selfWakes * 2 > task.polls) {
    warnings.push({
      kind: "self-wake",
      task: task.id,
      message: `${label} woke itself in ${task.selfWakes} of its ${task.polls} polls`,
    });
  }
  if (task.state === "idle" && !wakerTaken && !stored) {
    warnings.push({
      kind: "lost-wake",
      task: task.id,
      message: `${label} is pending, but its last poll stored its waker nowhere: nothing can wake it`,
    });
  }
  const activity = tracker.task(task.id);
  if (activity !== undefined && activity.longPolls > 0) {
    warnings.push({
      kind: "long-poll",
      task: task.id,
      message: `${label} had ${activity.longPolls} poll(s) over ${LONG_POLL_MS} ms (longest ${activity.maxPollMs.toFixed(1)} ms)`,
    });
  }
  return warnings;
}

/**
 * The console's view of `runtime` now. Call it on the runtime's thread, between polls.
 *
 * @example
 * ```ts
 * const view = takeSnapshot(runtime, tracker, null);
 * view.tasks.map((task) => `${task.id} ${task.state} ${task.polls}`);
 * ```
 */
export function takeSnapshot(
  runtime: Runtime,
  tracker: ActivityTracker,
  metrics: Readonly<Record<string, number>> | null,
): ConsoleSnapshot {
  const at = now();
  const alive = runtime.executor.snapshot(SNAPSHOT_ROWS_MAX);
  const owners = new Map<Waker, number>(alive.map((task) => [task.waker, task.id]));
  const reactor = runtime.reactor.snapshot(SNAPSHOT_ROWS_MAX).map((entry) => ({
    token: entry.token,
    fd: entry.fd,
    owner: describeOwner(entry.owner),
    read: directionView(entry.read, owners),
    write: directionView(entry.write, owners),
  }));
  const storedIn = new Set<number>([
    ...reactor.flatMap((entry) => [...entry.read.tasks, ...entry.write.tasks]),
    ...runtime.reactor.remoteWakers().map((waker) => owners.get(waker) ?? 0),
  ]);
  // Tasks cancelled leave no trace event: forget them, by the whole list when rows are left out
  // (only once enough have piled up, so that a huge runtime is not walked at each snapshot).
  const listed = alive.length === runtime.executor.alive;
  if (listed || tracker.size > runtime.executor.alive + PRUNE_SLACK) {
    const all = listed ? alive : runtime.executor.snapshot();
    tracker.prune(new Set(all.map((task) => task.id)));
  }
  const warnings: WarningView[] = [];
  const tasks: TaskView[] = alive.map((task) => {
    const activity = tracker.task(task.id);
    const view: TaskView = {
      id: task.id,
      name: task.name,
      state: task.state,
      polls: task.polls,
      ...activityView(activity, at),
    };
    warnings.push(...warningsOf(view, tracker, storedIn.has(task.id), task.wakerTaken));
    return view;
  });
  for (const id of tracker.finished) {
    const activity = tracker.task(id)!;
    const view: TaskView = {
      id,
      name: activity.name,
      state: "done",
      polls: activity.polls,
      ...activityView(activity, at),
    };
    tasks.push(view);
    warnings.push(...warningsOf(view, tracker, false, true));
  }
  const nextInMs = runtime.timers.size === 0 ? null : runtime.timers.timeoutMs(at, -1);
  return {
    at: Date.now(),
    driver: runtime.driverName,
    backend: runtime.backend,
    steps: [...tracker.steps],
    tasks,
    tasksAlive: runtime.executor.alive,
    reactor,
    registrations: runtime.reactor.registrations,
    timers: { count: runtime.timers.size, nextInMs },
    metrics,
    warnings,
  };
}
