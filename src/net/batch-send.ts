/**
 * The batch send: how a range of a {@link DatagramBatch} goes out through sendmmsg, and the
 * report of what became of each datagram. It skips what the OS refuses, stops where the socket
 * fills or the kernel runs short of memory, and falls back to one send per datagram once the
 * socket's segmented sends (UDP GSO) were refused. The batch holds the datagrams and each
 * one's refusal; the counting is here.
 *
 * @module
 */
import { Errno, errnoName } from "../sys/errors.ts";
import { SendRefusal, udpTrySendBatch, udpTrySendDatagram, WOULD_BLOCK, type WouldBlock } from "../sys/udp.ts";
import type { DatagramBatch } from "./datagram-batch.ts";
import type { Offload, SocketAccess } from "./udp-types.ts";
import { formatSocketAddress, type SocketAddress } from "../sys/address.ts";

/**
 * What a batch send did with datagrams `start` to `end - 1` of a batch: each datagram before
 * {@link next} was either sent or refused by the OS ({@link DatagramBatch.refusal} says which
 * and why); the others were not tried, because the socket was full.
 *
 * The report belongs to the batch and is overwritten by its next send, like the batch's
 * payloads by its next receive: read it at once.
 *
 * @example
 * ```ts
 * const report = yield* socket.sendBatch(batch, count);
 * console.log(`${report.datagrams} datagrams sent, ${report.refused} refused`);
 * ```
 */
export interface BatchSendReport {
  /** The first datagram not handled: the range's end when every one was sent or refused. */
  readonly next: number;
  /** How many entries were sent. */
  readonly sent: number;
  /** The datagrams in them: more than `sent` when some entries were coalesced bursts. */
  readonly datagrams: number;
  /** Their payload bytes. */
  readonly bytes: number;
  /** How many entries the OS refused. */
  readonly refused: number;
  /** The datagrams in them. */
  readonly refusedDatagrams: number;
  /**
   * Why the send stopped at {@link next} although the socket was writable, as an errno name:
   * `"ENOBUFS"` or `"ENOMEM"`, the kernel short of memory for a moment. Datagram `next` was not
   * refused: send it again after a short pause. Null when the send did not stall.
   */
  readonly stalled: string | null;
}

/**
 * The mutable record behind a {@link BatchSendReport}: one per batch, reused by every send of
 * it (so that sending allocates nothing), filled as the send goes.
 */
export class SendRecord implements BatchSendReport {
  next = 0;
  sent = 0;
  datagrams = 0;
  bytes = 0;
  refused = 0;
  refusedDatagrams = 0;
  stalled: string | null = null;
  readonly #result: { readonly state: "ok"; readonly value: BatchSendReport } = { state: "ok", value: this };

  /** The `try…` result carrying this record, made once (private, so that a copy of the report has only its counts). */
  get result(): { readonly state: "ok"; readonly value: BatchSendReport } {
    return this.#result;
  }

  /** Starts a send at datagram `start`: the counts are reset. */
  begin(start: number): this {
    this.next = start;
    this.sent = 0;
    this.datagrams = 0;
    this.bytes = 0;
    this.refused = 0;
    this.refusedDatagrams = 0;
    this.stalled = null;
    return this;
  }

  /** Entries `next` to `next + count - 1` of `batch` were sent. */
  noteSent(batch: DatagramBatch, count: number): void {
    const end = this.next + count;
    for (let index = this.next; index < end; index++) {
      this.bytes += batch.size(index);
      this.datagrams += batch.datagramCount(index);
    }
    batch.clearRefusals(this.next, end);
    this.sent += count;
    this.next = end;
  }

  /**
   * The first `datagrams` datagrams of the coalesced entry `next` were sent alone, one send
   * each: they are counted, and taken out of the entry, which keeps the rest.
   */
  noteSentLeading(batch: DatagramBatch, datagrams: number): void {
    if (datagrams === 0) return;
    const index = this.next;
    const segment = batch.segmentSize(index);
    const size = batch.size(index);
    const bytes = datagrams * segment;
    const start = index * batch.slotSize;
    batch.payloads.copyWithin(start, start + bytes, start + size);
    batch.reshape(index, size - bytes, segment);
    this.datagrams += datagrams;
    this.bytes += bytes;
  }

  /** Entry `next` of `batch` was refused with `errno`: noted in the batch, and skipped. */
  noteRefused(batch: DatagramBatch, errno: number): void {
    batch.noteRefusal(this.next, errno);
    this.refused++;
    this.refusedDatagrams += batch.datagramCount(this.next);
    this.next++;
  }

  /** Entry `next` met a transient shortage (`errno`): the send stops there. */
  noteStalled(errno: number): void {
    this.stalled = errnoName(errno);
  }
}

/**
 * Refuses a segmented entry from `start` to `end - 1` of `batch` on a socket (at `where`)
 * without offload: a kernel that ignored the request would send it as one large datagram,
 * merging the datagrams the caller meant.
 *
 * @example
 * ```ts
 * checkSegmentable(socket.offload, socket.localAddress, batch, 0, count);
 * ```
 */
