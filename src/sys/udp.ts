/**
 * UDP system calls on a descriptor, typed: the layer under `src/net/udp-socket.ts`.
 *
 * The `try*` functions return {@link WOULD_BLOCK} instead of throwing when the socket is not
 * ready, since that is the normal way for a non-blocking socket to say "wait".
 *
 * @module
 */
import { Layout, Option } from "./abi.ts";
import { decodeAddress, encodeAddress, formatSocketAddress, type SocketAddress } from "./address.ts";
import { Errno, SystemError, check } from "./errors.ts";
import { native } from "./ffi.ts";

/**
 * Returned by the `try*` functions when the socket would block. It lies outside the range of
 * `-errno` values, so it can share a return value with them.
 */
export const WOULD_BLOCK = -0x1_0000;

function wouldBlock(rc: number): boolean {
  return rc === -Errno.EAGAIN || rc === -Errno.EWOULDBLOCK;
}

/** Opens a non-blocking, close-on-exec UDP socket of the given family. */
export function udpOpen(family: 4 | 6): number {
  return check(native.br_udp_open(family), "socket", () => `Cannot create an IPv${family} UDP socket`);
}

/** A socket option by name, e.g. `"reusePort"`. */
export type SocketOption = keyof typeof Option;

/** Sets a socket option (booleans as 0 or 1, buffer sizes in bytes). */
export function udpSetOption(fd: number, option: SocketOption, value: number): void {
  check(
    native.br_udp_set_option(fd, Option[option], value),
    "setsockopt",
    () => `Cannot set ${option} to ${value} on descriptor ${fd}`,
  );
}

/** Reads a socket option's current value. */
export function udpGetOption(fd: number, option: SocketOption): number {
  return check(native.br_udp_get_option(fd, Option[option]), "getsockopt", () => `Cannot read ${option} of descriptor ${fd}`);
}

/** Binds the socket to `address` (port 0: the OS picks one). */
export function udpBind(fd: number, address: SocketAddress): void {
  const bytes = new Uint8Array(Layout.addressSize);
  encodeAddress(address, new DataView(bytes.buffer), 0);
  check(native.br_udp_bind(fd, bytes, bytes), "bind", () => `Cannot bind UDP socket to ${formatSocketAddress(address)}`);
}

/** The address the socket is bound to. */
export function udpLocalAddress(fd: number): SocketAddress {
  const bytes = new Uint8Array(Layout.addressSize);
  check(native.br_udp_local_address(fd, bytes, bytes), "getsockname", () => `Cannot read the address of descriptor ${fd}`);
  return decodeAddress(new DataView(bytes.buffer), 0);
}

/**
 * Receives one datagram into `buffer`, its length, flags and sender into `datagram` (one
 * `Layout.datagramSize` entry). Returns the bytes stored, or {@link WOULD_BLOCK}.
 */
export function udpTryRecvFrom(fd: number, buffer: Uint8Array, datagram: Uint8Array): number {
  const rc = native.br_udp_recv_from(fd, buffer, buffer, datagram, datagram);
  if (rc >= 0) return rc;
  if (wouldBlock(rc)) return WOULD_BLOCK;
  throw new SystemError("recvmsg", -rc, `Cannot receive on UDP descriptor ${fd}`);
}

/** Sends `payload` to the address encoded in `address`; returns the bytes sent or WOULD_BLOCK. */
export function udpTrySendTo(fd: number, payload: Uint8Array, address: Uint8Array, describe: () => string): number {
  const rc = native.br_udp_send_to(fd, payload, payload, address, address);
  if (rc >= 0) return rc;
  if (wouldBlock(rc)) return WOULD_BLOCK;
  throw new SystemError("sendmsg", -rc, `Cannot send ${payload.byteLength} bytes to ${describe()}`);
}

/**
 * Receives up to as many datagrams as `datagrams` has entries, into the slots of `buffer`.
 * Returns how many arrived, or WOULD_BLOCK.
 */
export function udpTryRecvBatch(fd: number, buffer: Uint8Array, slotSize: number, datagrams: Uint8Array): number {
  const rc = native.br_udp_recv_batch(fd, buffer, buffer, slotSize, datagrams, datagrams);
  if (rc >= 0) return rc;
  if (wouldBlock(rc)) return WOULD_BLOCK;
  throw new SystemError("recvmmsg", -rc, `Cannot receive a batch on UDP descriptor ${fd}`);
}

/**
 * Sends the datagrams `datagrams` describes from the slots of `buffer`. Returns how many were
 * sent, WOULD_BLOCK, or `-errno` for an error that belongs to the first datagram alone (the
 * caller decides whether to drop it and go on).
 */
export function udpTrySendBatch(fd: number, buffer: Uint8Array, slotSize: number, datagrams: Uint8Array): number {
  const rc = native.br_udp_send_batch(fd, buffer, buffer, slotSize, datagrams, datagrams);
  if (rc >= 0 || !wouldBlock(rc)) return rc;
  return WOULD_BLOCK;
}

/** Closes a descriptor the library created. */
export function closeDescriptor(fd: number): void {
  check(native.br_close(fd), "close", () => `Cannot close descriptor ${fd}`);
}
