/**
 * UDP sockets for tasks: non-blocking `try*` calls, and futures that wait through the reactor
 * (step 4: "recv_from() tries reading the socket; if data is ready it returns at once, if it
 * would block it must wait").
 *
 * @module
 */
import { DATAGRAM_TRUNCATED, Layout } from "../sys/abi.ts";
import { asFd, type Fd } from "../sys/poller.ts";
import {
  AddressError,
  decodeAddress,
  encodeAddress,
  formatSocketAddress,
  parseSocketAddress,
  type SocketAddress,
  socketAddress,
} from "../sys/address.ts";
import { Errno, errnoName } from "../sys/errors.ts";
import {
  closeDescriptor,
  SendRefusal,
  type SocketOption,
  udpBind,
  udpEnableOffload,
  udpGetOption,
  udpEnableErrorQueue,
  udpKernelDrops,
  udpTryRecvError,
  udpLocalAddress,
  udpOpen,
  udpSetOption,
  udpTryRecvBatch,
  udpTryRecvFrom,
  udpTrySendBatch,
  udpTrySendDatagram,
  udpTrySendTo,
  WOULD_BLOCK,
  type WouldBlock,
} from "../sys/udp.ts";
import type { Context } from "../runtime/context.ts";
import { type Future, PENDING, type Poll } from "../runtime/future.ts";
import { type IoSource, IoFuture } from "../runtime/io-future.ts";
import { LazyRegistration, READ, type Registration, WRITE } from "../runtime/reactor.ts";
import { type Sleep, sleep } from "../runtime/timers.ts";
import { type BatchSendReport, COALESCED_BYTES_MAX, DatagramBatch } from "./datagram-batch.ts";

/** Where to bind: `"127.0.0.1:7777"`, `"[::1]:0"`, or a host and port. */
export type BindAddress = string | { readonly host: string; readonly port: number };

/** Options of {@link UdpSocket.bind}. */
export interface UdpSocketOptions {
  /** SO_REUSEADDR. */
  readonly reuseAddress?: boolean;
  /** SO_REUSEPORT: several sockets share the port and the kernel spreads datagrams over them. */
  readonly reusePort?: boolean;
  /** SO_RCVBUF, in bytes (the kernel may round it). */
  readonly recvBufferBytes?: number;
  /** SO_SNDBUF, in bytes (the kernel may round it). */
  readonly sendBufferBytes?: number;
  /** IPV6_V6ONLY, for IPv6 sockets. */
  readonly ipv6Only?: boolean;
  /**
   * UDP GRO and GSO (Linux 5.0 and later): receive bursts from one source as coalesced batch
   * entries, and send an entry as many datagrams in one go (see `DatagramBatch`). Where the OS
   * refuses, the socket works with plain datagrams and {@link UdpSocket.offload} says why.
   * Batches received on a socket with offload on need slots of `COALESCED_BYTES_MAX` bytes.
   */
  readonly offload?: boolean;
}

/** Whether a socket has UDP GRO/GSO on, and if not, why. */
export type Offload = { readonly state: "on" } | { readonly state: "off"; readonly reason: string };

const OFFLOAD_NOT_ASKED: Offload = { state: "off", reason: "not requested" };

/** Turns offload on for `fd` if `wanted`; what came of it. */
function enableOffload(fd: number, wanted: boolean | undefined): Offload {
  if (wanted !== true) return OFFLOAD_NOT_ASKED;
  const errno = udpEnableOffload(fd);
  if (errno === 0) return { state: "on" };
  if (process.platform !== "linux") return { state: "off", reason: `not available on ${process.platform}` };
  return {
    state: "off",
    reason: `the kernel refused UDP_GRO/UDP_SEGMENT (${errnoName(errno)}; they need Linux 5.0 or later)`,
  };
}

/** One datagram received with {@link UdpSocket.recvFrom}. */
export interface Received {
  /** The payload: a view of the caller's buffer. */
  readonly bytes: Uint8Array;
  readonly peer: SocketAddress;
  /** Whether the datagram was larger than the buffer and lost its tail. */
  readonly truncated: boolean;
  /**
   * The bytes of each datagram in `bytes` but the last, which may be shorter. Without offload
   * it is always `bytes.length`: one datagram. With offload on, the kernel may coalesce a
   * burst even for a single receive, and this says where its datagrams end (as for a batch
   * entry, see `DatagramBatch`).
   */
  readonly segmentSize: number;
}

/**
 * The result of a `try…` call: the value, or would-block (the socket is not ready: wait for it
 * with the waiting form, or with {@link UdpSocket.readable} / {@link UdpSocket.writable}).
 */
