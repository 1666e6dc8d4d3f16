/**
 * The floor column of `bench/runtime.ts`: the same workloads on the smallest generator executor
 * that keeps bun-reactor's await protocol, written for the benchmark and sharing nothing with
 * `src/`. What bun-reactor costs above this column is the executor's own work (its context,
 * waker, run queue, budget, trace and turn checks); what this column costs is JavaScriptCore
 * resuming generators and calling the leaf futures, which no generator executor avoids.
 *
 * The protocol, as in `src/runtime/future.ts`: a task is a generator; `yield* leaf` calls the
 * leaf's `next()` twice per await (the first hands the leaf to the executor, the second returns
 * the value it was resumed with, each through one shared result object); the executor polls the
 * leaf with the task (its context) until it returns a value instead of `PENDING`, and a pending
 * leaf keeps the task (its waker) and calls `wake()` later. A new leaf per await, as
 * `yieldNow()` makes. Left out, as a floor must: the poll budget, the turn's time, traces,
 * cancellation, errors thrown at awaits, unjoined-failure reports, the live-task list.
 *
 * Timers are a binary heap of sleeps (cancelled in place, skipped when they come out) and the
 * executor sleeps the thread until the earliest one (`Bun.sleepSync`). It has no poller, so the
 * select row has no floor.
 *
 * Usage: bun bench/runtime/floor.ts <runs> <workload> <sizes...>
 *
 * @module
 */
import { dispatch, report, runsOf, sleepMs, timerMs, type Workload } from "./measure.ts";

const PENDING: unique symbol = Symbol("pending");
type Poll<T> = T | typeof PENDING;

/** `yield*`'s two results, shared by every await (read at once by the executor). */
const handed: { done: false; value: Leaf<unknown> | null } = { done: false, value: null };
const resumed: { done: true; value: unknown } = { done: true, value: undefined };

/** A future: its own iterator for `yield*`, polled by the executor with the awaiting task. */
abstract class Leaf<T> {
  #stage = 0;

  abstract poll(task: Task): Poll<T>;

  cancel(): void {}

  [Symbol.iterator](): Iterator<Leaf<unknown>, T, unknown> {
    return this as unknown as Iterator<Leaf<unknown>, T, unknown>;
  }

  next(value?: unknown): IteratorResult<Leaf<unknown>, T> {
    if (this.#stage === 0) {
      this.#stage = 1;
      handed.value = this;
      return handed as IteratorYieldResult<Leaf<unknown>>;
    }
    this.#stage = 0;
    resumed.value = value;
    return resumed as IteratorReturnResult<T>;
  }
}

type Body<T> = Generator<Leaf<unknown>, T, unknown>;

/** A FIFO ring of tasks. */
class Queue {
  #items: (Task | undefined)[] = new Array<Task | undefined>(64);
  #head = 0;
  length = 0;

  push(task: Task): void {
    if (this.length === this.#items.length) {
      const items = new Array<Task | undefined>(this.length * 2);
      for (let index = 0; index < this.length; index++) items[index] = this.#items[(this.#head + index) & (this.length - 1)];
      this.#items = items;
      this.#head = 0;
    }
    this.#items[(this.#head + this.length) & (this.#items.length - 1)] = task;
    this.length++;
  }

  shift(): Task {
    const task = this.#items[this.#head]!;
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.length--;
    return task;
  }
}

const queue = new Queue();

/** A task: its generator, what it awaits, and its join handle (a leaf its joiners await). */
class Task extends Leaf<unknown> {
  readonly body: Body<unknown>;
  awaiting: Leaf<unknown> | null = null;
  input: unknown = undefined;
  queued = true;
  done = false;
  value: unknown = undefined;
  joiner: Task | null = null;

  constructor(body: Body<unknown>) {
    super();
    this.body = body;
  }

  wake(): void {
    if (this.queued || this.done) return;
    this.queued = true;
    queue.push(this);
  }

  /** As a join handle: the task's value once it is done. */
  poll(task: Task): Poll<unknown> {
    if (this.done) return this.value;
    this.joiner = task;
    return PENDING;
  }

  run(): void {
    for (;;) {
      if (this.awaiting === null) {
        const step = this.body.next(this.input);
        if (step.done === true) {
          this.done = true;
          this.value = step.value;
          this.joiner?.wake();
          return;
        }
        this.awaiting = step.value;
      }
      const value = this.awaiting.poll(this);
      if (value === PENDING) return;
      this.awaiting = null;
      this.input = value;
    }
  }
}

function spawn<T>(body: Body<T>): Leaf<T> {
  const task = new Task(body as Body<unknown>);
  queue.push(task);
  return task as Leaf<T>;
}

class YieldNow extends Leaf<void> {
  #yielded = false;

  poll(task: Task): Poll<void> {
    if (this.#yielded) return undefined;
    this.#yielded = true;
    task.wake();
    return PENDING;
  }
}

function yieldNow(): Leaf<void> {
  return new YieldNow();
}

/** The sleeps armed, by deadline: a binary heap; a cancelled one stays until it comes out. */
const heap: Sleep[] = [];

class Sleep extends Leaf<void> {
  readonly deadline: number;
  task: Task | null = null;
  armed = false;
  fired = false;

