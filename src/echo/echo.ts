/**
 * The echo service (RFC 862): every datagram goes back, byte for byte, to the address it came
 * from. This is the seed's `async_main`: a task that awaits `recv_from` on the socket and is
 * woken by the reactor when datagrams arrive (step 3 of the flow).
 *
 * Two tasks share the socket:
 * - the **reader** receives a batch (recvmmsg), drops what must not be echoed (oversized,
 *   refused by the reflection guard, over the rate limit) and sends the rest at once (sendmmsg)
 *   if the socket takes them;
 * - the **writer** sends what the socket could not take at once, from a bounded queue, waiting
 *   for writability through the reactor.
 *
 * With offload on, an entry of a batch may be a burst of datagrams from one source, coalesced
 * by the kernel (see `DatagramBatch`). It goes back as one entry too, which the kernel cuts
 * into the very same datagrams (GSO): RFC 862 is datagram by datagram, and so is everything
 * here. Every check applies to each datagram of a burst, every counter counts datagrams, and
 * when only part of a burst may be echoed, exactly that part goes back.
 *
 * @module
 */
import { type Async, COALESCED_BYTES_MAX, DatagramBatch, now, sleep, SystemError, type UdpSocket, yieldNow } from "../index.ts";
import type { ReflectionGuard } from "./guard.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { ReplyQueue } from "./reply-queue.ts";
import { DRAIN_MAX, type UnreachablePeers } from "./unreachable.ts";
import { Counter, type EchoStats } from "./stats.ts";

/** What the echo needs of its socket (its public API): a `UdpSocket`, or a test double. */
export type EchoSocket = Pick<UdpSocket, "recvBatch" | "trySendBatch" | "writable"> &
  Partial<Pick<UdpSocket, "kernelDrops" | "enableErrorQueue" | "tryRecvError" | "segmentationRefused">>;

/**
 * Errors a receive can report that concern one peer, not the socket: the asynchronous report
 * (an ICMP error) that an earlier reply could not be delivered, because the client left.
 */
const PEER_ERRORS: ReadonlySet<string> = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET"]);

/** Errors that say the kernel is short of memory for a moment: the call is tried again. */
const TRANSIENT_ERRORS: ReadonlySet<string> = new Set(["ENOBUFS", "ENOMEM"]);

/** What the reader checks and where it counts. */
export interface EchoPolicy {
  /** Datagrams larger than this are dropped, never echoed truncated. */
  readonly maxDatagram: number;
  /**
   * Whether the socket has offload on: entries may then be coalesced bursts, and slots must
   * hold `COALESCED_BYTES_MAX` bytes.
   */
  readonly offload: boolean;
  /** Datagrams received per system call. */
  readonly batchSize: number;
  /** Refuses replies to dangerous ports; null turns the guard off. */
  readonly guard: ReflectionGuard | null;
  /** Per-source rate limit; null for none. */
  readonly rateLimiter: RateLimiter | null;
  readonly stats: EchoStats;
  /**
   * Whether each reply goes from the address its datagram was sent to: the socket reports it
   * (`receiveDestination`, on a wildcard address), and batches keep it (`{ info: true }`).
   * Default false: replies go from the address the kernel picks.
   */
  readonly replyFromDestination?: boolean;
}

/** Word offset of the address in a datagram entry (see `abi.Datagram`). */
const ADDRESS_WORD = 2;
const ENTRY_WORDS = 8;

/** The bytes of a slot that hold one entry, for a policy. */
export function slotBytes(policy: Pick<EchoPolicy, "maxDatagram" | "offload">): number {
  return policy.offload ? COALESCED_BYTES_MAX : policy.maxDatagram;
}

/**
 * Counts the `count` entries just received and keeps those that may be echoed, moved to the
 * front of the batch in order. Returns how many entries were kept.
 */
