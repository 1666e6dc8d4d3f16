/**
 * UDP system calls on a descriptor, typed: what the `UdpSocket` class is built on.
 *
 * The library answers every call with one integer, `>= 0` or `-errno`. That integer stops
 * here: these functions return a count, {@link WOULD_BLOCK} (a symbol, not a number) when the
 * socket is not ready, a {@link SendRefusal} for a datagram the OS refused, or throw a
 * {@link SystemError}. Nothing above `src/sys` compares a result with a negative number.
 *
 * @module
 */
import { Layout, Option, SocketKind } from "./abi.ts";
import { decodeAddress, encodeAddress, formatSocketAddress, type SocketAddress } from "./address.ts";
import { Errno, errnoName, SystemError, check } from "./errors.ts";
import { native } from "./ffi.ts";
import type { Fd } from "./poller.ts";
import { WOULD_BLOCK, type WouldBlock } from "./would-block.ts";

export { WOULD_BLOCK, type WouldBlock } from "./would-block.ts";

function wouldBlock(rc: number): boolean {
  return rc === -Errno.EAGAIN || rc === -Errno.EWOULDBLOCK;
}

/** Opens a non-blocking, close-on-exec UDP socket of the given family. */
export function udpOpen(family: 4 | 6): Fd {
  return check(native.br_udp_open(family), "socket", () => `Cannot create an IPv${family} UDP socket`) as Fd;
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
 * `Layout.datagramSize` entry), and with `info` (one `Layout.datagramInfoSize` entry) what its
 * control messages say of it (see {@link udpSetDatagramInfo}). Returns the bytes stored, or
 * {@link WOULD_BLOCK}.
 */
export function udpTryRecvFrom(fd: number, buffer: Uint8Array, datagram: Uint8Array, info?: Uint8Array): number | WouldBlock {
  const rc =
    info === undefined
      ? native.br_udp_recv_from(fd, buffer, buffer, datagram, datagram)
      : native.br_udp_recv_from_info(fd, buffer, buffer, datagram, datagram, info, info);
  if (rc >= 0) return rc;
  if (wouldBlock(rc)) return WOULD_BLOCK;
  throw new SystemError("recvmsg", -rc, `Cannot receive on UDP descriptor ${fd}`);
}

/**
 * Sends `payload` to the address encoded in `address`, with `info` as the source address,
 * interface and traffic class (one `Layout.datagramInfoSize` entry, its flags saying which);
 * returns the bytes sent, or WOULD_BLOCK.
 */
export function udpTrySendTo(
  fd: number,
  payload: Uint8Array,
  address: Uint8Array,
  describe: () => string,
  info?: Uint8Array,
): number | WouldBlock {
  const rc =
    info === undefined
      ? native.br_udp_send_to(fd, payload, payload, address, address)
      : native.br_udp_send_to_info(fd, payload, payload, address, address, info, info);
  if (rc >= 0) return rc;
  if (wouldBlock(rc)) return WOULD_BLOCK;
  throw new SystemError("sendmsg", -rc, `Cannot send ${payload.byteLength} bytes to ${describe()}`);
}

/**
 * Receives up to as many datagrams as `datagrams` has entries, into the slots of `buffer`, and
 * with `infos` each one's datagram info into the entry of the same index (at most as many as
 * `infos` holds). Returns how many arrived, or WOULD_BLOCK.
 */
export function udpTryRecvBatch(
  fd: number,
  buffer: Uint8Array,
  slotSize: number,
  datagrams: Uint8Array,
  infos?: Uint8Array,
): number | WouldBlock {
  const rc =
    infos === undefined
      ? native.br_udp_recv_batch(fd, buffer, buffer, slotSize, datagrams, datagrams)
      : native.br_udp_recv_batch_info(fd, buffer, buffer, slotSize, datagrams, datagrams, infos, infos);
  if (rc >= 0) return rc;
  if (wouldBlock(rc)) return WOULD_BLOCK;
  throw new SystemError("recvmmsg", -rc, `Cannot receive a batch on UDP descriptor ${fd}`);
}

