/**
 * bun-reactor: an async runtime for Bun that polls its own tasks, on an epoll/kqueue poller
 * written in Zig.
 *
 * This is the package's main entry: what an app uses (runtimes, tasks, timers, combinators,
 * sockets, errors, and the `Future` contract for writing a future of its own). The runtime's
 * machinery (the executor, the reactor, registrations, the timer queue, drivers, `IoFuture`)
 * is in the second entry, `bun-reactor/internals`, for people building their own I/O futures
 * and drivers.
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
export { type AwaitedOf, joinAll, select, type Selected } from "./runtime/combinators.ts";
export { Context } from "./runtime/context.ts";
export type { DriverName } from "./runtime/driver.ts";
export { DeadlockError, reportUnjoinedError, type SpawnOptions, type UnjoinedErrorHandler } from "./runtime/executor.ts";
export { type Async, type Awaitable, Future, isAsync, PENDING, type Poll, pollFn, ready, yieldNow } from "./runtime/future.ts";
export { JoinHandle } from "./runtime/join-handle.ts";
export { fromPromise } from "./runtime/promise.ts";
// Thrown to apps too: a socket used from a second runtime, or after it was closed.
export { RegistrationError } from "./runtime/reactor.ts";
export { remoteCondition } from "./runtime/remote.ts";
export { Runtime, RuntimeError, type RuntimeOptions, spawn } from "./runtime/runtime.ts";
export { type Outcome, TaskCancelledError } from "./runtime/task.ts";
export { deadline, type DeadlineOptions, now, type Sleep, sleep, sleepUntil, TimeoutError, timeout } from "./runtime/timers.ts";
export { type TimerWarmUpReport, warmUpTimers } from "./runtime/timer-warm-up.ts";
export {
  combineHooks,
  formatTraceEvent,
  type Direction,
  type TraceEvent,
  type TraceHook,
  type TraceKind,
  TraceStep,
} from "./runtime/trace.ts";
export type { Waker } from "./runtime/waker.ts";
export type { BatchSendReport } from "./net/batch-send.ts";
export { COALESCED_BYTES_MAX, DatagramBatch, type DatagramBatchOptions, SEGMENT_BYTES_MAX } from "./net/datagram-batch.ts";
export {
  ActivationError,
  type ActivationEnvironment,
  clearActivationEnvironment,
  describePassed,
  LISTEN_FDS_MAX,
  LISTEN_FDS_START,
  type PassedDescriptor,
  passedDescriptors,
  takePassedUdpSockets,
} from "./net/activation.ts";
export type { Ecn, ReceivedInfo, ReportedInfo, SendOptions } from "./net/datagram-info.ts";
export { SignalWatch, type WatchedSignal } from "./net/signal-watch.ts";
export type { TryResult } from "./net/try-result.ts";
export { UdpSocket } from "./net/udp-socket.ts";
export {
  ADDRESSES_MAX,
  bindEveryAddress,
  type EveryAddress,
  type EveryAddressOptions,
  hostAddresses,
} from "./net/every-address.ts";
export type { UdpConnection } from "./net/connection.ts";
export type { InterfaceName, IpLayer, IpOptions, Membership, MembershipOptions } from "./net/udp-ip.ts";
export { resolve, ResolveError, type ResolveOptions } from "./net/resolve.ts";
export {
  type BatchSendOptions,
  type BindAddress,
  type Offload,
  type QueuedError,
  type Received,
  SocketClosedError,
  type UdpSocketOptions,
} from "./net/udp-types.ts";
export {
  AddressError,
  formatSocketAddress,
  isLoopbackHost,
  isWildcardHost,
  parseSocketAddress,
  type SocketAddress,
  socketAddress,
} from "./sys/address.ts";
export { errnoName, SystemError } from "./sys/errors.ts";
export type { PollerHandle } from "./sys/poller.ts";