export function admit(batch: DatagramBatch, count: number, policy: EchoPolicy): number {
  const counters = policy.stats.counters;
  const { guard, rateLimiter, maxDatagram } = policy;
  const words = batch.entryWords;
  const at = rateLimiter === null ? 0 : now();
  let kept = 0;
  let bytesIn = 0;
  let datagramsIn = 0;
  for (let index = 0; index < count; index++) {
    const size = batch.size(index);
    const datagrams = batch.datagramCount(index);
    bytesIn += size;
    datagramsIn += datagrams;
    if (batch.truncated(index)) {
      counters[Counter.droppedOversized]! += datagrams;
    } else if (guard !== null && guard.refuses(batch.peerPort(index))) {
      // A burst has one source: it is refused whole, and counted datagram by datagram.
      counters[Counter.droppedRefused]! += datagrams;
    } else if (datagrams > 1) {
      // A burst goes back whole when each of its datagrams would; else datagram by datagram.
      const whole = rateLimiter === null && batch.segmentSize(index) <= maxDatagram;
      if (whole || admitBurst(batch, index, policy, at)) batch.move(index, kept++);
    } else if (size > maxDatagram) {
      counters[Counter.droppedOversized]!++;
    } else if (rateLimiter !== null && !rateLimiter.admit(words, index * ENTRY_WORDS + ADDRESS_WORD, at)) {
      counters[Counter.droppedRateLimited]!++;
    } else {
      batch.move(index, kept++);
    }
  }
  counters[Counter.datagramsIn]! += datagramsIn;
  counters[Counter.bytesIn]! += bytesIn;
  // Each reply goes from the destination its datagram was received with, unless that cannot be
  // a source (a multicast or broadcast address): those go from the address the kernel picks.
  if (policy.replyFromDestination === true) batch.keepUnicastDestinations(kept);
  return kept;
}

/** How a send of a range of replies ended; one object, reused: read it at once. */
export interface SendProgress {
  /** The first datagram not sent (nor refused): the range's end if all went. */
  next: number;
  /** Whether the kernel was short of memory (ENOBUFS, ENOMEM): try again after a pause. */
  stalled: boolean;
}

const progress: SendProgress = { next: 0, stalled: false };

/**
 * Checks each datagram of the coalesced entry `index` on its own (its size, then the rate
 * limit) and keeps those that pass, moved together to the front of the slot in order. Every
 * datagram kept but the last is a full segment (only a burst's last datagram can be shorter),
 * so what is kept is again one entry of the same segment size. Returns whether any was kept.
 */
function admitBurst(batch: DatagramBatch, index: number, policy: EchoPolicy, at: number): boolean {
  const counters = policy.stats.counters;
  const { rateLimiter, maxDatagram } = policy;
  const size = batch.size(index);
  const segment = batch.segmentSize(index);
  const start = index * batch.slotSize;
  let keptBytes = 0;
  for (let offset = 0; offset < size; offset += segment) {
    const length = Math.min(segment, size - offset);
    if (length > maxDatagram) {
      counters[Counter.droppedOversized]!++;
    } else if (rateLimiter !== null && !rateLimiter.admit(batch.entryWords, index * ENTRY_WORDS + ADDRESS_WORD, at)) {
      counters[Counter.droppedRateLimited]!++;
    } else {
      if (keptBytes !== offset) batch.payloads.copyWithin(start + keptBytes, start + offset, start + offset + length);
      keptBytes += length;
    }
  }
  if (keptBytes === 0) return false;
  batch.reshape(index, keptBytes, segment);
  return true;
}

/**
 * Sends entries `start` to `end - 1` of `batch` as far as the socket takes them without
 * waiting, counting their datagrams. An entry the OS refuses is counted (each of its
 * datagrams) and skipped; a transient shortage of kernel memory stops the send (counted as a
 * retry) and keeps the entry.
 */
export function sendRange(socket: EchoSocket, batch: DatagramBatch, start: number, end: number, stats: EchoStats): SendProgress {
  progress.next = start;
  progress.stalled = false;
  if (start === end) return progress;
  const result = socket.trySendBatch(batch, end, start === 0 ? NO_OPTIONS : { start });
  if (result.state === "would-block") return progress;
  const { next, datagrams, bytes, refusedDatagrams, stalled } = result.value;
  const counters = stats.counters;
  counters[Counter.datagramsOut]! += datagrams;
  counters[Counter.bytesOut]! += bytes;
  counters[Counter.droppedSendError]! += refusedDatagrams;
  if (stalled !== null) counters[Counter.sendRetries]!++;
  progress.next = next;
  progress.stalled = stalled !== null;
  return progress;
}