export type TryResult<T> = { readonly state: "ok"; readonly value: T } | { readonly state: "would-block" };

/** Which datagrams of a batch a send takes: `start` (0 by default) to `end - 1`. */
export interface BatchSendOptions {
  /** The first datagram to send (default 0). */
  readonly start?: number;
}

/** An error the kernel queued for a datagram this socket sent (see `UdpSocket.tryRecvError`). */
export interface QueuedError {
  /** The errno, as the OS numbers it. */
  readonly errno: number;
  /** Its name, e.g. `"ECONNREFUSED"` (the destination's port was closed). */
  readonly code: string;
  /** Where the datagram that met the error was going. */
  readonly peer: SocketAddress;
}

/** The reused {@link QueuedError} of a socket: the address as the library wrote it. */
class QueuedErrorRecord implements QueuedError {
  errno = 0;
  readonly address = new Uint8Array(Layout.addressSize);

  get code(): string {
    return this.errno === 0 ? "unknown" : errnoName(this.errno);
  }

  get peer(): SocketAddress {
    return decodeAddress(new DataView(this.address.buffer), 0);
  }
}

/** Thrown by operations on a socket after {@link UdpSocket.close}. */
export class SocketClosedError extends Error {
  override readonly name = "SocketClosedError";
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) return value.constructor?.name ?? "an object";
  return String(value);
}

function toSocketAddress(address: BindAddress, call: string): SocketAddress {
  if (typeof address === "string") return parseSocketAddress(address);
  if (typeof address === "object" && address !== null && typeof address.host === "string") {
    return socketAddress(address.host, address.port);
  }
  throw new AddressError(
    `${call}(${describeValue(address)}): not an address; pass "127.0.0.1:7777", "[::1]:0" or { host, port }`,
  );
}

function toPeer(peer: SocketAddress | string, call: string): SocketAddress {
  if (typeof peer === "string") return parseSocketAddress(peer);
  if (typeof peer === "object" && peer !== null && typeof peer.host === "string") {
    // Checked now, so that a bad peer is refused before anything is sent.
    return socketAddress(peer.host, peer.port);
  }
  throw new AddressError(`${call}: the peer ${describeValue(peer)} is not a socket address or "host:port" text`);
}

/**
 * Refuses anything but a `Uint8Array` (or a `Buffer`, which is one) before a system call: a
 * `DataView` or another typed array would be read as bytes by the library, but lengths and
 * views would then be counted in elements.
 */
function checkBytes(bytes: unknown, call: string): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  throw new TypeError(`${call}: ${describeValue(bytes)} is not a Uint8Array (pass new Uint8Array(buffer) to use its bytes)`);
}

