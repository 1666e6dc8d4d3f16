/**
 * bun-reactor's second entry, `bun-reactor/internals`: the runtime's machinery, for people
 * building their own I/O futures and drivers on it. Apps need only the main entry,
 * `bun-reactor`.
 *
 * What is here, and what it is for:
 * - `IoFuture` and `IoSource`: a leaf future over a non-blocking system call. Implement
 *   `attempt()` (return the value, or `WOULD_BLOCK`) and the reactor does the waiting.
 * - `Reactor`, `Registration`, `LazyRegistration`, `READ`, `WRITE`: the map from tokens to
 *   the futures waiting on them, and a descriptor's place in it.
 * - `Executor`, `TimerQueue`, `Driver`, `RuntimeCore`, `POLL_BUDGET`: the run queue, the
 *   timers and the driver interface a runtime is made of (`cx.runtime` is a `RuntimeCore`).
 * - `AsyncFuture`, `toFuture`, `noopWaker`: driving a generator as a future, and polling a
 *   future by hand (in a test, or a driver of your own).
 * - `Poller`, `PollerHandle`, `pollerBackend`: the OS poller itself, e.g. to open a worker
 *   thread's poller on the main thread (`RuntimeOptions.poller`) and wake it from there.
 *
 * These are less stable than the main entry: they follow the runtime's design, not an app's.
 *
 * @example
 * ```ts
 * import { IoFuture, type IoSource, READ, WOULD_BLOCK } from "bun-reactor/internals";
 *
 * // A future that waits until a descriptor registered through `source` has a line to read.
 * class ReadLine extends IoFuture<string> {
 *   constructor(source: IoSource, readonly tryRead: () => string | null) {
 *     super(source, READ);
 *   }
 *   protected attempt() {
 *     return this.tryRead() ?? WOULD_BLOCK;
 *   }
 *   protected describe() {
 *     return "read a line";
 *   }
 * }
 * ```
 *
 * @module
 */
export { AsyncFuture, toFuture } from "./runtime/async-future.ts";
export { POLL_BUDGET, type RuntimeCore } from "./runtime/context.ts";
export type { Driver } from "./runtime/driver.ts";
export { Executor, type ExecutorOptions, PREEMPTED_DETAIL, type TaskSnapshot, type WakeCause } from "./runtime/executor.ts";
export { dropAfterFailure } from "./runtime/future.ts";
export { IoFuture, type IoSource, WOULD_BLOCK, type WouldBlock } from "./runtime/io-future.ts";
export {
  type Closeable,
  LazyRegistration,
  READ,
  Reactor,
  Registration,
  RegistrationError,
  type RegistrationSnapshot,
  type StatusSnapshot,
  type Waiter,
  WRITE,
} from "./runtime/reactor.ts";
export { TimerQueue } from "./runtime/timers.ts";
export { FIRED, removeTimer, Timer, type TimerEntry, TimerWheel, UNARMED, WheelSlot } from "./runtime/timer-wheel.ts";
export type { Traced } from "./runtime/trace.ts";
export { noopWaker } from "./runtime/waker.ts";
export { Poller, type PollerHandle, pollerBackend } from "./sys/poller.ts";
export { threadCpuMs } from "./sys/thread-cpu.ts";
export { CPUS_MAX, currentThreadId, keepThreadsOn, setThreadCpus, threadCpus } from "./sys/thread-affinity.ts";
export { idleCompilerThreads, setThreadIdle } from "./sys/thread-priority.ts";
