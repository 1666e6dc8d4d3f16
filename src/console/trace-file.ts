/**
 * `--trace-file FILE`: the runtime's trace as Chrome Trace Event Format JSON, which Perfetto
 * (ui.perfetto.dev) and `chrome://tracing` open.
 *
 * - One track (a `tid`) per task, named after it: each poll is a slice of its real duration
 *   (`X` events, from the `poll`/`re-poll` event to `pending`/`ready`), with the steps inside
 *   it (await, try-io, reactor-poll, waker-stored) as instants; the time a task spent on the run
 *   queue between its wake and its poll is a `scheduled` slice.
 * - The reactor's track (tid 0): OS events as instants, and each `happened` as a slice that
 *   lasts while the reactor handles it (until the next reactor step or poll).
 * - Flow arrows (`s` → `t` → `f`, one id per wake) from the OS event's slice on the reactor's
 *   track to the woken task's `scheduled` slice and on to the poll that followed.
 *
 * Bounded: at most `maxEvents` events are kept (default {@link TRACE_FILE_MAX_EVENTS}); past it,
 * the runtime's trace events are counted and dropped, and the file says how many
 * (`otherData.droppedEvents`). A full file keeps nothing more, so its memory stays bounded.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { now, type TraceEvent, type TraceHook } from "../index.ts";

/** The events a trace file keeps by default (about 15 MB of JSON). */
export const TRACE_FILE_MAX_EVENTS = 100_000;

/** The reactor's track. Task ids start at 1, so 0 is free. */
const REACTOR_TID = 0;

/** One Chrome trace event, as written. */
export interface ChromeTraceEvent {
  readonly name: string;
  readonly ph: "X" | "i" | "M" | "s" | "t" | "f";
  readonly pid: number;
  readonly tid: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly id?: number;
  readonly s?: "t";
  readonly bp?: "e";
  readonly args?: Record<string, unknown>;
}

/** Options of a {@link TraceFile}. */
export interface TraceFileOptions {
  /** How many events to keep at most (1 to 10 000 000); the rest are counted as dropped. */
  readonly maxEvents?: number;
  /** The process id to write (default `process.pid`). */
  readonly pid?: number;
}

/** A poll in progress on a task's track. */
interface OpenPoll {
  readonly task: number;
  readonly name: string;
  readonly startUs: number;
}

/** A task woken and not polled yet: since when, by what, and the flow that led there. */
interface Scheduled {
  fromUs: number;
  readonly cause: string;
  readonly flow: number | null;
}

function microseconds(): number {
  return now() * 1000;
}

/**
 * Records trace events as Chrome trace events and writes them as one JSON file.
 *
 * @example
 * ```ts
 * const file = new TraceFile("trace.json");
 * const runtime = new Runtime({ trace: file.hook });
 * runtime.blockOn(main());
 * file.write(); // open trace.json in ui.perfetto.dev
 * ```
 */
export class TraceFile {
  readonly path: string;
  readonly maxEvents: number;
  readonly #pid: number;
  readonly #events: ChromeTraceEvent[] = [];
  readonly #named = new Set<number>();
  readonly #scheduled = new Map<number, Scheduled>();
  /** The flows that reached a poll, finished when the poll's slice is known. */
  readonly #flowIntoPoll = new Map<number, number>();
  #dropped = 0;
  #poll: OpenPoll | null = null;
  /** The reactor's slice being handled: since when, which token, and its flow if it woke someone. */
  #happened: { startUs: number; name: string; args: Record<string, unknown>; flows: number[] } | null = null;
  #nextFlow = 1;

  constructor(path: string, options: TraceFileOptions = {}) {
    const maxEvents = options.maxEvents ?? TRACE_FILE_MAX_EVENTS;
    if (!Number.isInteger(maxEvents) || maxEvents < 1 || maxEvents > 10_000_000) {
      throw new RangeError(`maxEvents ${maxEvents} is not a whole number from 1 to 10000000`);
    }
    this.path = path;
    this.maxEvents = maxEvents;
    this.#pid = options.pid ?? process.pid;
    this.#add({ name: "thread_name", ph: "M", pid: this.#pid, tid: REACTOR_TID, args: { name: "reactor" } });
  }

  /** How many events were kept, and how many dropped past {@link maxEvents}. */
  get counts(): { readonly kept: number; readonly dropped: number } {
    return { kept: this.#events.length, dropped: this.#dropped };
  }

  /** The hook to give the runtime (`new Runtime({ trace: file.hook })`). */
  readonly hook: TraceHook = (event: TraceEvent) => {
    if (this.#events.length >= this.maxEvents) {
      // Full: nothing more is written, so nothing more is kept about tasks or flows either (a
      // long run would otherwise grow by every task it spawns, and build events to drop them).
      this.#dropped++;
      return;
    }
    const atUs = microseconds();
    switch (event.kind) {
      case "spawn":
        this.#name(event.task!, event.detail);
        this.#instant(event.task!, "spawn", atUs);
        return;
      case "poll":
      case "re-poll":
        this.#startPoll(event.task!, event.kind, atUs);
        return;
      case "pending":
      case "ready":
        this.#endPoll(atUs, event.kind === "ready" ? { outcome: event.detail } : undefined);
        return;
      case "os-event":
        this.#endHappened(atUs);
        this.#instant(REACTOR_TID, "os-event", atUs, { token: event.token, detail: event.detail });
        return;
      case "happened":
        this.#endHappened(atUs);
        this.#happened = {
          startUs: atUs,
          name: `happened token ${event.token} ${event.direction}`,
          args: { token: event.token, direction: event.direction, detail: event.detail },
          flows: [],
        };
        return;
      case "wake":
        this.#wake(event.task!, event.detail ?? "", atUs);
        return;
      default:
        this.#instant(event.task ?? REACTOR_TID, event.kind, atUs, { token: event.token, detail: event.detail });
    }
  };

