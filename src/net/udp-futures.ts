/**
 * The UDP socket's waiting forms: each is an {@link IoFuture} that tries its system call (step
 * 4) and, on would-block, has the reactor keep its task's waker (steps 5 and 6). The socket
 * makes them; each can be awaited again, so a loop makes its future once.
 *
 * @module
 */
import { formatSocketAddress, type SocketAddress } from "../sys/address.ts";
import type { Context } from "../runtime/context.ts";
import { PENDING, type Poll } from "../runtime/future.ts";
import { type IoSource, IoFuture, WOULD_BLOCK, type WouldBlock } from "../runtime/io-future.ts";
import { READ, WRITE } from "../runtime/reactor.ts";
import { type Sleep, sleep } from "../runtime/timers.ts";
import { type BatchSendReport, beginSend, sendBatchNow, type SendRecord } from "./batch-send.ts";
import type { DatagramBatch } from "./datagram-batch.ts";
import type { SocketAccess } from "./udp-types.ts";

/** A socket as its futures see it: a source for the reactor, and its address for traces. */
export interface SocketSource extends IoSource {
  readonly localAddress: SocketAddress;
}

/** One receive (recvfrom, or recvmmsg of a batch): `receive` makes the attempt. */
abstract class Receive<T> extends IoFuture<T> {
  readonly #socket: SocketSource;
  readonly #receive: () => T | WouldBlock;
  readonly #call: string;

  constructor(socket: SocketSource, call: string, receive: () => T | WouldBlock) {
    super(socket, READ);
    this.#socket = socket;
    this.#call = call;
    this.#receive = receive;
  }

  protected attempt(): T | WouldBlock {
    return this.#receive();
  }

  protected describe(): string {
    return `${this.#call} on ${formatSocketAddress(this.#socket.localAddress)}`;
  }
}

/** One datagram received into a buffer (`UdpSocket.recvFrom`). */
export class RecvFrom<T> extends Receive<T> {}

/** A batch received (`UdpSocket.recvBatch`). */
export class RecvBatch extends Receive<number> {}

/** One datagram sent to `peer`: `send` makes the attempt. */
export class SendTo extends IoFuture<number> {
  readonly #peer: SocketAddress;
  readonly #send: () => number | WouldBlock;

  constructor(socket: SocketSource, peer: SocketAddress, send: () => number | WouldBlock) {
    super(socket, WRITE);
    this.#peer = peer;
    this.#send = send;
  }

  protected attempt(): number | WouldBlock {
    return this.#send();
  }

  protected describe(): string {
    return `sendto ${formatSocketAddress(this.#peer)}`;
  }
}

/** The first pause of a waiting batch send after ENOBUFS or ENOMEM, and the longest. */
const STALL_PAUSE_FIRST_MS = 1;
const STALL_PAUSE_MAX_MS = 64;

/** Datagrams `start` to `end - 1` of a batch sent, waiting as often as needed (`UdpSocket.sendBatch`). */
export class SendBatch extends IoFuture<BatchSendReport> {
  readonly #access: SocketAccess;
  readonly #batch: DatagramBatch;
  readonly #start: number;
  readonly #end: number;
  /** The batch's record while an await is sending, null between awaits. */
  #record: SendRecord | null = null;
  /** The pause after the kernel ran short of memory (ENOBUFS, ENOMEM), while it lasts. */
  #pause: Sleep | null = null;
  #pauseMs = STALL_PAUSE_FIRST_MS;

  constructor(socket: SocketSource, access: SocketAccess, batch: DatagramBatch, start: number, end: number) {
    super(socket, WRITE);
    this.#access = access;
    this.#batch = batch;
    this.#start = start;
    this.#end = end;
  }

  /**
   * Sends, waiting for writability when the socket is full, and pausing when the kernel is short
   * of memory (the socket stays writable then, so writability would not come): 1 ms, doubling
   * up to 64 ms while it lasts, then on from the datagram where the send stopped.
   */
  override poll(cx: Context): Poll<BatchSendReport> {
    for (;;) {
      if (this.#pause !== null) {
        if (this.#pause.poll(cx) === PENDING) return PENDING;
        this.#pause = null;
      }
      const report = super.poll(cx);
      if (report === PENDING) return PENDING;
      if (report.stalled === null) {
        this.#pauseMs = STALL_PAUSE_FIRST_MS;
        return report;
      }
      // The batch's own record (reused): it keeps the counts so far, and goes on from `next`.
      const record = report as SendRecord;
      record.stalled = null;
      this.#record = record;
      this.#pause = sleep(this.#pauseMs);
      this.#pauseMs = Math.min(this.#pauseMs * 2, STALL_PAUSE_MAX_MS);
    }
  }

  /** Sends until all are handled or the send stalled (the report), or the socket is full (would-block). */
  protected attempt(): BatchSendReport | WouldBlock {
    const record = (this.#record ??= beginSend(this.#batch, this.#start));
    if (!sendBatchNow(this.#access, this.#batch, record, this.#end)) return WOULD_BLOCK;
    this.#record = null;
    return record;
  }

  protected describe(): string {
    return `sendmmsg of ${this.#end - (this.#record?.next ?? this.#start)} datagram(s)`;
  }

  override drop(): void {
    this.#record = null;
    this.#pause?.drop();
    this.#pause = null;
    super.drop();
  }
}

/** Ready when the reactor has seen the socket ready in one direction (see `UdpSocket.readable`). */
export class Readiness extends IoFuture<void> {
  readonly #socket: SocketSource;
  readonly #access: SocketAccess;
  readonly #direction: typeof READ | typeof WRITE;
  /** Whether this await has asked the reactor already: the next attempt is then ready. */
  #asked = false;

  constructor(socket: SocketSource, access: SocketAccess, direction: typeof READ | typeof WRITE) {
    super(socket, direction);
    this.#socket = socket;
    this.#access = access;
    this.#direction = direction;
  }

  protected attempt(): void | WouldBlock {
    this.#access.openDescriptor("wait on");
    if (this.#asked) {
      this.#asked = false;
      return undefined;
    }
    this.#asked = true;
    return WOULD_BLOCK;
  }

  protected describe(): string {
    const what = this.#direction === READ ? "readable" : "writable";
    return `${what} ${formatSocketAddress(this.#socket.localAddress)}`;
  }

  override drop(): void {
    this.#asked = false;
    super.drop();
  }
}
