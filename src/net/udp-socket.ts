/**
 * UDP sockets for tasks: non-blocking `try*` calls, and futures that wait through the reactor
 * (step 4: "recv_from() tries reading the socket; if data is ready it returns at once, if it
 * would block it must wait"). How a descriptor is opened or adopted is in `open.ts`, the
 * futures in `udp-futures.ts`, the batch send in `batch-send.ts`, the types and argument checks
 * in `udp-types.ts`.
 *
 * @module
 */
import { DATAGRAM_TRUNCATED, Layout } from "../sys/abi.ts";
import { asFd, type Fd } from "../sys/poller.ts";
import { decodeAddress, encodeAddress, encodedAddress, formatSocketAddress, type SocketAddress } from "../sys/address.ts";
import { errnoName } from "../sys/errors.ts";
import {
  closeDescriptor,
  type SocketOption,
  udpGetOption,
  udpEnableErrorQueue,
  udpKernelDrops,
  udpTryRecvError,
  udpLocalAddress,
  udpTryRecvBatch,
  udpTryRecvFrom,
  udpTrySendTo,
  WOULD_BLOCK,
  type WouldBlock,
} from "../sys/udp.ts";
import type { Context } from "../runtime/context.ts";
import type { Future } from "../runtime/future.ts";
import type { IoSource } from "../runtime/io-future.ts";
import { LazyRegistration, READ, type Registration, WRITE } from "../runtime/reactor.ts";
import { adoptUdpDescriptor, enableOffload, openBound } from "./open.ts";
import { type BatchSendReport, beginSend, checkSegmentable, sendBatchNow } from "./batch-send.ts";
import { COALESCED_BYTES_MAX, type DatagramBatch } from "./datagram-batch.ts";
import * as info from "./datagram-info.ts";
import { connectSocket, type UdpConnection } from "./connection.ts";
import { QueuedErrorRecord } from "./queued-error.ts";
import { afterResolving, namesHost } from "./resolve.ts";
import { IpLayer } from "./udp-ip.ts";
import { type TryResult, WOULD_BLOCK_RESULT } from "./try-result.ts";
import { Readiness, RecvBatch, RecvFrom, SendBatch, SendTo } from "./udp-futures.ts";
import {
  type BatchSendOptions,
  type BindAddress,
  checkBatch,
  checkBatchRange,
  checkBytes,
  checkSocketOptions,
  type Offload,
  type QueuedError,
  type Received,
  SocketClosedError,
  type SocketAccess,
  toPeer,
  toSocketAddress,
  type UdpSocketOptions,
} from "./udp-types.ts";

export type { BatchSendOptions, BindAddress, Offload, QueuedError, Received, UdpSocketOptions } from "./udp-types.ts";
export { SocketClosedError } from "./udp-types.ts";
export type { TryResult } from "./try-result.ts";

/**
 * A non-blocking UDP socket, registered with the reactor of the runtime that first waits on it.
 *
 * Each operation comes in two forms: `try…` makes one attempt and returns a {@link TryResult}
 * (`{ state: "would-block" }` when the socket is not ready), and the waiting form is a future
 * that tries, waits for the reactor's wake, and tries again. Batch sends report each datagram
 * the OS refused instead of failing the whole batch.
 *
 * @example
 * ```ts
 * function* echo(): Async<void> {
 *   using socket = UdpSocket.bind("127.0.0.1:7777");
 *   const buffer = new Uint8Array(65507);
 *   for (;;) {
 *     const { bytes, peer } = yield* socket.recvFrom(buffer);
 *     yield* socket.sendTo(bytes, peer);
 *   }
 * }
 * ```
 */
export class UdpSocket implements IoSource {
  readonly #fd: Fd;
  readonly family: 4 | 6;
  readonly localAddress: SocketAddress;
  /** UDP GRO/GSO: on, or off with the reason (see {@link UdpSocketOptions.offload}). */
  readonly offload: Offload;
  readonly #registration = new LazyRegistration();
  #closed = false;
  readonly #entry = new Uint8Array(Layout.datagramSize);
  readonly #entryView = new DataView(this.#entry.buffer);
  /** The peer of a `trySendTo`, written for each one: a send then allocates no address. */
  readonly #peer = new Uint8Array(Layout.addressSize);
  readonly #peerView = new DataView(this.#peer.buffer);
  /** What the socket reports of each datagram besides its payload, read back from the kernel (see `receiveDestination`). */
  readonly receives: info.ReportedInfo;
  readonly #info: Uint8Array | null; // the info entry of `recvFrom`, when the socket reports any
  /** The last error taken from the error queue, and its result: reused, so that a flood of errors allocates nothing. */
  readonly #error = new QueuedErrorRecord();
  readonly #errorResult: TryResult<QueuedError> = { state: "ok", value: this.#error };
  #segmentationRefused: string | null = null;
  #ip: IpLayer | null = null;
  #connection: UdpConnection | null = null;

