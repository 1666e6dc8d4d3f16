/**
 * bun-reactor: an async runtime for Bun that polls its own tasks, on an epoll/kqueue poller
 * written in Zig.
 *
 * @example
 * ```ts
 * import { Runtime, UdpSocket, type Async } from "bun-reactor";
 *
 * function* echo(): Async<void> {
 *   using socket = UdpSocket.bind("127.0.0.1:7777");
 *   const buffer = new Uint8Array(65507);
 *   for (;;) {
 *     const { bytes, peer } = yield* socket.recvFrom(buffer);
 *     yield* socket.sendTo(bytes, peer);
 *   }
 * }
 *
 * new Runtime().blockOn(echo());
 * ```
 *
 * @module
 */
export { AsyncFuture, toFuture } from "./runtime/async-future.ts";
export { type AwaitedOf, joinAll, select, type Selected } from "./runtime/combinators.ts";
export { Context, POLL_BUDGET, type RuntimeCore } from "./runtime/context.ts";
export type { Driver, DriverName } from "./runtime/driver.ts";
export {
  DeadlockError,
  Executor,
  reportUnjoinedError,
  type SpawnOptions,
  type UnjoinedErrorHandler,
} from "./runtime/executor.ts";
export { type Async, type Awaitable, Future, isAsync, PENDING, type Poll, pollFn, ready, yieldNow } from "./runtime/future.ts";
export { IoFuture, type IoSource, WOULD_BLOCK } from "./runtime/io-future.ts";
export { JoinHandle } from "./runtime/join-handle.ts";
export {
  type Closeable,
  LazyRegistration,
  READ,
  Reactor,
  Registration,
  RegistrationError,
  type Waiter,
  WRITE,
} from "./runtime/reactor.ts";
export { fromPromise } from "./runtime/promise.ts";
export { remoteCondition } from "./runtime/remote.ts";
export { Runtime, RuntimeError, type RuntimeOptions, spawn } from "./runtime/runtime.ts";
export { type Outcome, TaskCancelledError } from "./runtime/task.ts";
export { deadline, now, Sleep, sleep, sleepUntil, TimeoutError, timeout, TimerQueue } from "./runtime/timers.ts";
export {
  formatTraceEvent,
  type Direction,
  type Traced,
  type TraceEvent,
  type TraceHook,
  type TraceKind,
  TraceStep,
} from "./runtime/trace.ts";
export { noopWaker, type Waker } from "./runtime/waker.ts";
export { DatagramBatch } from "./net/datagram-batch.ts";
export { SignalWatch, type WatchedSignal } from "./net/signal-watch.ts";
export {
  type BindAddress,
  type Received,
  type SendErrorHandler,
  SocketClosedError,
  type TryResult,
  UdpSocket,
  type UdpSocketOptions,
} from "./net/udp-socket.ts";
export { AddressError, formatSocketAddress, parseSocketAddress, type SocketAddress, socketAddress } from "./sys/address.ts";
export { errnoName, SystemError } from "./sys/errors.ts";