/** The options of a send from datagram 0, made once: the reader's sends allocate nothing. */
const NO_OPTIONS = {};

/**
 * The reader task: receive, admit, echo; queue what the socket cannot take now. An error of
 * the receive that concerns one departed client (an ICMP error for an earlier reply) is counted
 * and the loop goes on, without a message per datagram: read from the error queue as
 * `unreachable` where the socket has one (`unreachable` given), else as a failed send.
 */
export function* echoReader(
  socket: EchoSocket,
  queue: ReplyQueue,
  policy: EchoPolicy,
  unreachable: UnreachablePeers | null = null,
): Async<never> {
  const batch = new DatagramBatch(policy.batchSize, slotBytes(policy), { info: policy.replyFromDestination === true });
  const receive = socket.recvBatch(batch); // made once: each await receives a new batch
  const stats = policy.stats;
  for (;;) {
    let count: number;
    // While errors keep coming (clients leaving), take them before receiving: a waiting error
    // would otherwise fail the receive first, and an exception per departed client is costly.
    // A full drain may have left more: the poll ends there, and the next takes them.
    if (unreachable !== null && unreachable.active && unreachable.drain() === DRAIN_MAX) {
      yield* yieldNow();
      continue;
    }
    try {
      count = yield* receive;
    } catch (error) {
      if (!(error instanceof SystemError)) throw error;
      if (TRANSIENT_ERRORS.has(error.code)) {
        // The kernel is short of memory: nothing was taken off the socket; try again shortly.
        stats.counters[Counter.receiveRetries]!++;
        yield* sleep(RETRY_FIRST_MS);
        continue;
      }
      if (!PEER_ERRORS.has(error.code)) throw error;
      // With an error queue, this is the first of the queued errors: count them from there.
      if (unreachable !== null) unreachable.drain(true);
      else stats.counters[Counter.droppedSendError]!++;
      continue;
    }
    const kept = admit(batch, count, policy);
    // Replies already queued go first: only send directly when nothing waits ahead.
    const sent = queue.length === 0 ? sendRange(socket, batch, 0, kept, stats).next : 0;
    for (let index = sent; index < kept; index++) queue.push(batch, index);
  }
}

/**
 * The writer task: sends queued replies, and when the socket is full waits until the reactor
 * reports it writable again.
 */
export function* echoWriter(socket: EchoSocket, queue: ReplyQueue): Async<never> {
  // Made once, like the reader's receive: each await waits anew.
  const nonEmpty = queue.nonEmpty();
  const writable = socket.writable();
  for (;;) {
    yield* nonEmpty;
    yield* drainReplies(socket, queue, writable);
  }
}

/** The first pause after a send stalled on a shortage of kernel memory, and the longest. */
const RETRY_FIRST_MS = 1;
const RETRY_MAX_MS = 64;

/**
 * Sends every queued reply, waiting for writability as often as needed (`writable` is the
 * socket's readiness future, made once by a caller that drains again and again). When the
 * kernel is short of memory (ENOBUFS, ENOMEM) the socket stays writable, so it pauses instead,
 * 1 ms and doubling up to 64 ms while the shortage lasts; replies arriving meanwhile wait in the
 * queue, whose bound holds.
 */
export function* drainReplies(socket: EchoSocket, queue: ReplyQueue, writable = socket.writable()): Async<void> {
  let pauseMs = RETRY_FIRST_MS;
  for (;;) {
    const state = queue.sendQueued(socket);
    if (state === "empty") return;
    if (state === "full") {
      pauseMs = RETRY_FIRST_MS;
      yield* writable;
    } else {
      yield* sleep(pauseMs);
      pauseMs = Math.min(pauseMs * 2, RETRY_MAX_MS);
    }
  }
}