/**
 * The OS refused one datagram of a batch (e.g. an address it cannot reach): the datagram is not
 * sent, and the socket can go on with the rest. (An earlier datagram's ICMP error, reported by
 * the next send, does not refuse that send's datagram: the library tries it once more.)
 * One object per errno, made once, so that a flood of refusals allocates nothing.
 */
export class SendRefusal {
  /** The errno, as the OS numbers it. */
  readonly errno: number;
  /** Its name, e.g. `"ECONNREFUSED"`. */
  readonly code: string;

  private constructor(errno: number) {
    this.errno = errno;
    this.code = errnoName(errno);
  }

  static readonly #byErrno = new Map<number, SendRefusal>();

  /** The refusal for `errno`. */
  static of(errno: number): SendRefusal {
    let refusal = SendRefusal.#byErrno.get(errno);
    if (refusal === undefined) SendRefusal.#byErrno.set(errno, (refusal = new SendRefusal(errno)));
    return refusal;
  }
}

/** Errors of a send that concern the socket itself, not one datagram: they are thrown. */
const SOCKET_ERRORS: ReadonlySet<number> = new Set([Errno.EBADF, Errno.ENOTSOCK]);

/**
 * What a send's return code `rc` means: the count sent, WOULD_BLOCK, or the OS's refusal of the
 * datagram; an error of the socket itself is thrown, naming `syscall`, `what` was sent and `fd`
 * (the message is made only then: this is on every send's path).
 */
function sendOutcome(rc: number, syscall: string, what: string, fd: number): number | WouldBlock | SendRefusal {
  if (rc >= 0) return rc;
  if (wouldBlock(rc)) return WOULD_BLOCK;
  if (SOCKET_ERRORS.has(-rc)) throw new SystemError(syscall, -rc, `Cannot send ${what} on UDP descriptor ${fd}`);
  return SendRefusal.of(-rc);
}

/**
 * Sends `payload` to the address encoded in `address`, as one datagram of a batch is sent:
 * returns the bytes sent, WOULD_BLOCK, or the {@link SendRefusal} of the OS (errors of the
 * socket itself are thrown). For sending a coalesced entry's datagrams one by one.
 */
export function udpTrySendDatagram(
  fd: number,
  payload: Uint8Array,
  address: Uint8Array,
  info?: Uint8Array,
): number | WouldBlock | SendRefusal {
  const rc =
    info === undefined
      ? native.br_udp_send_to(fd, payload, payload, address, address)
      : native.br_udp_send_to_info(fd, payload, payload, address, address, info, info);
  return sendOutcome(rc, "sendmsg", "a datagram", fd);
}

/**
 * Sends the datagrams `datagrams` describes from the slots of `buffer` (sendmmsg), with
 * `infos` each as the info entry of the same index asks. Returns how many were sent (at least
 * one), WOULD_BLOCK, or the {@link SendRefusal} of the first datagram, which the OS refused
 * alone: the caller skips it and goes on with the next.
 */
export function udpTrySendBatch(
  fd: number,
  buffer: Uint8Array,
  slotSize: number,
  datagrams: Uint8Array,
  infos?: Uint8Array,
): number | WouldBlock | SendRefusal {
  const rc =
    infos === undefined
      ? native.br_udp_send_batch(fd, buffer, buffer, slotSize, datagrams, datagrams)
      : native.br_udp_send_batch_info(fd, buffer, buffer, slotSize, datagrams, datagrams, infos, infos);
  return sendOutcome(rc, "sendmmsg", "a batch", fd);
}

/**
 * Turns on UDP GRO (receive) and GSO (send) for the socket. Returns 0, or the errno of the
 * refusal (`EOPNOTSUPP` where the OS has no such offload, `ENOPROTOOPT` on a Linux kernel
 * before 5.0), and then neither is on.
 */
export function udpEnableOffload(fd: number): number {
  const rc = native.br_udp_enable_offload(fd);
  return rc < 0 ? -rc : 0;
}

/**
 * How many datagrams the kernel has dropped for the socket since it was opened (its receive
 * buffer was full), modulo 2^31; null where the OS keeps no such count (only Linux does).
 */
