/**
 * The echo server's send queue: replies the socket could not take at once wait here, in order,
 * until the writer task finds the socket writable again. It is bounded: when full, the oldest
 * reply is dropped (and counted), so an overloaded server uses a fixed amount of memory.
 *
 * @module
 */
import { DatagramBatch } from "../net/datagram-batch.ts";
import type { Context } from "../runtime/context.ts";
import { Future, PENDING, type Poll } from "../runtime/future.ts";
import { IoFuture, WOULD_BLOCK } from "../runtime/io-future.ts";
import { WRITE } from "../runtime/reactor.ts";
import type { Waker } from "../runtime/waker.ts";
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

  constructor(capacity: number, slotSize: number, stats: EchoStats) {
    this.store = new DatagramBatch(capacity, slotSize);
    this.#stats = stats;
  }

  get length(): number {
    return this.#length;
  }

  /** Queues a copy of datagram `index` of `batch`; drops the oldest reply if the queue is full. */
  push(batch: DatagramBatch, index: number): void {
    const capacity = this.store.capacity;
    if (this.#length === capacity) {
      this.consume(1);
      this.#stats.counters[Counter.droppedOverload]!++;
    }
    this.store.copyFrom(batch, index, (this.#head + this.#length) % capacity);
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

  /** @internal */
  setWaiter(waker: Waker | null): void {
    this.#waiter = waker;
  }

  /** A future that sends every queued reply, waiting for writability as often as needed. */
  drain(socket: EchoSocket): Future<void> {
    return new Drain(socket, this, this.#stats);
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

class Drain extends IoFuture<void> {
  readonly #socket: EchoSocket;
  readonly #queue: ReplyQueue;
  readonly #stats: EchoStats;

  constructor(socket: EchoSocket, queue: ReplyQueue, stats: EchoStats) {
    super(socket, WRITE);
    this.#socket = socket;
    this.#queue = queue;
    this.#stats = stats;
  }

  /** Reads the queue afresh on every attempt: replies dropped meanwhile are simply gone. */
  protected attempt(): void | typeof WOULD_BLOCK {
    const queue = this.#queue;
    while (queue.length > 0) {
      const [start, end] = queue.headRun();
      const next = sendRange(this.#socket, queue.store, start, end, this.#stats);
      queue.consume(next - start);
      if (next < end) return WOULD_BLOCK;
    }
    return undefined;
  }

  protected describe(): string {
    return `sendmmsg of ${this.#queue.length} queued repl(ies)`;
  }
}
