/**
 * The shared memory between the main thread and the echo workers (`--workers N`): a stop flag,
 * and for each worker its state, its thread's id (with `--cpu`) and its counters (so that the
 * main thread can add them up without asking).
 *
 * @module
 */
import { EchoStats, STATS_BYTES } from "./stats.ts";

/** Where a worker thread is in its life, as the main thread sees it. */
export const WorkerState = {
  starting: 0,
  running: 1,
  stopped: 2,
  failed: 3,
} as const;

const CONTROL_BYTES = 64;
const STOP = 0;
const HEADER_BYTES = 16;
const SLOT_BYTES = HEADER_BYTES + STATS_BYTES;

/** The main thread's and the workers' view of the shared memory. */
export class WorkerSlots {
  readonly memory: SharedArrayBuffer;
  readonly count: number;
  readonly #control: Int32Array;

  constructor(memory: SharedArrayBuffer, count: number) {
    this.memory = memory;
    this.count = count;
    this.#control = new Int32Array(memory, 0, CONTROL_BYTES / 4);
  }

  static allocate(count: number): WorkerSlots {
    return new WorkerSlots(new SharedArrayBuffer(CONTROL_BYTES + count * SLOT_BYTES), count);
  }

  #header(index: number): Int32Array {
    return new Int32Array(this.memory, CONTROL_BYTES + index * SLOT_BYTES, HEADER_BYTES / 4);
  }

  /** Asks every worker to stop (each must also be woken, through its poller). */
  requestStop(): void {
    Atomics.store(this.#control, STOP, 1);
  }

  get stopRequested(): boolean {
    return Atomics.load(this.#control, STOP) === 1;
  }

  state(index: number): number {
    return Atomics.load(this.#header(index), 0);
  }

  setState(index: number, state: number): void {
    Atomics.store(this.#header(index), 0, state);
  }

  /** The id of worker `index`'s thread, as it set it with `--cpu` (0: not set). */
  thread(index: number): number {
    return Atomics.load(this.#header(index), 1);
  }

  setThread(index: number, tid: number): void {
    Atomics.store(this.#header(index), 1, tid);
  }

  /** Whether every worker is in one of `states`. */
  all(...states: number[]): boolean {
    return Array.from({ length: this.count }, (_, index) => this.state(index)).every((state) => states.includes(state));
  }

  /** Whether some worker is in one of `states`. */
  some(...states: number[]): boolean {
    return Array.from({ length: this.count }, (_, index) => this.state(index)).some((state) => states.includes(state));
  }

  stats(index: number): EchoStats {
    return new EchoStats({ buffer: this.memory, byteOffset: CONTROL_BYTES + index * SLOT_BYTES + HEADER_BYTES });
  }
}
