/**
 * The UDP socket's vocabulary and the checks at its boundary: where to bind, the options, what
 * a receive returns, and the argument checks every call makes before any system call, so that a
 * bad value is refused with an error that names it and no descriptor is opened or touched.
 *
 * @module
 */
import { AddressError, parseSocketAddress, type SocketAddress, socketAddress } from "../sys/address.ts";
import { DatagramBatch } from "./datagram-batch.ts";
import type { ReceivedInfo } from "./datagram-info.ts";

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
  /**
   * Report the local address each datagram was sent to and the interface it came in on
   * (`Received.destination`, `DatagramBatch.destination`): IP_PKTINFO / IPV6_RECVPKTINFO, or
   * IP_RECVDSTADDR on FreeBSD. A socket bound to a wildcard address (`0.0.0.0`, `::`) needs it
   * to reply from the address a client used; a connected client accepts no other.
   */
  readonly receiveDestination?: boolean;
  /** Report each datagram's ECN codepoint and traffic class (IP_RECVTOS / IPV6_RECVTCLASS). */
  readonly receiveEcn?: boolean;
}

/** Whether a socket has UDP GRO/GSO on, and if not, why. */
export type Offload = { readonly state: "on" } | { readonly state: "off"; readonly reason: string };

/**
 * One datagram received with {@link UdpSocket.recvFrom}; with its destination and ECN when the
 * socket reports them (`receiveDestination`, `receiveEcn`).
 */
export interface Received extends ReceivedInfo {
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
  /**
   * For `EMSGSIZE`, the path MTU the kernel reported: the route's MTU when a don't-fragment
   * datagram was too large to leave (`socket.ip.set("dontFragment", true)`), or the one a
   * router named in its ICMP "fragmentation needed" / "packet too big". Null otherwise.
   */
  readonly mtu: number | null;
}

/**
 * What the socket's futures and its batch send may reach of a socket, handed to them by the
 * socket (its descriptor stays private to it): the descriptor, or the error that it is closed,
 * and whether the kernel refused its segmented sends.
 */
export interface SocketAccess {
  /** The descriptor, or a {@link SocketClosedError} naming `action` if the socket is closed. */
  openDescriptor(action: string): number;
  /** Null while segmented sends work; the errno name of the kernel's refusal once refused. */
  segmentationRefused(): string | null;
  /** The kernel refused a segmented send with `errno`: from now on, one send per datagram. */
  refuseSegmentation(errno: number): void;
}

/** Thrown by operations on a socket after {@link UdpSocket.close}. */
export class SocketClosedError extends Error {
  override readonly name = "SocketClosedError";
}

/** A short description of a value for an error message: text quoted, objects by class. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) return value.constructor?.name ?? "an object";
  return String(value);
}

/** `address` as a socket address, or an {@link AddressError} naming `call` and the value. */
export function toSocketAddress(address: BindAddress, call: string): SocketAddress {
  if (typeof address === "string") return parseSocketAddress(address);
  if (typeof address === "object" && address !== null && typeof address.host === "string") {
    return socketAddress(address.host, address.port);
  }
  throw new AddressError(
    `${call}(${describeValue(address)}): not an address; pass "127.0.0.1:7777", "[::1]:0" or { host, port }`,
  );
}

/** A send's `peer` as a socket address, checked before anything is sent. */
export function toPeer(peer: SocketAddress | string, call: string): SocketAddress {
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
export function checkBytes(bytes: unknown, call: string): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  throw new TypeError(`${call}: ${describeValue(bytes)} is not a Uint8Array (pass new Uint8Array(buffer) to use its bytes)`);
}

/** Refuses bad socket options before a descriptor is opened for them. */
export function checkSocketOptions(options: UdpSocketOptions, call: string): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${call}: options ${describeValue(options)} are not an object`);
  }
  for (const name of ["reuseAddress", "reusePort", "ipv6Only", "offload", "receiveDestination", "receiveEcn"] as const) {
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

/** `batch` if it is a {@link DatagramBatch}, or a TypeError naming `call`. */
export function checkBatch(batch: unknown, call: string): DatagramBatch {
  if (batch instanceof DatagramBatch) return batch;
  throw new TypeError(`${call}: ${describeValue(batch)} is not a DatagramBatch`);
}

/** Refuses a send range that is not `0 <= start <= end <= batch.capacity`. */
export function checkBatchRange(batch: DatagramBatch, end: number, start: number, call: string): void {
  checkBatch(batch, call);
  if (!Number.isInteger(end) || end < 0 || end > batch.capacity) {
    throw new RangeError(`${call}: end ${end} is not a whole number from 0 to the batch capacity ${batch.capacity}`);
  }
  if (!Number.isInteger(start) || start < 0 || start > end) {
    throw new RangeError(`${call}: start ${start} is not a whole number from 0 to end ${end}`);
  }
}