/** Refuses bad socket options before a descriptor is opened for them. */
function checkSocketOptions(options: UdpSocketOptions, call: string): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${call}: options ${describeValue(options)} are not an object`);
  }
  for (const name of ["reuseAddress", "reusePort", "ipv6Only", "offload"] as const) {
    const value: unknown = options[name];
    if (value !== undefined && typeof value !== "boolean") {
      throw new TypeError(`${call}: ${name} ${describeValue(value)} is not true or false`);
    }
  }
  for (const name of ["recvBufferBytes", "sendBufferBytes"] as const) {
    const value: unknown = options[name];
    if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 0x7fff_ffff)) {
      throw new RangeError(`${call}: ${name} ${describeValue(value)} is not a whole number of bytes from 1 to 2^31 - 1`);
    }
  }
}

function checkBatch(batch: unknown, call: string): DatagramBatch {
  if (batch instanceof DatagramBatch) return batch;
  throw new TypeError(`${call}: ${describeValue(batch)} is not a DatagramBatch`);
}

function checkBatchRange(batch: DatagramBatch, end: number, start: number, call: string): void {
  checkBatch(batch, call);
  if (!Number.isInteger(end) || end < 0 || end > batch.capacity) {
    throw new RangeError(`${call}: end ${end} is not a whole number from 0 to the batch capacity ${batch.capacity}`);
  }
  if (!Number.isInteger(start) || start < 0 || start > end) {
    throw new RangeError(`${call}: start ${start} is not a whole number from 0 to end ${end}`);
  }
}

const WOULD_BLOCK_RESULT: TryResult<never> = { state: "would-block" };

/** The socket's descriptor for an operation, or a {@link SocketClosedError} if it is closed. */
let openDescriptor: (socket: UdpSocket, action: string) => number;
/** Notes that the kernel refused a segmented send on the socket with `errno` (see `segmentationRefused`). */
let refuseSegmentation: (socket: UdpSocket, errno: number) => void;

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
  /** The last error taken from the error queue, and its result: reused, so that a flood of errors allocates nothing. */
  readonly #error = new QueuedErrorRecord();
  readonly #errorResult: TryResult<QueuedError> = { state: "ok", value: this.#error };
  #segmentationRefused: string | null = null;

  static {
    openDescriptor = (socket, action) => {
      socket.#ensureOpen(action);
      return socket.#fd;
    };
    refuseSegmentation = (socket, errno) => {
      socket.#segmentationRefused ??= errnoName(errno);
    };
  }

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
  }

  /**
   * Opens a UDP socket and binds it. Port 0 lets the OS pick a free port
   * ({@link localAddress} tells which). Throws {@link AddressError} for a value that is not an
   * address (before any descriptor is opened) and {@link SystemError} (e.g. `EADDRINUSE`).
   */
  static bind(address: BindAddress, options: UdpSocketOptions = {}): UdpSocket {
    const target = toSocketAddress(address, "UdpSocket.bind");
    checkSocketOptions(options, "UdpSocket.bind");
    const fd = udpOpen(target.family);
    try {
      const flags: [SocketOption, boolean | undefined][] = [
        ["reuseAddress", options.reuseAddress],
        ["reusePort", options.reusePort],
        ["ipv6Only", target.family === 6 ? options.ipv6Only : undefined],
      ];
      for (const [option, enabled] of flags) if (enabled !== undefined) udpSetOption(fd, option, enabled ? 1 : 0);
      if (options.recvBufferBytes !== undefined) udpSetOption(fd, "recvBuffer", options.recvBufferBytes);
      if (options.sendBufferBytes !== undefined) udpSetOption(fd, "sendBuffer", options.sendBufferBytes);
      const offload = enableOffload(fd, options.offload);
      udpBind(fd, target);
      return new UdpSocket(fd, target.family, udpLocalAddress(fd), offload);
    } catch (error) {
      closeDescriptor(fd);
      throw error;
    }
  }

  /**
   * Takes over a bound UDP socket opened by this library elsewhere (e.g. by another thread,
   * which hands the descriptor over). The new object owns the descriptor and closes it.
   * `options.offload` asks for offload again (it is a property of the descriptor, so asking
   * twice is harmless), which is how the new object learns whether it is on.
   */
  static fromDescriptor(descriptor: number, options: Pick<UdpSocketOptions, "offload"> = {}): UdpSocket {
    const fd = asFd(descriptor);
    checkSocketOptions(options, "UdpSocket.fromDescriptor");
    const localAddress = udpLocalAddress(fd);
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
    const errno = udpTryRecvError(this.#fd, this.#error.address);
    if (errno === WOULD_BLOCK) return WOULD_BLOCK_RESULT;
    this.#error.errno = errno;
    return this.#errorResult;
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
    const length = udpTryRecvFrom(this.#fd, buffer, this.#entry);
    if (length === WOULD_BLOCK) return WOULD_BLOCK;
    const view = new DataView(this.#entry.buffer);
    return {
      bytes: buffer.subarray(0, length),
      peer: decodeAddress(view, Layout.datagramAddressOffset),
      truncated: (view.getUint16(Layout.datagramFlagsOffset, true) & DATAGRAM_TRUNCATED) !== 0,
      segmentSize: view.getUint16(Layout.datagramSegmentSizeOffset, true) || length,
    };
  }

  /** Waits for one datagram and receives it into `buffer` (a `Uint8Array`). */
  recvFrom(buffer: Uint8Array): Future<Received> {
    return new RecvFrom(this, checkBytes(buffer, "recvFrom"), (target) => this.#recvFromNow(target));
  }

  /** Sends one datagram if the socket can take it now. Returns the bytes sent. */
  trySendTo(bytes: Uint8Array, peer: SocketAddress | string): TryResult<number> {
    const target = toPeer(peer, "trySendTo");
    const sent = this.#sendToNow(checkBytes(bytes, "trySendTo"), encodePeer(target), target);
    return sent === WOULD_BLOCK ? WOULD_BLOCK_RESULT : { state: "ok", value: sent };
  }

  #sendToNow(bytes: Uint8Array, address: Uint8Array, peer: SocketAddress): number | WouldBlock {
    this.#ensureOpen("send on");
    return udpTrySendTo(this.#fd, bytes, address, () => formatSocketAddress(peer));
  }

  /** Sends one datagram, waiting for the socket to be writable if it is full. */
  sendTo(bytes: Uint8Array, peer: SocketAddress | string): Future<number> {
    const target = toPeer(peer, "sendTo");
    const payload = checkBytes(bytes, "sendTo");
    const address = encodePeer(target);
    return new SendTo(this, target, () => this.#sendToNow(payload, address, target));
  }

  /**
   * Receives as many datagrams as are waiting, up to the batch's capacity, in one system call
   * (recvmmsg). Returns how many entries. The result object is the batch's own, reused by its
   * next receive: read it at once. With offload on, an entry may hold several datagrams of one
   * source (`batch.datagramCount(i)`), and the batch's slots must be `COALESCED_BYTES_MAX`
   * bytes, or a burst would lose its tail (a RangeError says so).
   */
  tryRecvBatch(batch: DatagramBatch): TryResult<number> {
    const count = receiveBatchNow(this, checkBatch(batch, "tryRecvBatch"));
    return count === WOULD_BLOCK ? WOULD_BLOCK_RESULT : batch.receivedResult(count);
  }

  /**
   * Waits until at least one datagram is waiting, then receives a batch; returns how many.
   * The future can be awaited again, and each await receives a new batch, so that a loop can
   * make it once.
   */
  recvBatch(batch: DatagramBatch): Future<number> {
    return new RecvBatch(this, checkBatch(batch, "recvBatch"));
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
    this.#checkSegmentable(batch, start, end);
    const record = batch.beginSend(start);
    sendBatchNow(this, batch, record, end);
    // Some datagrams of a coalesced entry may have gone one by one before the socket filled.
    const none = record.next === start && record.datagrams === 0;
    return none && start < end && record.stalled === null ? WOULD_BLOCK_RESULT : batch.sendResult();
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
    this.#checkSegmentable(batch, start, end);
    return new SendBatch(this, batch, start, end);
  }

  /**
   * Refuses a segmented entry on a socket without offload: a kernel that ignored the request
   * would send it as one large datagram, merging the datagrams the caller meant.
   */
  #checkSegmentable(batch: DatagramBatch, start: number, end: number): void {
    if (this.offload.state === "on" || !batch.hasSegmented(start, end)) return;
    throw new RangeError(
      `a batch entry with a segment size cannot be sent on ${formatSocketAddress(this.localAddress)}: ` +
        `offload is off (${this.offload.reason})`,
    );
  }

  /**
   * Waits until the reactor reports the socket readable, like tokio's `UdpSocket::readable`.
   * Await it after a `try…` receive said would-block: readiness is an edge, and a wake can be
   * spurious, so the next `try…` may still would-block (then wait again). The future can be
   * awaited again.
   */
  readable(): Future<void> {
    return new Readiness(this, READ);
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
    return new Readiness(this, WRITE);
  }

  /**
   * Deregisters the socket from its reactor and closes it. Tasks waiting on it are woken, and
   * their next attempt throws {@link SocketClosedError}. Closing twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#registration.release();
    closeDescriptor(this.#fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function encodePeer(peer: SocketAddress): Uint8Array {
  const address = new Uint8Array(Layout.addressSize);
  encodeAddress(peer, new DataView(address.buffer), 0);
  return address;
}

function receiveBatchNow(socket: UdpSocket, batch: DatagramBatch): number | WouldBlock {
  const fd = openDescriptor(socket, "receive on");
  if (socket.offload.state === "on" && batch.slotSize < COALESCED_BYTES_MAX) {
    throw new RangeError(
      `a batch with slots of ${batch.slotSize} bytes cannot receive on ${formatSocketAddress(socket.localAddress)}: ` +
        `with offload on, an entry may hold up to ${COALESCED_BYTES_MAX} bytes of coalesced datagrams`,
    );
  }
  const count = udpTryRecvBatch(fd, batch.payloads, batch.slotSize, batch.entries);
  if (count !== WOULD_BLOCK) batch.noteReceived(count);
  return count;
}

type SendRecord = ReturnType<DatagramBatch["beginSend"]>;

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
function sendBatchNow(socket: UdpSocket, batch: DatagramBatch, record: SendRecord, end: number): boolean {
  const fd = openDescriptor(socket, "send on");
  while (record.next < end) {
    const next = record.next;
    const split = socket.segmentationRefused !== null;
    if (split && batch.datagramCount(next) > 1) {
      const outcome = sendDatagramsNow(fd, batch, record);
      if (outcome === "full") return false;
      if (outcome === "stalled") return true;
      continue;
    }
    const stop = split ? firstCoalesced(batch, next, end) : end;
    const result = udpTrySendBatch(fd, batch.payloadRange(next, stop), batch.slotSize, batch.entryRange(next, stop));
    if (result === WOULD_BLOCK) return false;
    if (result instanceof SendRefusal) {
      if (TRANSIENT_SEND_ERRORS.has(result.errno)) {
        batch.noteStalled(record, result.errno);
        return true;
      }
      if (!split && SEGMENTATION_ERRORS.has(result.errno) && batch.datagramCount(next) > 1) {
        // Not this entry's fault: it goes again, datagram by datagram (next turn of the loop).
        refuseSegmentation(socket, result.errno);
        continue;
      }
      batch.noteRefused(record, result.errno);
    } else batch.noteSent(record, result);
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
  let sent = 0;
  let failure: WouldBlock | SendRefusal | null = null;
  while (sent < count && failure === null) {
    const result = udpTrySendDatagram(fd, batch.datagram(index, sent), peer);
    if (typeof result === "number") sent++;
    else failure = result;
  }
  if (failure === null) {
    batch.noteSent(record, 1);
    return "handled";
  }
  batch.noteSentLeading(record, sent);
  if (failure === WOULD_BLOCK) return "full";
  if (TRANSIENT_SEND_ERRORS.has(failure.errno)) {
    batch.noteStalled(record, failure.errno);
    return "stalled";
  }
  batch.noteRefused(record, failure.errno);
  return "handled";
}

class RecvFrom extends IoFuture<Received> {
  readonly #socket: UdpSocket;
  readonly #buffer: Uint8Array;
  readonly #receive: (buffer: Uint8Array) => Received | WouldBlock;

  constructor(socket: UdpSocket, buffer: Uint8Array, receive: (buffer: Uint8Array) => Received | WouldBlock) {
    super(socket, READ);
    this.#socket = socket;
    this.#buffer = buffer;
    this.#receive = receive;
  }

  protected attempt(): Received | WouldBlock {
    return this.#receive(this.#buffer);
  }

  protected describe(): string {
    return `recvfrom on ${formatSocketAddress(this.#socket.localAddress)}`;
  }
}