export function checkSegmentable(offload: Offload, where: SocketAddress, batch: DatagramBatch, start: number, end: number): void {
  if (offload.state === "on" || !batch.hasSegmented(start, end)) return;
  throw new RangeError(
    `a batch entry with a segment size cannot be sent on ${formatSocketAddress(where)}: offload is off (${offload.reason})`,
  );
}

const records = new WeakMap<DatagramBatch, SendRecord>();

/** The record of `batch`'s sends, reset for a send from `start`. */
export function beginSend(batch: DatagramBatch, start: number): SendRecord {
  let record = records.get(batch);
  if (record === undefined) records.set(batch, (record = new SendRecord()));
  return record.begin(start);
}

/**
 * Errors of a send that say the kernel is short of memory right now, not that the datagram is
 * wrong: Linux reports `ENOBUFS` when a device queue or the socket's memory is exhausted. The
 * datagram is kept for another try (Bun.udpSocket treats ENOBUFS as fatal).
 */
const TRANSIENT_SEND_ERRORS: ReadonlySet<number> = new Set([Errno.ENOBUFS, Errno.ENOMEM]);

/**
 * Errors of a segmented send that say the route cannot segment, not that the datagrams are
 * wrong: Linux's udp_send_skb answers `EIO` when the device cannot checksum the segments and
 * `EINVAL` when a segment does not fit the route. The datagrams then go one send each.
 */
const SEGMENTATION_ERRORS: ReadonlySet<number> = new Set([Errno.EIO, Errno.EINVAL]);

/**
 * Sends from `record.next` to `end - 1` until all are handled or the send stalled (true), or
 * the socket is full (false). A refused datagram is noted in the batch and skipped; a
 * transient shortage stops the send before the datagram that met it. Once the socket's
 * segmented sends were refused, a coalesced entry goes datagram by datagram.
 */
export function sendBatchNow(socket: SocketAccess, batch: DatagramBatch, record: SendRecord, end: number): boolean {
  const fd = socket.openDescriptor("send on");
  while (record.next < end) {
    const next = record.next;
    const split = socket.segmentationRefused() !== null;
    if (split && batch.datagramCount(next) > 1) {
      const outcome = sendDatagramsNow(fd, batch, record);
      if (outcome === "full") return false;
      if (outcome === "stalled") return true;
      continue;
    }
    const stop = split ? firstCoalesced(batch, next, end) : end;
    const infos = batch.infoRange(next, stop);
    const result = udpTrySendBatch(fd, batch.payloadRange(next, stop), batch.slotSize, batch.entryRange(next, stop), infos);
    if (result === WOULD_BLOCK) return false;
    if (result instanceof SendRefusal) {
      if (TRANSIENT_SEND_ERRORS.has(result.errno)) {
        record.noteStalled(result.errno);
        return true;
      }
      if (!split && SEGMENTATION_ERRORS.has(result.errno) && batch.datagramCount(next) > 1) {
        // Not this entry's fault: it goes again, datagram by datagram (next turn of the loop).
        socket.refuseSegmentation(result.errno);
        continue;
      }
      record.noteRefused(batch, result.errno);
    } else record.noteSent(batch, result);
  }
  return true;
}

/** The first entry from `start` to `end - 1` that holds several datagrams, or `end`. */
function firstCoalesced(batch: DatagramBatch, start: number, end: number): number {
  for (let index = start; index < end; index++) if (batch.datagramCount(index) > 1) return index;
  return end;
}

/**
 * Sends the datagrams of the coalesced entry `record.next` one send each. If the socket fills,
 * the kernel runs short of memory or the OS refuses one, those already sent are counted and
 * taken out of the entry, which keeps the rest: none goes twice, none is skipped. A refusal
 * concerns the peer, so it refuses the rest of the entry (all to that peer).
 */
function sendDatagramsNow(fd: number, batch: DatagramBatch, record: SendRecord): "handled" | "full" | "stalled" {
  const index = record.next;
  const count = batch.datagramCount(index);
  const peer = batch.peerBytes(index);
  const info = batch.infoRange(index, index + 1);
  let sent = 0;
  let failure: WouldBlock | SendRefusal | null = null;
  while (sent < count && failure === null) {
    const result = udpTrySendDatagram(fd, batch.datagram(index, sent), peer, info);
    if (typeof result === "number") sent++;
    else failure = result;
  }
  if (failure === null) {
    record.noteSent(batch, 1);
    return "handled";
  }
  record.noteSentLeading(batch, sent);
  if (failure === WOULD_BLOCK) return "full";
  if (TRANSIENT_SEND_ERRORS.has(failure.errno)) {
    record.noteStalled(failure.errno);
    return "stalled";
  }
  record.noteRefused(batch, failure.errno);
  return "handled";
}