  #add(event: ChromeTraceEvent): void {
    if (this.#events.length < this.maxEvents) this.#events.push(event);
    else this.#dropped++;
  }

  #name(task: number, name: string | undefined): void {
    if (this.#named.has(task)) return;
    this.#named.add(task);
    const label = name === undefined ? `task ${task}` : `task ${task}: ${name}`;
    this.#add({ name: "thread_name", ph: "M", pid: this.#pid, tid: task, args: { name: label } });
  }

  #instant(tid: number, name: string, atUs: number, args?: Record<string, unknown>): void {
    this.#add({ name, ph: "i", s: "t", pid: this.#pid, tid, ts: atUs, ...(args === undefined ? {} : { args }) });
  }

  #startPoll(task: number, kind: string, atUs: number): void {
    this.#endHappened(atUs);
    // A poll that ended without a trace event (its task was cancelled as it returned).
    if (this.#poll !== null) this.#endPoll(atUs);
    this.#name(task, undefined);
    const scheduled = this.#scheduled.get(task);
    if (scheduled !== undefined) {
      this.#scheduled.delete(task);
      const from = Math.min(scheduled.fromUs, atUs);
      this.#slice(task, `scheduled (woken by ${scheduled.cause})`, from, atUs - from);
      if (scheduled.flow !== null) {
        this.#flow("t", task, scheduled.flow, (from + atUs) / 2);
        this.#flowIntoPoll.set(task, scheduled.flow);
      }
    }
    this.#poll = { task, name: kind, startUs: atUs };
  }

  #endPoll(atUs: number, args?: Record<string, unknown>): void {
    const poll = this.#poll;
    if (poll === null) return;
    this.#poll = null;
    this.#slice(poll.task, poll.name, poll.startUs, atUs - poll.startUs, args);
    const flow = this.#flowIntoPoll.get(poll.task);
    if (flow !== undefined) {
      this.#flowIntoPoll.delete(poll.task);
      this.#flow("f", poll.task, flow, (poll.startUs + atUs) / 2);
    }
    // A task woken during its own poll waits on the run queue from the poll's end.
    const scheduled = this.#scheduled.get(poll.task);
    if (scheduled !== undefined) scheduled.fromUs = atUs;
  }

  #endHappened(atUs: number): void {
    const happened = this.#happened;
    if (happened === null) return;
    this.#happened = null;
    this.#slice(REACTOR_TID, happened.name, happened.startUs, atUs - happened.startUs, happened.args);
    for (const flow of happened.flows) this.#flow("s", REACTOR_TID, flow, (happened.startUs + atUs) / 2);
  }

  #wake(task: number, cause: string, atUs: number): void {
    let flow: number | null = null;
    if (cause === "reactor" && this.#happened !== null) {
      flow = this.#nextFlow++;
      this.#happened.flows.push(flow);
    }
    const running = this.#poll?.task === task;
    this.#scheduled.set(task, { fromUs: running ? Number.POSITIVE_INFINITY : atUs, cause, flow });
    this.#instant(task, `wake (${cause})`, atUs);
  }

  #slice(tid: number, name: string, startUs: number, durationUs: number, args?: Record<string, unknown>): void {
    this.#add({
      name,
      ph: "X",
      pid: this.#pid,
      tid,
      ts: startUs,
      dur: durationUs,
      ...(args === undefined ? {} : { args }),
    });
  }

  #flow(ph: "s" | "t" | "f", tid: number, id: number, atUs: number): void {
    this.#add({ name: "wake", cat: "wake", ph, id, pid: this.#pid, tid, ts: atUs, ...(ph === "s" ? {} : { bp: "e" }) });
  }

  /**
   * The trace as a Chrome Trace Event Format object: `traceEvents`, and in `otherData` the
   * limit and how many events were dropped past it.
   */
  toJSON(): { traceEvents: ChromeTraceEvent[]; displayTimeUnit: "ms"; otherData: Record<string, unknown> } {
    this.#endHappened(microseconds());
    this.#endPoll(microseconds());
    return {
      traceEvents: this.#events,
      displayTimeUnit: "ms",
      otherData: { producer: "bun-reactor", maxEvents: this.maxEvents, droppedEvents: this.#dropped },
    };
  }

  /** Writes the file (one event per line); returns a line that says what it holds. */
  write(): string {
    const trace = this.toJSON();
    const lines = trace.traceEvents.map((event) => JSON.stringify(event));
    const other = JSON.stringify(trace.otherData);
    writeFileSync(this.path, `{"displayTimeUnit":"ms","otherData":${other},"traceEvents":[\n${lines.join(",\n")}\n]}\n`);
    const dropped = this.#dropped === 0 ? "" : `; ${this.#dropped} more dropped past the limit of ${this.maxEvents}`;
    return `trace file: ${this.path}: ${lines.length} events${dropped} (open it in ui.perfetto.dev)`;
  }
}
