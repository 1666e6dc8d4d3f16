/**
 * UDP sockets for tasks: non-blocking `try*` calls, and futures that wait through the reactor
 * (step 4: "recv_from() tries reading the socket; if data is ready it returns at once, if it
 * would block it must wait").
 *
 * @module
 */
import { Layout } from "../sys/abi.ts";
import {
  decodeAddress,
  encodeAddress,
  formatSocketAddress,
  parseSocketAddress,
  type SocketAddress,
  socketAddress,
} from "../sys/address.ts";
import { SystemError } from "../sys/errors.ts";
import {
  closeDescriptor,
  type SocketOption,
  udpBind,
  udpGetOption,
  udpLocalAddress,
  udpOpen,
  udpSetOption,
  udpTryRecvBatch,
  udpTryRecvFrom,
  udpTrySendBatch,
  udpTrySendTo,
  WOULD_BLOCK as SYS_WOULD_BLOCK,
} from "../sys/udp.ts";
import type { Context } from "../runtime/context.ts";
import type { Future } from "../runtime/future.ts";
import { type IoSource, IoFuture, WOULD_BLOCK } from "../runtime/io-future.ts";
import { LazyRegistration, READ, type Registration, WRITE } from "../runtime/reactor.ts";
import type { DatagramBatch } from "./datagram-batch.ts";

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
}

/** One datagram received with {@link UdpSocket.recvFrom}. */
export interface Received {
  /** The payload: a view of the caller's buffer. */
  readonly bytes: Uint8Array;
  readonly peer: SocketAddress;
  /** Whether the datagram was larger than the buffer and lost its tail. */
  readonly truncated: boolean;
}

/** The result of a `try*` call: the value, or would-block. */
export type TryResult<T> = { readonly state: "ok"; readonly value: T } | { readonly state: "would-block" };

/**
 * Called with the errno of a datagram of a batch that could not be sent (it is skipped, the
 * rest go on). Given the number rather than an error object, so that a flood of refused
 * datagrams costs no allocation.
 */
export type SendErrorHandler = (errno: number, index: number) => void;

/** Thrown by operations on a socket after {@link UdpSocket.close}. */
export class SocketClosedError extends Error {
  override readonly name = "SocketClosedError";
}

function toSocketAddress(address: BindAddress): SocketAddress {
  return typeof address === "string" ? parseSocketAddress(address) : socketAddress(address.host, address.port);
}

const WOULD_BLOCK_RESULT: TryResult<never> = { state: "would-block" };

