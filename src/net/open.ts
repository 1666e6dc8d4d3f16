/**
 * How a socket's descriptor comes to be: opened and bound with the options asked for
 * (`UdpSocket.bind`), or adopted from elsewhere once checked to be a bound UDP socket
 * (`UdpSocket.fromDescriptor`), with offload turned on where asked and the OS allows.
 *
 * @module
 */
import type { SocketAddress } from "../sys/address.ts";
import { errnoName } from "../sys/errors.ts";
import type { Fd } from "../sys/poller.ts";
import {
  adoptDescriptor,
  closeDescriptor,
  type SocketOption,
  socketKind,
  udpBind,
  udpEnableOffload,
  udpLocalAddress,
  udpOpen,
  udpSetOption,
} from "../sys/udp.ts";
import { enableReportedInfo } from "./datagram-info.ts";
import type { Offload, UdpSocketOptions } from "./udp-types.ts";

/**
 * A descriptor opened for `target`'s family, given `options` (checked already), and bound to
 * `target`, with what came of offload. Nothing is left open when a step fails: the error is
 * thrown after the descriptor is closed.
 *
 * @example
 * ```ts
 * const { fd, offload } = openBound(parseSocketAddress("127.0.0.1:0"), { offload: true });
 * ```
 */
export function openBound(target: SocketAddress, options: UdpSocketOptions): { fd: Fd; offload: Offload } {
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
    enableReportedInfo(fd, options);
    udpBind(fd, target);
    return { fd, offload };
  } catch (error) {
    closeDescriptor(fd);
    throw error;
  }
}

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

const OFFLOAD_NOT_ASKED: Offload = { state: "off", reason: "not requested" };

/**
 * Turns offload on for `fd` if `wanted`; what came of it.
 *
 * @example
 * ```ts
 * enableOffload(fd, true); // { state: "on" } on Linux 5.0 and later
 * ```
 */
export function enableOffload(fd: number, wanted: boolean | undefined): Offload {
  if (wanted !== true) return OFFLOAD_NOT_ASKED;
  const errno = udpEnableOffload(fd);
  if (errno === 0) return { state: "on" };
  if (process.platform !== "linux") return { state: "off", reason: `not available on ${process.platform}` };
  return {
    state: "off",
    reason: `the kernel refused UDP_GRO/UDP_SEGMENT (${errnoName(errno)}; they need Linux 5.0 or later)`,
  };
}
