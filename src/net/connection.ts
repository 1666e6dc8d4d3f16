/**
 * A UDP socket connected to one peer (`UdpSocket.connect`): sends without an address, and what
 * the kernel changes for a connected socket.
 *
 * Connecting sends nothing. From then on the kernel drops datagrams from any other sender, and
 * an ICMP error about the peer (its port closed: `ECONNREFUSED`) is reported as an error on the
 * socket's next call, a receive or a send, even without the error queue. `disconnect()` (or
 * `using`) undoes both, and the socket keeps its local address.
 *
 * @module
 */
import { Layout } from "../sys/abi.ts";
import { AddressError, formatSocketAddress, type SocketAddress } from "../sys/address.ts";
import { udpConnect, udpDisconnect, udpPeerAddress, udpTrySend } from "../sys/ip.ts";
import type { Future } from "../runtime/future.ts";
import { WOULD_BLOCK, type WouldBlock } from "../sys/would-block.ts";
import type { BatchSendReport } from "./batch-send.ts";
import type { DatagramBatch } from "./datagram-batch.ts";
import { type TryResult, WOULD_BLOCK_RESULT } from "./try-result.ts";
import { type SocketSource, SendTo } from "./udp-futures.ts";
import { type BatchSendOptions, checkBatchRange, checkBytes, type SocketAccess } from "./udp-types.ts";

/** What a connection needs of its socket: its descriptor, and its batch sends. */
export interface ConnectionHost extends SocketSource {
  readonly family: 4 | 6;
  trySendBatch(batch: DatagramBatch, end: number, options?: BatchSendOptions): TryResult<BatchSendReport>;
  sendBatch(batch: DatagramBatch, end: number, options?: BatchSendOptions): Future<BatchSendReport>;
}

/**
 * The connection of a socket to one peer, made by `UdpSocket.connect`; `disconnect()` or the end
 * of a `using` block dissolves it. A later `connect` replaces it (this one then reports
 * `connected` false and refuses to send).
 *
 * @example
 * ```ts
 * using socket = UdpSocket.bind("0.0.0.0:0");
 * using link = socket.connect("192.0.2.1:53");
 * yield* link.send(query);
 * const { bytes } = yield* socket.recvFrom(buffer); // only the peer's datagrams arrive
 * ```
 */
export class UdpConnection implements Disposable {
  /** The peer, as connected. */
  readonly peer: SocketAddress;
  readonly #socket: ConnectionHost;
  readonly #access: SocketAccess;
  readonly #forget: (connection: UdpConnection) => void;
  #connected = true;

  /** @internal Made by `UdpSocket.connect` after the kernel connected the socket. */
  constructor(socket: ConnectionHost, access: SocketAccess, peer: SocketAddress, forget: (connection: UdpConnection) => void) {
    this.#socket = socket;
    this.#access = access;
    this.peer = peer;
    this.#forget = forget;
  }

  /** Whether this is still the socket's connection (not disconnected, replaced or closed). */
  get connected(): boolean {
    return this.#connected;
  }

  /** The peer as the kernel has it (`getpeername`): equal to {@link peer} while connected. */
  kernelPeer(): SocketAddress | null {
    return udpPeerAddress(this.#fd("read the peer of"));
  }

  #fd(action: string): number {
    const fd = this.#access.openDescriptor(action);
    if (!this.#connected) {
      throw new Error(`Cannot ${action} the connection to ${formatSocketAddress(this.peer)}: it was disconnected or replaced`);
    }
    return fd;
  }

  /** Sends one datagram to the peer if the socket can take it now; throws the peer's ICMP error. */
  trySend(bytes: Uint8Array): TryResult<number> {
    const sent = this.#sendNow(checkBytes(bytes, "trySend"));
    return sent === WOULD_BLOCK ? WOULD_BLOCK_RESULT : { state: "ok", value: sent };
  }

  #sendNow(bytes: Uint8Array): number | WouldBlock {
    return udpTrySend(this.#fd("send on"), bytes, () => formatSocketAddress(this.peer));
  }

  /** Sends one datagram to the peer, waiting for the socket to be writable if it is full. */
  send(bytes: Uint8Array): Future<number> {
    const payload = checkBytes(bytes, "send");
    return new SendTo(this.#socket, this.peer, () => this.#sendNow(payload));
  }

  /**
   * Sends datagrams `start` to `end - 1` of `batch` to the peer, as `UdpSocket.trySendBatch`
   * does; the entries' own peers are cleared first (set or not, every datagram goes to the
   * connected peer: macOS and FreeBSD refuse an address on a connected socket).
   */
  trySendBatch(batch: DatagramBatch, end: number, options: BatchSendOptions = {}): TryResult<BatchSendReport> {
    this.#unaddress(batch, end, options.start ?? 0, "trySendBatch");
    return this.#socket.trySendBatch(batch, end, options);
  }

  /** Sends datagrams `start` to `end - 1` of `batch` to the peer, waiting as `UdpSocket.sendBatch` does. */
  sendBatch(batch: DatagramBatch, end: number, options: BatchSendOptions = {}): Future<BatchSendReport> {
    this.#unaddress(batch, end, options.start ?? 0, "sendBatch");
    return this.#socket.sendBatch(batch, end, options);
  }

  #unaddress(batch: DatagramBatch, end: number, start: number, call: string): void {
    checkBatchRange(batch, end, start, call);
    this.#fd("send on");
    const view = new DataView(batch.entries.buffer, batch.entries.byteOffset, batch.entries.byteLength);
    for (let index = start; index < end; index++) {
      view.setUint16(index * Layout.datagramSize + Layout.datagramAddressOffset + Layout.addressFamilyOffset, 0, true);
    }
  }

  /** Dissolves the connection: the socket hears every sender again. Twice does nothing. */
  disconnect(): void {
    if (!this.#connected) return;
    const fd = this.#access.openDescriptor("disconnect");
    udpDisconnect(fd, this.#socket.localAddress);
    this.#connected = false;
    this.#forget(this);
  }

  /** @internal The socket connected to another peer, or closed: this connection is over. */
  end(): void {
    this.#connected = false;
  }

  [Symbol.dispose](): void {
    this.disconnect();
  }
}

/**
 * Connects `fd` of `socket` to `peer` (an IP literal of the socket's family), checked first.
 *
 * @example
 * ```ts
 * const link = connectSocket(socket, access, socketAddress("192.0.2.1", 53), forget);
 * ```
 */
export function connectSocket(
  socket: ConnectionHost,
  access: SocketAccess,
  peer: SocketAddress,
  forget: (connection: UdpConnection) => void,
): UdpConnection {
  if (peer.family !== socket.family) {
    const hint = peer.family === 4 ? ` (an IPv4 peer on an IPv6 socket is written ::ffff:${peer.host})` : "";
    throw new AddressError(
      `connect: the peer ${formatSocketAddress(peer)} is IPv${peer.family}, the socket IPv${socket.family}${hint}`,
    );
  }
  if (peer.port === 0) throw new AddressError(`connect: the peer ${formatSocketAddress(peer)} has port 0`);
  udpConnect(access.openDescriptor("connect"), peer);
  return new UdpConnection(socket, access, peer, forget);
}