/**
 * A non-blocking UDP socket, registered with the reactor of the runtime that first waits on it.
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
  readonly #fd: number;
  readonly family: 4 | 6;
  readonly localAddress: SocketAddress;
  readonly #registration = new LazyRegistration();
  #closed = false;
  readonly #entry = new Uint8Array(Layout.datagramSize);

  private constructor(fd: number, family: 4 | 6, localAddress: SocketAddress) {
    this.#fd = fd;
    this.family = family;
    this.localAddress = localAddress;
  }

  /**
   * Opens a UDP socket and binds it. Port 0 lets the OS pick a free port
   * ({@link localAddress} tells which). Throws {@link SystemError} (e.g. `EADDRINUSE`).
   */
  static bind(address: BindAddress, options: UdpSocketOptions = {}): UdpSocket {
    const target = toSocketAddress(address);
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
      udpBind(fd, target);
      return new UdpSocket(fd, target.family, udpLocalAddress(fd));
    } catch (error) {
      closeDescriptor(fd);
      throw error;
    }
  }

  /**
   * Takes over a bound UDP socket opened by this library elsewhere (e.g. by another thread,
   * which hands the descriptor over). The new object owns the descriptor and closes it.
   */
  static fromDescriptor(fd: number): UdpSocket {
    const localAddress = udpLocalAddress(fd);
    return new UdpSocket(fd, localAddress.family, localAddress);
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
  get fd(): number {
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

  #ensureOpen(action: string): void {
    if (this.#closed)
      throw new SocketClosedError(`Cannot ${action} UDP socket ${formatSocketAddress(this.localAddress)}: it is closed`);
  }

  /** @internal The registration in `cx`'s reactor, made on first use. */
  registration(cx: Context): Registration {
    this.#ensureOpen("register");
    return this.#registration.get(cx.runtime.reactor, this.#fd, this);
  }

  /** Receives one datagram if one is waiting. */
  tryRecvFrom(buffer: Uint8Array): TryResult<Received> {
    this.#ensureOpen("receive on");
    const length = udpTryRecvFrom(this.#fd, buffer, this.#entry);
    if (length === SYS_WOULD_BLOCK) return WOULD_BLOCK_RESULT;
    const view = new DataView(this.#entry.buffer);
    return {
      state: "ok",
      value: {
        bytes: buffer.subarray(0, length),
        peer: decodeAddress(view, Layout.datagramAddressOffset),
        truncated: (view.getUint32(Layout.datagramFlagsOffset, true) & 1) !== 0,
      },
    };
  }

  /** Waits for one datagram and receives it into `buffer`. */
  recvFrom(buffer: Uint8Array): Future<Received> {
    return new RecvFrom(this, buffer);
  }

  /** Sends one datagram if the socket can take it now. Returns the bytes sent. */
  trySendTo(bytes: Uint8Array, peer: SocketAddress): TryResult<number> {
    this.#ensureOpen("send on");
    const address = new Uint8Array(Layout.addressSize);
    encodeAddress(peer, new DataView(address.buffer), 0);
    const sent = udpTrySendTo(this.#fd, bytes, address, () => formatSocketAddress(peer));
    return sent === SYS_WOULD_BLOCK ? WOULD_BLOCK_RESULT : { state: "ok", value: sent };
  }

  /** Sends one datagram, waiting for the socket to be writable if it is full. */
  sendTo(bytes: Uint8Array, peer: SocketAddress | string): Future<number> {
    return new SendTo(this, bytes, typeof peer === "string" ? parseSocketAddress(peer) : peer);
  }

  /**
   * Receives as many datagrams as are waiting, up to the batch's capacity, in one system call
   * (recvmmsg). Returns how many, or would-block.
   */
  tryRecvBatch(batch: DatagramBatch): TryResult<number> {
    const count = this.receiveBatchNow(batch);
    return count === SYS_WOULD_BLOCK ? WOULD_BLOCK_RESULT : { state: "ok", value: count };
  }

  /** @internal One receive attempt: the count, or the library's WOULD_BLOCK (no allocation). */
  receiveBatchNow(batch: DatagramBatch): number {
    this.#ensureOpen("receive on");
    return udpTryRecvBatch(this.#fd, batch.payloads, batch.slotSize, batch.entries);
  }

  /**
   * Waits until at least one datagram is waiting, then receives a batch; returns how many.
   * The future can be awaited again, and each await receives a new batch, so that a loop can
   * make it once.
   */
  recvBatch(batch: DatagramBatch): Future<number> {
    return new RecvBatch(this, batch);
  }

  /**
   * Sends datagrams `0` to `count - 1` of `batch` (sendmmsg), waiting for writability as often
   * as needed. A datagram the OS refuses (e.g. `ECONNREFUSED` after an ICMP error, or an
   * address it cannot reach) is skipped and reported to `onError`, and the rest still go;
   * without `onError`, the first refusal throws its {@link SystemError}. Resolves to the
   * number sent.
   */
  sendBatch(batch: DatagramBatch, count: number, onError?: SendErrorHandler): Future<number> {
    if (!Number.isInteger(count) || count < 0 || count > batch.capacity) {
      throw new RangeError(`count ${count} is not a whole number from 0 to the batch capacity ${batch.capacity}`);
    }
    return new SendBatch(this, batch, count, onError);
  }

  /**
   * Sends datagrams `0` to `count - 1` of `batch` if the socket can take them now; returns how
   * many it took (0 if it would block). A datagram the OS refuses throws its SystemError.
   */
  trySendBatch(batch: DatagramBatch, count: number): number {
    const rc = this.trySendBatchRange(batch, 0, count);
    if (rc === SYS_WOULD_BLOCK) return 0;
    if (rc < 0) throw new SystemError("sendmmsg", -rc, `Cannot send datagram 0 of a batch (${batch.size(0)} bytes)`);
    return rc;
  }

  /** @internal One attempt of a batch send from `start`: sent count, WOULD_BLOCK or -errno. */
  trySendBatchRange(batch: DatagramBatch, start: number, end: number): number {
    this.#ensureOpen("send on");
    return udpTrySendBatch(this.#fd, batch.payloadRange(start, end), batch.slotSize, batch.entryRange(start, end));
  }

  /**
   * Deregisters the socket from its reactor and closes it. Tasks waiting on it are not woken;
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

class RecvFrom extends IoFuture<Received> {
  readonly #socket: UdpSocket;
  readonly #buffer: Uint8Array;

  constructor(socket: UdpSocket, buffer: Uint8Array) {
    super(socket, READ);
    this.#socket = socket;
    this.#buffer = buffer;
  }

  protected attempt(): Received | typeof WOULD_BLOCK {
    const result = this.#socket.tryRecvFrom(this.#buffer);
    return result.state === "ok" ? result.value : WOULD_BLOCK;
  }

  protected describe(): string {
    return `recvfrom on ${formatSocketAddress(this.#socket.localAddress)}`;
  }
}

class SendTo extends IoFuture<number> {
  readonly #socket: UdpSocket;
  readonly #bytes: Uint8Array;
  readonly #peer: SocketAddress;

  constructor(socket: UdpSocket, bytes: Uint8Array, peer: SocketAddress) {
    super(socket, WRITE);
    this.#socket = socket;
    this.#bytes = bytes;
    this.#peer = peer;
  }

  protected attempt(): number | typeof WOULD_BLOCK {
    const result = this.#socket.trySendTo(this.#bytes, this.#peer);
    return result.state === "ok" ? result.value : WOULD_BLOCK;
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

  protected attempt(): number | typeof WOULD_BLOCK {
    const count = this.#socket.receiveBatchNow(this.#batch);
    return count === SYS_WOULD_BLOCK ? WOULD_BLOCK : count;
  }

  protected describe(): string {
    return `recvmmsg on ${formatSocketAddress(this.#socket.localAddress)}`;
  }
}

class SendBatch extends IoFuture<number> {
  readonly #socket: UdpSocket;
  readonly #batch: DatagramBatch;
  readonly #count: number;
  readonly #onError: SendErrorHandler | undefined;
  /** The next datagram to send. */
  #next = 0;
  #sent = 0;

  constructor(socket: UdpSocket, batch: DatagramBatch, count: number, onError: SendErrorHandler | undefined) {
    super(socket, WRITE);
    this.#socket = socket;
    this.#batch = batch;
    this.#count = count;
    this.#onError = onError;
  }

  /** Sends until all are sent (the result) or the socket is full (would-block). */
  protected attempt(): number | typeof WOULD_BLOCK {
    while (this.#next < this.#count) {
      const rc = this.#socket.trySendBatchRange(this.#batch, this.#next, this.#count);
      if (rc === SYS_WOULD_BLOCK) return WOULD_BLOCK;
      if (rc >= 0) {
        this.#next += rc;
        this.#sent += rc;
      } else {
        // The error belongs to datagram #next alone: report it, skip it, send the rest.
        if (this.#onError === undefined) {
          throw new SystemError(
            "sendmmsg",
            -rc,
            `Cannot send datagram ${this.#next} of a batch (${this.#batch.size(this.#next)} bytes)`,
          );
        }
        this.#onError(-rc, this.#next);
        this.#next++;
      }
    }
    return this.#sent;
  }

  protected describe(): string {
    return `sendmmsg of ${this.#count - this.#next} datagram(s)`;
  }
}
