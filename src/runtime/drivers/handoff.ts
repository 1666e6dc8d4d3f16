/**
 * The handoff between a reactor thread, which waits for the OS, and the executor, which takes
 * the events: a `SharedArrayBuffer` with a state word and room for one batch of events.
 *
 * Ownership of the event buffer passes back and forth with the state word, so neither side
 * ever reads what the other is writing:
 *
 * ```text
 *   WAITING ──(reactor thread: epoll/kqueue returned n events)──▶ READY
 *   READY   ──(executor: dispatched the events, and it is busy)─▶ PAUSED
 *   PAUSED  ──(executor: it has nothing to run, it will wait)───▶ WAITING
 *   any     ──(executor: close)──▶ STOP ──(reactor thread left)──▶ STOPPED
 *   WAITING ──(reactor thread: the wait failed, errno in COUNT)──▶ FAILED
 * ```
 *
 * PAUSED is the busy executor's state: while it has tasks to run it checks the OS itself,
 * without blocking, once a turn, and the reactor thread sleeps, so that a busy runtime does
 * not pay a thread switch and a second system call per batch of events (nor take its host's
 * core from it). The reactor thread waits for the OS only when the executor is about to wait.
 *
 * Each change is followed by `Atomics.notify`, and each side sleeps in `Atomics.wait` (or
 * `Atomics.waitAsync`) on the state word when it has nothing to do.
 *
 * @module
 */
import { EventBuffer } from "../../sys/poller.ts";

/** The states of the handoff's state word (see the diagram above). */
export const HandoffState = {
  waiting: 0,
  ready: 1,
  stop: 2,
  stopped: 3,
  failed: 4,
  paused: 5,
} as const;

/** Int32 slot of the control area that holds the state word. */
export const STATE = 0;
/** Int32 slot that holds the number of events handed over (or the errno of a failed wait). */
export const COUNT = 1;
/** Set to 1 by the reactor thread once it runs: a thread that never starts is noticed. */
export const STARTED = 2;

/** The control area's size: 64 bytes, a cache line, ahead of the events. */
const CONTROL_BYTES = 64;

/** What the reactor thread needs: passed to it as `workerData`. */
export interface HandoffInit {
  readonly memory: SharedArrayBuffer;
  readonly capacity: number;
  readonly poller: { readonly fd: number; readonly wakerFd: number };
}

/** Both sides' view of the shared memory. */
export class Handoff {
  readonly control: Int32Array;
  readonly events: EventBuffer;
  readonly memory: SharedArrayBuffer;

  constructor(memory: SharedArrayBuffer, capacity: number) {
    this.memory = memory;
    this.control = new Int32Array(memory, 0, CONTROL_BYTES / 4);
    this.events = new EventBuffer(capacity, { buffer: memory, byteOffset: CONTROL_BYTES });
  }

  static allocate(capacity: number): Handoff {
    return new Handoff(new SharedArrayBuffer(CONTROL_BYTES + EventBuffer.byteLength(capacity)), capacity);
  }

  get state(): number {
    return Atomics.load(this.control, STATE);
  }

  /** Moves from `from` to `to`; false if the state was not `from` (e.g. a stop came first). */
  transition(from: number, to: number): boolean {
    if (Atomics.compareExchange(this.control, STATE, from, to) !== from) return false;
    Atomics.notify(this.control, STATE);
    return true;
  }
}