export function udpKernelDrops(fd: number): number | null {
  const rc = native.br_udp_kernel_drops(fd);
  if (rc === -Errno.ENOPROTOOPT) return null;
  return check(rc, "getsockopt", () => `Cannot read the kernel's drop count of descriptor ${fd}`);
}

/**
 * Asks the kernel to queue the ICMP errors that sends meet (Linux: `IP_RECVERR`), to be read
 * with {@link udpTryRecvError}. Returns false where the OS has no such queue.
 */
export function udpEnableErrorQueue(fd: number, family: 4 | 6): boolean {
  const rc = native.br_udp_enable_error_queue(fd, family);
  if (rc === -Errno.ENOPROTOOPT) return false;
  check(rc, "setsockopt", () => `Cannot enable the error queue of descriptor ${fd}`);
  return true;
}

/**
 * Takes the oldest queued error: returns its errno (e.g. `ECONNREFUSED`) and writes it into
 * `out` (one `Layout.queuedErrorSize` entry) with the destination of the datagram that met it
 * and, for `EMSGSIZE`, the path MTU; {@link WOULD_BLOCK} when none waits.
 */
export function udpTryRecvError(fd: number, out: Uint8Array): number | WouldBlock {
  const rc = native.br_udp_recv_error(fd, out, out);
  if (rc >= 0) return rc;
  if (wouldBlock(rc)) return WOULD_BLOCK;
  throw new SystemError("recvmsg", -rc, `Cannot read the error queue of UDP descriptor ${fd}`);
}

/**
 * Asks the kernel to report, for each datagram received with an info entry, the local address
 * it was sent to and its interface (`INFO_LOCAL`) and its traffic class, ECN included
 * (`INFO_TRAFFIC_CLASS`): IP_PKTINFO / IPV6_RECVPKTINFO and IP_RECVTOS / IPV6_RECVTCLASS, or
 * their BSD forms. 0 turns both off.
 *
 * @example
 * ```ts
 * udpSetDatagramInfo(fd, INFO_LOCAL | INFO_TRAFFIC_CLASS);
 * ```
 */
export function udpSetDatagramInfo(fd: number, what: number): void {
  check(
    native.br_udp_set_datagram_info(fd, what),
    "setsockopt",
    () => `Cannot set the datagram info of descriptor ${fd} to ${what}`,
  );
}

/**
 * What {@link udpSetDatagramInfo} asked for, read back from the kernel (`INFO_*` bits).
 *
 * @example
 * ```ts
 * const reportsDestination = (udpGetDatagramInfo(fd) & INFO_LOCAL) !== 0;
 * ```
 */
export function udpGetDatagramInfo(fd: number): number {
  return check(native.br_udp_get_datagram_info(fd), "getsockopt", () => `Cannot read the datagram info of descriptor ${fd}`);
}

/** What kind of socket a descriptor is: UDP, TCP, Unix, or another (raw, ping, SCTP…). */
export type SocketKindName = keyof typeof SocketKind;

/**
 * What kind of socket `fd` is, asked before adopting a descriptor this library did not open.
 * Throws a {@link SystemError} (`ENOTSOCK`, `EBADF`) for a descriptor that is not an open socket.
 */
export function socketKind(fd: number): SocketKindName {
  const rc = check(native.br_socket_kind(fd), "getsockopt", () => `Cannot tell what kind of socket descriptor ${fd} is`);
  const name = (Object.keys(SocketKind) as SocketKindName[]).find((key) => SocketKind[key] === rc);
  if (name === undefined) throw new Error(`br_socket_kind returned ${rc}, which abi.ts does not name`);
  return name;
}

/** Makes a descriptor opened by another program non-blocking and close-on-exec, as the library's own are. */
export function adoptDescriptor(fd: number): void {
  check(native.br_descriptor_adopt(fd), "fcntl", () => `Cannot make descriptor ${fd} non-blocking and close-on-exec`);
}

/** Closes a descriptor the library created. */
export function closeDescriptor(fd: number): void {
  check(native.br_close(fd), "close", () => `Cannot close descriptor ${fd}`);
}