class SendTo extends IoFuture<number> {
  readonly #peer: SocketAddress;
  readonly #send: () => number | WouldBlock;

  constructor(socket: UdpSocket, peer: SocketAddress, send: () => number | WouldBlock) {
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

class RecvBatch extends IoFuture<number> {
  readonly #socket: UdpSocket;
  readonly #batch: DatagramBatch;

  constructor(socket: UdpSocket, batch: DatagramBatch) {
    super(socket, READ);
    this.#socket = socket;
    this.#batch = batch;
  }

  protected attempt(): number | WouldBlock {
    return receiveBatchNow(this.#socket, this.#batch);
  }

  protected describe(): string {
    return `recvmmsg on ${formatSocketAddress(this.#socket.localAddress)}`;
  }
}

/** The first pause of a waiting batch send after ENOBUFS or ENOMEM, and the longest. */
const STALL_PAUSE_FIRST_MS = 1;
const STALL_PAUSE_MAX_MS = 64;

class SendBatch extends IoFuture<BatchSendReport> {
  readonly #socket: UdpSocket;
  readonly #batch: DatagramBatch;
  readonly #start: number;
  readonly #end: number;
  /** The batch's record while an await is sending, null between awaits. */
  #record: SendRecord | null = null;

  constructor(socket: UdpSocket, batch: DatagramBatch, start: number, end: number) {
    super(socket, WRITE);
    this.#socket = socket;
    this.#batch = batch;
    this.#start = start;
    this.#end = end;
  }

  /** The pause after the kernel ran short of memory (ENOBUFS, ENOMEM), while it lasts. */
  #pause: Sleep | null = null;
  #pauseMs = STALL_PAUSE_FIRST_MS;

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
    const record = (this.#record ??= this.#batch.beginSend(this.#start));
    if (!sendBatchNow(this.#socket, this.#batch, record, this.#end)) return WOULD_BLOCK;
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
class Readiness extends IoFuture<void> {
  readonly #socket: UdpSocket;
  readonly #direction: typeof READ | typeof WRITE;
  /** Whether this await has asked the reactor already: the next attempt is then ready. */
  #asked = false;

  constructor(socket: UdpSocket, direction: typeof READ | typeof WRITE) {
    super(socket, direction);
    this.#socket = socket;
    this.#direction = direction;
  }

  protected attempt(): void | WouldBlock {
    openDescriptor(this.#socket, "wait on");
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