  constructor(ms: number) {
    super();
    this.deadline = performance.now() + ms;
  }

  poll(task: Task): Poll<void> {
    if (this.fired) return undefined;
    this.task = task;
    if (!this.armed) {
      this.armed = true;
      heapPush(this);
    }
    return PENDING;
  }

  override cancel(): void {
    this.task = null;
  }
}

function heapPush(entry: Sleep): void {
  let index = heap.push(entry) - 1;
  while (index > 0) {
    const parent = (index - 1) >> 1;
    if (heap[parent]!.deadline <= entry.deadline) break;
    heap[index] = heap[parent]!;
    index = parent;
  }
  heap[index] = entry;
}

function heapPop(): Sleep {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    let index = 0;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && heap[child + 1]!.deadline < heap[child]!.deadline) child++;
      if (heap[child]!.deadline >= last.deadline) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = last;
  }
  return top;
}

/** Fires the due sleeps; returns the milliseconds until the next (-1: none). */
function fireDue(): number {
  const nowMs = performance.now();
  while (heap.length > 0 && heap[0]!.deadline <= nowMs) {
    const entry = heapPop();
    entry.fired = true;
    entry.task?.wake();
  }
  return heap.length === 0 ? -1 : heap[0]!.deadline - nowMs;
}

/** Runs tasks until `main` is done; returns its value. */
function blockOn<T>(body: Body<T>): T {
  const main = spawn(body) as unknown as Task;
  while (!main.done) {
    while (queue.length > 0) {
      const task = queue.shift();
      task.queued = false;
      task.run();
    }
    const waitMs = fireDue();
    if (queue.length > 0 || main.done) continue;
    if (waitMs < 0) throw new Error("floor: tasks wait but nothing can wake them");
    Bun.sleepSync(Math.max(waitMs, 0.05));
  }
  return main.value as T;
}

/** A one-shot notification, as tokio's `Notify`. */
class Notify extends Leaf<void> {
  #set = false;
  #task: Task | null = null;

  notify(): void {
    this.#set = true;
    const task = this.#task;
    this.#task = null;
    task?.wake();
  }

  poll(task: Task): Poll<void> {
    if (this.#set) {
      this.#set = false;
      return undefined;
    }
    this.#task = task;
    return PENDING;
  }
}

function* yields(tasks: number, count: number): Body<number> {
  function* task(): Body<void> {
    for (let index = 0; index < count; index++) yield* yieldNow();
  }
  const handles = Array.from({ length: tasks }, () => spawn(task()));
  for (const handle of handles) yield* handle;
  return tasks * count;
}

function* spawns(tasks: number): Body<number> {
  function* empty(): Body<void> {}
  const handles = Array.from({ length: tasks }, () => spawn(empty()));
  for (const handle of handles) yield* handle;
  return tasks;
}

function* pingPong(rounds: number): Body<number> {
  const ping = new Notify();
  const pong = new Notify();
  const other = spawn(
    (function* (): Body<void> {
      for (let index = 0; index < rounds; index++) {
        yield* ping;
        pong.notify();
      }
    })(),
  );
  for (let index = 0; index < rounds; index++) {
    ping.notify();
    yield* pong;
  }
  yield* other;
  return rounds * 2;
}

function* sleepers(tasks: number): Body<number> {
  function* sleeper(ms: number): Body<void> {
    yield* new Sleep(ms);
  }
  const handles = Array.from({ length: tasks }, (_, index) => spawn(sleeper(sleepMs(index))));
  for (const handle of handles) yield* handle;
  return tasks;
}

class PollAll extends Leaf<void> {
  readonly #sleeps: Sleep[];

  constructor(sleeps: Sleep[]) {
    super();
    this.#sleeps = sleeps;
  }

  poll(task: Task): Poll<void> {
    for (const entry of this.#sleeps) if (entry.poll(task) !== PENDING) throw new Error("a timer fired early");
    return undefined;
  }
}

function* timers(count: number): Body<number> {
  const sleeps = Array.from({ length: count }, (_, index) => new Sleep(timerMs(index)));
  // Each sleep is armed by one poll with this task, then cancelled.
  yield* new PollAll(sleeps);
  for (const entry of sleeps) entry.cancel();
  // The cancelled sleeps leave the heap here, as a wheel's cancel would take them out at once.
  heap.length = 0;
  return count;
}

function selectRecv(): Body<number> {
  throw new Error("floor: the select workload needs a poller, which the floor does not have");
}

const [runsArg, name, ...args] = process.argv.slice(2);
const runs = runsOf(runsArg, "floor");
await report(runs, () =>
  blockOn(dispatch(name as Workload, args, `floor ${name}`, { yields, spawns, pingPong, sleepers, timers, selectRecv })),
);
