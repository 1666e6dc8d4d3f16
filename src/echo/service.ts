/**
 * One echo service on one runtime: a reader (supervised) and a writer over each of its sockets, the
 * optional stats sampling, and an orderly stop: stop receiving, send what is already queued
 * (waiting a bounded time), then end.
 *
 * @module
 */
import {
  type Async,
  type Awaitable,
  type JoinHandle,
  joinAll,
  Runtime,
  select,
  sleep,
  spawn,
  TimeoutError,
  timeout,
  type UdpSocket,
} from "../index.ts";
import type { EchoConfig } from "./config.ts";
import { drainReplies, type EchoPolicy, type EchoSocket, echoReader, echoWriter, slotBytes } from "./echo.ts";
import { ReflectionGuard } from "./guard.ts";
import { RateLimiter } from "./rate-limit.ts";
import { ReplyQueue } from "./reply-queue.ts";
import { Counter, type EchoStats } from "./stats.ts";
import { supervise } from "./supervisor.ts";
import { UnreachablePeers } from "./unreachable.ts";

/**
 * Entries per recvmmsg/sendmmsg call. Each slot holds the largest datagram, or with offload the
 * largest coalesced burst (64 KiB): 64 × 64 KiB = 4 MiB of receive buffer either way.
 */
export const BATCH_SIZE = 64;
/** Replies (entries) that may wait for the socket before the oldest are dropped: 16 MiB of slots. */
export const QUEUE_CAPACITY = 256;
/** How long a stop waits for queued replies to go out. */
export const DRAIN_MS = 500;
/**
 * The turn budget of the runtime an echo service runs on, in milliseconds. Under a flood the
 * reader's receives are always ready, and without a time limit one poll took up to 128 batches
 * (its budget of ready awaits): 40–50 ms, while the writer, the timers and the console waited.
 * With it a poll ends once the turn's time is up, at most one batch later (a batch of 64
 * datagrams took 0.1–0.3 ms), then the runtime checks the OS and its timers and goes on. Cost:
 * one clock read per batch and one poller check per turn; CPU per echo under a 64-byte flood
 * was the same with and without it (2.36 and 2.37 µs, three interleaved rounds, shared machine).
 */
export const TURN_BUDGET_MS = 0.5;
/** Restarts of a failing echo loop allowed per second. */
export const RESTARTS_PER_SECOND_MAX = 5;

/**
 * The checks and counters of an echo service, from the command line's config; `offload` says
 * whether its socket has UDP GRO/GSO on. Replies go from the address the kernel picks: see
 * {@link listenersFor} for sockets that report each datagram's destination.
 */
export function policyFor(config: EchoConfig, stats: EchoStats, offload: boolean): EchoPolicy {
  return {
    maxDatagram: config.maxDatagram,
    offload,
    batchSize: BATCH_SIZE,
    guard: config.reflectionGuard ? new ReflectionGuard() : null,
    rateLimiter: config.rateLimit === null ? null : new RateLimiter(config.rateLimit),
    stats,
  };
}

/** Options of {@link serveEcho}. */
export interface ServeOptions {
  /** Ready when the service must stop (a signal, a flag set by another thread). */
  readonly stop: Awaitable<unknown>;
  /**
   * Receives one line per failure of the echo loop, and one when the kernel refused the
   * socket's segmented sends (bursts then go back one datagram per send).
   */
  readonly report: (line: string) => void;
  /** Seconds between samples of the tasks alive, or null for none. */
  readonly sampleSeconds: number | null;
  /** Receives the summary of replies that met an ICMP error, once, at the end (if any did). */
  readonly summary?: (line: string) => void;
  /**
   * Called once the reader and the writer have been polled once (their buffers are allocated),
   * in a task's first poll of its own (start-up work, which the console judges as such): where
   * udp-echo collects the garbage of its start and says it is ready.
   */
  readonly started?: () => void;
}

/** How often the kernel's count of datagrams it dropped for the socket is read. */
export const KERNEL_DROPS_MS = 250;

/**
 * A function that adds to the stats the datagrams the kernel dropped for `socket` since the
 * last call, counting from when the socket was opened (Linux: its receive buffer was full);
 * null where the OS keeps no such count.
 */
function kernelDropCounter(socket: EchoSocket, stats: EchoStats): (() => void) | null {
  if ((socket.kernelDrops?.() ?? null) === null) return null;
  let last = 0; // the kernel's count starts at 0 when the socket is opened
  return () => {
    const current = socket.kernelDrops!()!;
    // The kernel's count wraps at 2^31 (see `UdpSocket.kernelDrops`).
    stats.counters[Counter.droppedByKernel]! += (current - last + 2 ** 31) % 2 ** 31;
    last = current;
  };
}

/**
 * A function that reports, once, that the kernel refused the socket's segmented sends (GSO):
 * the echo goes on, bursts going back one datagram per send, but the operator should know why
 * it costs more. Null for a socket that cannot tell.
 */
function segmentationWatch(socket: EchoSocket, report: (line: string) => void): (() => void) | null {
  if (socket.segmentationRefused === undefined) return null;
  let reported = false;
  return () => {
    const refusal = socket.segmentationRefused ?? null;
    if (reported || refusal === null) return;
    reported = true;
    report(`the kernel refused a segmented send (${refusal}): bursts are echoed one datagram per send from now on`);
  };
}

/**
 * What the kernel tells about the socket outside the datagrams it delivers, read every
 * {@link KERNEL_DROPS_MS}: its drop count, the errors waiting in its error queue (a send may
 * have taken the error report that would have woken the reader for them), and whether it
 * refused segmented sends.
 */
