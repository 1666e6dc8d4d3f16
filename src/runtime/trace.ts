/**
 * Trace events: one at each step of the seed's 11-step flow, tagged with the step's number, so
 * that a person can watch the runtime work (`udp-echo --trace`) and tests can check the order.
 *
 * With no hook installed, each place that could emit pays one comparison with `null`.
 *
 * | step | kind           | where                                             |
 * |------|----------------|---------------------------------------------------|
 * | 1    | `spawn`        | `Executor.spawn`                                  |
 * | 2    | `poll`         | `Executor` takes a task from the queue, first poll |
 * | 3    | `await`        | the task's code awaits a future (`pollGenerator`) |
 * | 4    | `try-io`       | the I/O future tries its system call              |
 * | 5    | `reactor-poll` | would-block: the future asks `Reactor.poll`       |
 * | 6    | `waker-stored` | the reactor stores the task's waker under a token |
 * | 7    | `pending`      | the executor sees pending and parks the task      |
 * | 8    | `os-event`     | the driver's wait returns an OS event             |
 * | 9    | `happened`     | the reactor sets the status to happened           |
 * | 10   | `wake`         | the waker puts the task back on the queue; the    |
 * |      |                | detail says what woke it (`WakeCause`)            |
 * | 11   | `re-poll`, `ready` | the executor polls the task again; it completes |
 *
 * @module
 */

/** The kinds of trace event, by the step of the seed's flow they belong to. */
export const TraceStep = {
  spawn: 1,
  poll: 2,
  await: 3,
  "try-io": 4,
  "reactor-poll": 5,
  "waker-stored": 6,
  pending: 7,
  "os-event": 8,
  happened: 9,
  wake: 10,
  "re-poll": 11,
  ready: 11,
} as const;

/** The name of a trace event's kind, e.g. `"waker-stored"`. */
export type TraceKind = keyof typeof TraceStep;

/** Which way a socket is ready or awaited. */
export type Direction = "read" | "write";

/** One step of the flow, as it happened. */
export interface TraceEvent {
  readonly step: (typeof TraceStep)[TraceKind];
  readonly kind: TraceKind;
  /** The task concerned, when there is one. */
  readonly task?: number;
  /** The reactor token concerned, when there is one. */
  readonly token?: number;
  readonly direction?: Direction;
  /** What happened, in a few words: the future awaited, the result of an attempt, … */
  readonly detail?: string;
}

/** Receives trace events, synchronously, as they happen. */
export type TraceHook = (event: TraceEvent) => void;

/** Where the trace hook is read, at each place that may emit: null when tracing is off. */
export interface Traced {
  readonly trace: TraceHook | null;
}

/** Builds the event for `kind`, with its step number. */
export function traceEvent(kind: TraceKind, fields: Omit<TraceEvent, "step" | "kind"> = {}): TraceEvent {
  return { step: TraceStep[kind], kind, ...fields };
}

/** One line per event: `[step 6] waker-stored task=1 token=1 read`. */
export function formatTraceEvent(event: TraceEvent): string {
  const parts = [`[step ${String(event.step).padStart(2)}] ${event.kind}`];
  if (event.task !== undefined) parts.push(`task=${event.task}`);
  if (event.token !== undefined) parts.push(`token=${event.token}`);
  if (event.direction !== undefined) parts.push(event.direction);
  if (event.detail !== undefined) parts.push(event.detail);
  return parts.join(" ");
}

/**
 * One hook that calls each of `hooks` in turn (the null ones are left out), or null if none is
 * left.
 *
 * @example
 * ```ts
 * const runtime = new Runtime({ trace: combineHooks(printer.hook, tracker.hook) });
 * ```
 */
export function combineHooks(...hooks: (TraceHook | null | undefined)[]): TraceHook | null {
  const present = hooks.filter((hook): hook is TraceHook => hook !== null && hook !== undefined);
  if (present.length === 0) return null;
  if (present.length === 1) return present[0]!;
  return (event) => {
    for (const hook of present) hook(event);
  };
}
