/**
 * The echo server's send queue: replies the socket could not take at once wait here, in order,
 * until the writer task finds the socket writable again. It is bounded: when full, the oldest
 * reply is dropped (and counted), so an overloaded server uses a fixed amount of memory.
 *
 * @module
 */
import { type Context, DatagramBatch, type DatagramBatchOptions, Future, PENDING, type Poll, type Waker } from "../index.ts";
import { type EchoSocket, sendRange } from "./echo.ts";
import { Counter, type EchoStats } from "./stats.ts";

/** A bounded FIFO of datagrams waiting to be sent. */
export class ReplyQueue {
  /** The slots, used as a ring. */
  readonly store: DatagramBatch;
  readonly #stats: EchoStats;
  #head = 0;
  #length = 0;
  #waiter: Waker | null = null;

  /** `options.info`: the replies keep their datagram info (the address each goes from). */
  constructor(capacity: number, slotSize: number, stats: EchoStats, options: DatagramBatchOptions = {}) {
    this.store = new DatagramBatch(capacity, slotSize, options);
    this.#stats = stats;
  }

  /** Entries queued. */
  get length(): number {
    return this.#length;
  }

  /**
   * Datagrams queued: what a drop of the whole queue counts. Counted when asked, not kept: a
   * send may take some datagrams out of a coalesced entry and leave it queued with the rest.
   */
  get datagrams(): number {
    let datagrams = 0;
    for (let offset = 0; offset < this.#length; offset++) {
      datagrams += this.store.datagramCount((this.#head + offset) % this.store.capacity);
    }
    return datagrams;
  }

  /** Queues a copy of entry `index` of `batch`; drops the oldest reply if the queue is full. */
  push(batch: DatagramBatch, index: number): void {
    const capacity = this.store.capacity;
    if (this.#length === capacity) {
      this.#stats.counters[Counter.droppedOverload]! += this.store.datagramCount(this.#head);
      this.consume(1);
    }
    const slot = (this.#head + this.#length) % capacity;
    this.store.copyFrom(batch, index, slot);
    this.#length++;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.wake();
  }

  /** The slots of the oldest replies that are contiguous in the ring: `[start, end)`. */
  headRun(): [number, number] {
    const end = Math.min(this.#head + this.#length, this.store.capacity);
    return [this.#head, end];
  }

  /** Removes the `count` oldest replies. */
  consume(count: number): void {
    this.#head = (this.#head + count) % this.store.capacity;
    this.#length -= count;
  }

  /** A future that is ready when at least one reply is queued. */
  nonEmpty(): Future<void> {
    return new NonEmpty(this);
  }

  /** Keeps the waker of the task waiting for a reply (see `nonEmpty`), or forgets it. */
  setWaiter(waker: Waker | null): void {
    this.#waiter = waker;
  }

  /**
   * Sends queued replies, oldest first, as far as the socket takes them without waiting.
   * Returns `"empty"` when all went, `"full"` when the socket is full (wait for writability),
   * `"stalled"` when the kernel was short of memory (pause, then try again). The queue is read
   * afresh each time: replies dropped meanwhile are simply gone.
   */
  sendQueued(socket: EchoSocket): "empty" | "full" | "stalled" {
    while (this.#length > 0) {
      const [start, end] = this.headRun();
      const { next, stalled } = sendRange(socket, this.store, start, end, this.#stats);
      this.consume(next - start);
      if (stalled) return "stalled";
      if (next < end) return "full";
    }
    return "empty";
  }
}

class NonEmpty extends Future<void> {
  readonly #queue: ReplyQueue;

  constructor(queue: ReplyQueue) {
    super();
    this.#queue = queue;
  }

  poll(cx: Context): Poll<void> {
    if (this.#queue.length > 0) return undefined;
    this.#queue.setWaiter(cx.waker);
    return PENDING;
  }

  override drop(): void {
    this.#queue.setWaiter(null);
  }
}