  /** What this socket's futures and batch sends may reach of it (its descriptor stays private). */
  readonly #access: SocketAccess = {
    openDescriptor: (action) => {
      this.#ensureOpen(action);
      return this.#fd;
    },
    segmentationRefused: () => this.#segmentationRefused,
    refuseSegmentation: (errno) => {
      this.#segmentationRefused ??= errnoName(errno);
    },
  };

  /**
   * Null while segmented sends (UDP GSO) work on this socket. Once the kernel refused one, the
   * errno name of its refusal: `EIO` where the route's device cannot checksum segments (a
   * virtual device without checksum offload), `EINVAL` where it cannot take them. From then on
   * the socket sends a coalesced entry's datagrams one send each, as quinn-udp falls back; the
   * entry that met the refusal goes that way too, so no datagram is lost to it. Receiving (GRO)
   * is not affected.
   *
   * @example
   * ```ts
   * if (socket.segmentationRefused !== null) console.warn(`GSO off: ${socket.segmentationRefused}`);
   * ```
   */
  get segmentationRefused(): string | null {
    return this.#segmentationRefused;
  }

  private constructor(fd: Fd, family: 4 | 6, localAddress: SocketAddress, offload: Offload) {
    this.#fd = fd;
    this.family = family;
    this.localAddress = localAddress;
    this.offload = offload;
    this.receives = info.readReportedInfo(fd);
    this.#info = this.receives.destination || this.receives.ecn ? new Uint8Array(Layout.datagramInfoSize) : null;
  }

  /**
   * Opens a UDP socket and binds it. Port 0 lets the OS pick a free port
   * ({@link localAddress} tells which). Throws {@link AddressError} for a value that is not an
   * address (before any descriptor is opened) and {@link SystemError} (e.g. `EADDRINUSE`).
   */
  static bind(address: BindAddress, options: UdpSocketOptions = {}): UdpSocket {
    const target = toSocketAddress(address, "UdpSocket.bind");
    checkSocketOptions(options, "UdpSocket.bind");
    const { fd, offload } = openBound(target, options);
    return new UdpSocket(fd, target.family, udpLocalAddress(fd), offload);
  }

  /**
   * Takes over a bound UDP socket opened elsewhere: by this library on another thread, which
   * hands the descriptor over, or by a service manager (socket activation). The new object owns
   * the descriptor and closes it. The descriptor is made non-blocking and close-on-exec, as the
   * library's own are. `options.offload` asks for offload again (it is a property of the
   * descriptor, so asking twice is harmless), which is how the new object learns whether it is on;
   * `receiveDestination` and `receiveEcn` turn those on (what is on stays on: see {@link receives}).
   * Throws a `TypeError` that names what the descriptor is when it is not a bound UDP socket
   * (a TCP or Unix socket, one bound to no address), and a {@link SystemError} (`ENOTSOCK`,
   * `EBADF`) when it is not an open socket; the descriptor then stays its owner's.
   *
   * @example
   * ```ts
   * using socket = UdpSocket.fromDescriptor(3, { offload: true }); // the first socket systemd passes
   * ```
   */
  static fromDescriptor(
    descriptor: number,
    options: Pick<UdpSocketOptions, "offload" | "receiveDestination" | "receiveEcn"> = {},
  ): UdpSocket {
    const fd = asFd(descriptor);
    checkSocketOptions(options, "UdpSocket.fromDescriptor");
    const localAddress = adoptUdpDescriptor(fd);
    info.enableReportedInfo(fd, options);
    return new UdpSocket(fd, localAddress.family, localAddress, enableOffload(fd, options.offload));
  }

  /**
   * Gives up ownership of the descriptor without closing it, for another thread to take over
   * with {@link fromDescriptor}. The socket must not have been used by a runtime yet.
   */
  release(): number {
    this.#ensureOpen("release");
    if (this.#registration.registered) throw new Error("a socket registered with a runtime cannot be handed over");
    this.#closed = true;
    return this.#fd;
  }

  /** The descriptor, for diagnostics. */
  get fd(): Fd {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The current value of a socket option (buffer sizes as the kernel reports them). */
  option(option: SocketOption): number {
    this.#ensureOpen("read an option of");
    return udpGetOption(this.#fd, option);
  }

  /**
   * How many datagrams the kernel has dropped on their way to this socket since it was opened,
   * because its receive buffer was full (the program fell behind): Linux's per-socket count,
   * the one `SO_RXQ_OVFL` reports. It wraps at 2^31: take differences modulo 2^31. Null where
   * the OS keeps no such count (macOS, FreeBSD).
   *
   * @example
   * ```ts
   * const before = socket.kernelDrops();
   * // … later
   * const dropped = before === null ? 0 : (socket.kernelDrops()! - before + 2 ** 31) % 2 ** 31;
   * ```
   */
  kernelDrops(): number | null {
    this.#ensureOpen("read the drop count of");
    return udpKernelDrops(this.#fd);
  }

  /**
   * Asks the kernel to keep the ICMP errors that this socket's datagrams meet (a closed port, an
   * unreachable host) in an error queue, read with {@link tryRecvError}: Linux's `IP_RECVERR`.
   * Without it an unconnected UDP socket on Linux is not told, and a datagram to a departed
   * client looks delivered. While errors wait, the socket is reported ready with an error, and
   * the next receive may fail once with the first error's errno (`ECONNREFUSED`): that is the
   * same error, to be read from the queue. Returns false where the OS has no error queue.
   *
   * @example
   * ```ts
   * using socket = UdpSocket.bind("127.0.0.1:0");
   * const queued = socket.enableErrorQueue(); // true on Linux
   * ```
   */
  enableErrorQueue(): boolean {
    this.#ensureOpen("enable the error queue of");
    return udpEnableErrorQueue(this.#fd, this.family);
  }

  /**
   * Takes the oldest error from the error queue (see {@link enableErrorQueue}): its errno name
   * (`"ECONNREFUSED"` for a closed port) and the destination of the datagram that met it;
   * would-block when the queue is empty. Drain it until would-block, like a receive. The
   * result is one object per socket, overwritten by the next call: read it at once (its `peer`
   * is decoded when read, so that counting errors allocates nothing).
   *
   * @example
   * ```ts
   * for (let error = socket.tryRecvError(); error.state === "ok"; error = socket.tryRecvError()) {
   *   console.log(`${formatSocketAddress(error.value.peer)}: ${error.value.code}`);
   * }
   * ```
   */
  tryRecvError(): TryResult<QueuedError> {
    this.#ensureOpen("read the error queue of");
    const errno = udpTryRecvError(this.#fd, this.#error.bytes);
    return errno === WOULD_BLOCK ? WOULD_BLOCK_RESULT : this.#errorResult;
  }

  #receiveBatchNow(batch: DatagramBatch): number | WouldBlock {
    this.#ensureOpen("receive on");
    if (this.offload.state === "on" && batch.slotSize < COALESCED_BYTES_MAX) {
      throw new RangeError(
        `a batch with slots of ${batch.slotSize} bytes cannot receive on ${formatSocketAddress(this.localAddress)}: ` +
          `with offload on, an entry may hold up to ${COALESCED_BYTES_MAX} bytes of coalesced datagrams`,
      );
    }
    const { payloads, slotSize, entries } = batch;
    const count = udpTryRecvBatch(this.#fd, payloads, slotSize, entries, batch.infosFor(this.localAddress.port));
    if (count !== WOULD_BLOCK) batch.clearRefusals(0, count);
    return count;
  }

  #ensureOpen(action: string): void {
    if (this.#closed)
      throw new SocketClosedError(`Cannot ${action} UDP socket ${formatSocketAddress(this.localAddress)}: it is closed`);
  }

  /** @internal The registration in `cx`'s reactor, made on first use (the {@link IoSource} contract). */
  registration(cx: Context): Registration {
    this.#ensureOpen("register");
    return this.#registration.get(cx.runtime.reactor, this.#fd, this);
  }

  /** Receives one datagram into `buffer` if one is waiting. */
  tryRecvFrom(buffer: Uint8Array): TryResult<Received> {
    const received = this.#recvFromNow(checkBytes(buffer, "tryRecvFrom"));
    return received === WOULD_BLOCK ? WOULD_BLOCK_RESULT : { state: "ok", value: received };
  }

  #recvFromNow(buffer: Uint8Array): Received | WouldBlock {
    this.#ensureOpen("receive on");
    const length = udpTryRecvFrom(this.#fd, buffer, this.#entry, this.#info ?? undefined);
    if (length === WOULD_BLOCK) return WOULD_BLOCK;
    const view = this.#entryView;
    const received: Received = {
      bytes: buffer.subarray(0, length),
      peer: decodeAddress(view, Layout.datagramAddressOffset),
      truncated: (view.getUint16(Layout.datagramFlagsOffset, true) & DATAGRAM_TRUNCATED) !== 0,
      segmentSize: view.getUint16(Layout.datagramSegmentSizeOffset, true) || length,
    };
    return this.#info === null ? received : Object.assign(received, info.receivedInfo(this.#info, this.localAddress.port));
  }

  /** Waits for one datagram and receives it into `buffer` (a `Uint8Array`). */
  recvFrom(buffer: Uint8Array): Future<Received> {
    const target = checkBytes(buffer, "recvFrom");
    return new RecvFrom(this, "recvfrom", () => this.#recvFromNow(target));
  }

  /** Sends one datagram if the socket can take it now, from the source and with the ECN `options` asks for; the bytes sent. */
  trySendTo(bytes: Uint8Array, peer: SocketAddress | string, options?: info.SendOptions): TryResult<number> {
    const target = toPeer(peer, "trySendTo");
    const extra = info.sendInfo(options, target, "trySendTo");
    encodeAddress(target, this.#peerView, 0);
    const sent = this.#sendToNow(checkBytes(bytes, "trySendTo"), this.#peer, target, extra);
    return sent === WOULD_BLOCK ? WOULD_BLOCK_RESULT : { state: "ok", value: sent };
  }

  #sendToNow(bytes: Uint8Array, address: Uint8Array, peer: SocketAddress, extra?: Uint8Array): number | WouldBlock {
    this.#ensureOpen("send on");
    return udpTrySendTo(this.#fd, bytes, address, () => formatSocketAddress(peer), extra);
  }

  /**
   * Sends one datagram, waiting for the socket to be writable if it is full; see {@link trySendTo}.
   * `peer` may name a host (`"example.com:53"`): the future looks it up first, once, without
   * blocking the runtime's thread (see `resolve`); the calls that cannot wait take addresses only.
   */
  sendTo(bytes: Uint8Array, peer: SocketAddress | string, options?: info.SendOptions): Future<number> {
    const payload = checkBytes(bytes, "sendTo");
    if (namesHost(peer)) return afterResolving(peer, this.family, (address) => this.sendTo(payload, address, options));
    const target = toPeer(peer, "sendTo");
    const extra = info.sendInfo(options, target, "sendTo");
    const address = encodedAddress(target);
    return new SendTo(this, target, () => this.#sendToNow(payload, address, target, extra));
  }

  /**
   * Receives as many datagrams as are waiting, up to the batch's capacity, in one system call
   * (recvmmsg). Returns how many entries. The result object is the batch's own, reused by its
   * next receive: read it at once. With offload on, an entry may hold several datagrams of one
   * source (`batch.datagramCount(i)`), and the batch's slots must be `COALESCED_BYTES_MAX`
   * bytes, or a burst would lose its tail (a RangeError says so).
   */
  tryRecvBatch(batch: DatagramBatch): TryResult<number> {
    const count = this.#receiveBatchNow(checkBatch(batch, "tryRecvBatch"));
    return count === WOULD_BLOCK ? WOULD_BLOCK_RESULT : batch.receivedResult(count);
  }

  /**
   * Waits until at least one datagram is waiting, then receives a batch; returns how many.
   * The future can be awaited again, and each await receives a new batch, so that a loop can
   * make it once.
   */
  recvBatch(batch: DatagramBatch): Future<number> {
    const target = checkBatch(batch, "recvBatch");
    return new RecvBatch(this, "recvmmsg", () => this.#receiveBatchNow(target));
  }

  /**
   * Sends datagrams `start` (0 by default) to `end - 1` of `batch` (sendmmsg) as far as the
   * socket takes them now. A datagram the OS refuses (e.g. an address it cannot reach) is
   * skipped, and {@link DatagramBatch.refusal} tells why; the rest still go. An earlier
   * datagram's ICMP error that the kernel reports on this send refuses nothing: the datagram is
   * tried once more, and the error stays in the error queue ({@link tryRecvError}). Returns
   * the batch's {@link BatchSendReport} (`next` is where the socket filled up, `end` if it did
   * not), or would-block if the socket took none. When the kernel is
   * short of memory for a moment (`ENOBUFS`, `ENOMEM`) the send stops there and the report says
   * so (`stalled`): the datagram is not lost, send it again after a short pause (the socket is
   * writable, so waiting for writability would not end). Errors of the socket itself (it is
   * closed) are thrown.
   *
   * @example
   * ```ts
   * const result = socket.trySendBatch(batch, count);
   * const next = result.state === "ok" ? result.value.next : 0; // datagrams from `next` still wait
   * ```
   */
  trySendBatch(batch: DatagramBatch, end: number, options: BatchSendOptions = {}): TryResult<BatchSendReport> {
    const start = options.start ?? 0;
    checkBatchRange(batch, end, start, "trySendBatch");
    checkSegmentable(this.offload, this.localAddress, batch, start, end);
    const record = beginSend(batch, start);
    sendBatchNow(this.#access, batch, record, end);
    // Some datagrams of a coalesced entry may have gone one by one before the socket filled.
    const none = record.next === start && record.datagrams === 0;
    return none && start < end && record.stalled === null ? WOULD_BLOCK_RESULT : record.result;
  }

  /**
   * Sends datagrams `start` (0 by default) to `end - 1` of `batch`, waiting for writability as
   * often as needed, and resolves to the batch's {@link BatchSendReport} once every one was
   * sent or refused (see {@link trySendBatch}). When the kernel is short of memory (`ENOBUFS`,
   * `ENOMEM`) it pauses, 1 ms doubling up to 64 ms, and goes on: no datagram is lost to it. The future can be awaited
   * again: each await sends the range anew. An entry with a segment size
   * (`batch.setSegmentSize`) goes as that many datagrams in one send (UDP GSO), which needs
   * offload on.
   *
   * @example
   * ```ts
   * batch.set(0, burst, peer); // 16 datagrams of 1200 bytes, end to end
   * batch.setSegmentSize(0, 1200);
   * yield* socket.sendBatch(batch, 1); // one entry, 16 datagrams
   * ```
   */
  sendBatch(batch: DatagramBatch, end: number, options: BatchSendOptions = {}): Future<BatchSendReport> {
    const start = options.start ?? 0;
    checkBatchRange(batch, end, start, "sendBatch");
    checkSegmentable(this.offload, this.localAddress, batch, start, end);
    return new SendBatch(this, this.#access, batch, start, end);
  }

  /**
   * Waits until the reactor reports the socket readable, like tokio's `UdpSocket::readable`.
   * Await it after a `try…` receive said would-block: readiness is an edge, and a wake can be
   * spurious, so the next `try…` may still would-block (then wait again). The future can be
   * awaited again.
   */
  readable(): Future<void> {
    return new Readiness(this, this.#access, READ);
  }

  /**
   * Waits until the reactor reports the socket writable, like tokio's `UdpSocket::writable`;
   * see {@link readable}.
   *
   * @example
   * ```ts
   * const writable = socket.writable(); // made once
   * let result = socket.trySendBatch(batch, count);
   * while (result.state === "would-block") {
   *   yield* writable;
   *   result = socket.trySendBatch(batch, count);
   * }
   * ```
   */
  writable(): Future<void> {
    return new Readiness(this, this.#access, WRITE);
  }

  /** The IP layer: TTL, TOS, broadcast, don't-fragment and multicast (`socket.ip.set("ttl", 7)`, {@link IpLayer}). */
  get ip(): IpLayer {
    return (this.#ip ??= new IpLayer(this.#access, this.family));
  }

  /**
   * Connects to `peer` (an IP literal of the socket's family), replacing an earlier connection;
   * {@link UdpConnection} says what the kernel changes. `using link = socket.connect("192.0.2.1:53")`.
   */
  connect(peer: SocketAddress | string): UdpConnection {
    const connection = connectSocket(this, this.#access, toPeer(peer, "connect"), (ended) => {
      if (this.#connection === ended) this.#connection = null;
    });
    this.#connection?.end();
    return (this.#connection = connection);
  }

  /** The socket's connection, or null when it is not connected. */
  get connection(): UdpConnection | null {
    return this.#connection;
  }

  /**
   * Deregisters the socket from its reactor and closes it. Tasks waiting on it are woken, and
   * their next attempt throws {@link SocketClosedError}. Closing twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection?.end();
    this.#registration.release();
    closeDescriptor(this.#fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