function* sampleKernel(checks: readonly (() => void)[]): Async<never> {
  for (;;) {
    yield* sleep(KERNEL_DROPS_MS);
    for (const check of checks) check();
  }
}

/** Keeps the stats' "tasks alive" up to date. */
function* sampleTasks(stats: EchoStats, seconds: number): Async<never> {
  const runtime = Runtime.current();
  for (;;) {
    stats.counters[Counter.tasksAlive] = runtime.tasksAlive;
    yield* sleep(seconds * 1000);
  }
}

/** A task that runs `started` in its first poll and ends there (it awaits nothing). */
function* announce(started: () => void): Async<void> {
  started();
}

/** One socket of an echo service, and the policy its reader follows. */
export interface EchoListener {
  readonly socket: EchoSocket;
  readonly policy: EchoPolicy;
}

/**
 * The listeners of `sockets` under `config`: one policy each, all counting into `stats` and
 * sharing one reflection guard and one rate limiter (a source's cap holds across the sockets);
 * each with its socket's offload, and replies from each datagram's destination where the
 * socket reports it (a wildcard address).
 *
 * @example
 * ```ts
 * yield* serveEcho(listenersFor(config, stats, sockets), { stop, report: console.error, sampleSeconds: null });
 * ```
 */
export function listenersFor(config: EchoConfig, stats: EchoStats, sockets: readonly UdpSocket[]): EchoListener[] {
  const shared = policyFor(config, stats, false);
  return sockets.map((socket) => ({
    socket,
    policy: { ...shared, offload: socket.offload.state === "on", replyFromDestination: socket.receives.destination },
  }));
}

/** The tasks of one listener, and what the service checks and drains of its socket. */
interface Served {
  readonly socket: EchoSocket;
  readonly queue: ReplyQueue;
  readonly writer: JoinHandle<unknown>;
  readonly reader: JoinHandle<unknown>;
  readonly unreachable: UnreachablePeers | null;
  readonly updateKernelDrops: (() => void) | null;
  /** What the kernel sampler checks of the socket. */
  readonly checks: readonly (() => void)[];
}

/** Spawns the writer and the (supervised) reader of one listener. */
function serveListener({ socket, policy }: EchoListener, options: ServeOptions): Served {
  const stats = policy.stats;
  const queue = new ReplyQueue(QUEUE_CAPACITY, slotBytes(policy), stats, { info: policy.replyFromDestination === true });
  // ICMP errors for replies (a departed client) are queued by the kernel where it can.
  const unreachable = (socket.enableErrorQueue?.() ?? false) ? new UnreachablePeers(socket, stats) : null;
  const writer = spawn(echoWriter(socket, queue), { name: "echo writer" });
  const reader = spawn(
    supervise(() => echoReader(socket, queue, policy, unreachable), {
      name: "the echo loop",
      restartsPerSecondMax: RESTARTS_PER_SECOND_MAX,
      report: options.report,
      onRestart: () => void stats.counters[Counter.restarts]!++,
    }),
    { name: "echo reader" },
  );
  const updateKernelDrops = kernelDropCounter(socket, stats);
  updateKernelDrops?.(); // those dropped before the service started (it was slow to start)
  const drainErrors = unreachable === null ? null : () => void unreachable.drain();
  const checks = [updateKernelDrops, drainErrors, segmentationWatch(socket, options.report)].filter((check) => check !== null);
  return { socket, queue, writer, reader, unreachable, updateKernelDrops, checks };
}

/**
 * Echoes on the listeners' sockets until `options.stop` is ready, then stops receiving and sends
 * what is queued (for at most {@link DRAIN_MS}). Throws if a reader fails more often than it may
 * be restarted. The listeners count into one stats (the first listener's policy's).
 */
export function* serveEcho(listeners: readonly EchoListener[], options: ServeOptions): Async<void> {
  if (listeners.length === 0) throw new RangeError("serveEcho: no listener: there is no socket to echo on");
  const stats = listeners[0]!.policy.stats;
  const served = listeners.map((listener) => serveListener(listener, options));
  const sampler =
    options.sampleSeconds === null ? null : spawn(sampleTasks(stats, options.sampleSeconds), { name: "stats sampler" });
  const checks = served.flatMap((one) => one.checks);
  const kernelSampler = checks.length === 0 ? null : spawn(sampleKernel(checks), { name: "kernel sampler" });
  // Polled after the tasks above, once each has had its first poll: the readers hold their batches.
  if (options.started !== undefined) spawn(announce(options.started), { name: "service started" });
  const cancelAll = () => {
    for (const { reader, writer } of served) {
      reader.cancel();
      writer.cancel();
    }
  };
  try {
    // A reader only ends by failing too often; the stop ends them otherwise. (A select only
    // detaches from a losing task: stopping it is said here.)
    yield* select([options.stop, ...served.map((one) => one.reader)]);
    cancelAll();
    try {
      yield* timeout(joinAll(served.map(({ socket, queue }) => drainReplies(socket, queue))), DRAIN_MS);
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      for (const { queue } of served) stats.counters[Counter.droppedOverload]! += queue.datagrams;
    }
  } finally {
    cancelAll();
    sampler?.cancel();
    kernelSampler?.cancel();
    for (const { updateKernelDrops, unreachable } of served) {
      updateKernelDrops?.();
      unreachable?.drain();
      const summary = unreachable?.summary() ?? null;
      if (summary !== null) options.summary?.(summary);
    }
    stats.counters[Counter.tasksAlive] = 0;
  }
}
