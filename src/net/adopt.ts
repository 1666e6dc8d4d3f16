/**
 * What a descriptor handed over must be before a `UdpSocket` adopts it (`UdpSocket.fromDescriptor`):
 * a UDP socket bound to an address. Checked before anything is changed on it, so that a
 * descriptor refused stays its owner's as it was.
 *
 * @module
 */
import type { SocketAddress } from "../sys/address.ts";
import { adoptDescriptor, socketKind, udpLocalAddress } from "../sys/udp.ts";

/** What a descriptor that is not a UDP socket is, as an error names it. */
const SOCKET_KIND_TEXT = {
  tcp: "a TCP socket",
  unix: "a Unix socket",
  other: "a socket of another protocol than UDP",
} as const;

/**
 * The address `fd` is bound to, once `fd` is checked to be a bound UDP socket and made
 * non-blocking and close-on-exec. A `TypeError` names what it is otherwise; a `SystemError`
 * (`ENOTSOCK`, `EBADF`) says it is not an open socket.
 *
 * @example
 * ```ts
 * const localAddress = adoptUdpDescriptor(3); // the first socket systemd passes
 * ```
 */
export function adoptUdpDescriptor(fd: number): SocketAddress {
  const kind = socketKind(fd);
  if (kind !== "udp") {
    throw new TypeError(`UdpSocket.fromDescriptor: descriptor ${fd} is ${SOCKET_KIND_TEXT[kind]}, not a UDP socket`);
  }
  const localAddress = udpLocalAddress(fd);
  if (localAddress.port === 0) {
    throw new TypeError(`UdpSocket.fromDescriptor: descriptor ${fd} is a UDP socket bound to no address`);
  }
  adoptDescriptor(fd);
  return localAddress;
}
