/**
 * The IP layer of a UDP descriptor, typed: connect and disconnect, sends to the connected peer,
 * the options whose level depends on the family (`abi.IpOption`), multicast memberships and the
 * interface multicast leaves by: what the sockets' IP options and connections are built on.
 *
 * @module
 */
import { IpOption, Layout } from "./abi.ts";
import { decodeAddress, encodeAddress, formatSocketAddress, type SocketAddress } from "./address.ts";
import { Errno, SystemError, check } from "./errors.ts";
import { native } from "./ffi.ts";
import { WOULD_BLOCK, type WouldBlock } from "./would-block.ts";

/** An IP-layer option by name, e.g. `"ttl"`. */
export type IpOptionName = keyof typeof IpOption;

function addressBytes(address: SocketAddress): Uint8Array {
  const bytes = new Uint8Array(Layout.addressSize);
  encodeAddress(address, new DataView(bytes.buffer), 0);
  return bytes;
}

/**
 * Connects the descriptor to `peer`: the kernel then drops datagrams from anyone else, and
 * reports the peer's ICMP errors on the next call.
 *
 * @example
 * ```ts
 * udpConnect(fd, socketAddress("192.0.2.1", 53));
 * ```
 */
export function udpConnect(fd: number, peer: SocketAddress): void {
  const bytes = addressBytes(peer);
  check(
    native.br_udp_connect(fd, bytes, bytes),
    "connect",
    () => `Cannot connect UDP descriptor ${fd} to ${formatSocketAddress(peer)}`,
  );
}

/**
 * Dissolves the descriptor's connection, keeping it bound to `bound` (Linux unbinds a port the
 * kernel picked; the library binds it again).
 *
 * @example
 * ```ts
 * udpDisconnect(fd, localAddress);
 * ```
 */
export function udpDisconnect(fd: number, bound: SocketAddress): void {
  const bytes = addressBytes(bound);
  check(native.br_udp_disconnect(fd, bytes, bytes), "connect", () => `Cannot disconnect UDP descriptor ${fd}`);
}

/**
 * The peer the descriptor is connected to, as the kernel has it; null if it is not connected.
 *
 * @example
 * ```ts
 * udpPeerAddress(fd); // null before udpConnect
 * ```
 */
export function udpPeerAddress(fd: number): SocketAddress | null {
  const bytes = new Uint8Array(Layout.addressSize);
  const rc = native.br_udp_peer_address(fd, bytes, bytes);
  if (rc === -Errno.ENOTCONN) return null;
  check(rc, "getpeername", () => `Cannot read the peer of UDP descriptor ${fd}`);
  return decodeAddress(new DataView(bytes.buffer), 0);
}

/**
 * Sends `payload` to the connected peer; the bytes sent, or {@link WOULD_BLOCK}. An ICMP error
 * of an earlier datagram (`ECONNREFUSED`: the peer's port is closed) is thrown as it is.
 *
 * @example
 * ```ts
 * udpTrySend(fd, new TextEncoder().encode("ping"), () => "192.0.2.1:53");
 * ```
 */
export function udpTrySend(fd: number, payload: Uint8Array, describe: () => string): number | WouldBlock {
  const rc = native.br_udp_send(fd, payload, payload);
  if (rc >= 0) return rc;
  if (rc === -Errno.EAGAIN || rc === -Errno.EWOULDBLOCK) return WOULD_BLOCK;
  throw new SystemError("send", -rc, `Cannot send ${payload.byteLength} bytes to ${describe()}`);
}

/**
 * Sets an IP-layer option on a descriptor of `family` (booleans as 0 or 1).
 *
 * @example
 * ```ts
 * udpSetIpOption(fd, 4, "ttl", 7);
 * ```
 */
export function udpSetIpOption(fd: number, family: 4 | 6, option: IpOptionName, value: number): void {
  check(
    native.br_udp_set_ip_option(fd, family, IpOption[option], value),
    "setsockopt",
    () => `Cannot set ${option} to ${value} on descriptor ${fd}`,
  );
}

/**
 * Reads an IP-layer option of a descriptor of `family`; null where the OS has no such option
 * (`pathMtu` off Linux).
 *
 * @example
 * ```ts
 * udpGetIpOption(fd, 6, "ttl"); // the hop limit, 64 by default
 * ```
 */
export function udpGetIpOption(fd: number, family: 4 | 6, option: IpOptionName): number | null {
  const rc = native.br_udp_get_ip_option(fd, family, IpOption[option]);
  if (rc === -Errno.ENOPROTOOPT) return null;
  return check(rc, "getsockopt", () => `Cannot read ${option} of descriptor ${fd}`);
}

/** A multicast membership as the library takes it (see `abi.Membership`). */
export interface MembershipRequest {
  readonly group: SocketAddress;
  /** The one source to hear; null for any source. */
  readonly source: SocketAddress | null;
  /** The interface's index; 0 lets the kernel choose by route. */
  readonly interfaceIndex: number;
}

/**
 * Joins (`join` true) or leaves a multicast group; `describe` names it in the error.
 *
 * @example
 * ```ts
 * udpMembership(fd, true, { group: socketAddress("239.1.2.3", 0), source: null, interfaceIndex: 2 }, () => "239.1.2.3");
 * ```
 */
export function udpMembership(fd: number, join: boolean, request: MembershipRequest, describe: () => string): void {
  const bytes = new Uint8Array(Layout.membershipSize);
  const view = new DataView(bytes.buffer);
  encodeAddress(request.group, view, Layout.membershipGroupOffset);
  if (request.source !== null) encodeAddress(request.source, view, Layout.membershipSourceOffset);
  view.setUint32(Layout.membershipInterfaceOffset, request.interfaceIndex, true);
  check(
    native.br_udp_membership(fd, join ? 1 : 0, bytes, bytes),
    "setsockopt",
    () => `Cannot ${join ? "join" : "leave"} ${describe()}`,
  );
}

/**
 * Sends the descriptor's multicast datagrams out of interface `index` (0: by route).
 *
 * @example
 * ```ts
 * udpSetMulticastInterface(fd, 4, interfaceIndex("eth0"));
 * ```
 */
export function udpSetMulticastInterface(fd: number, family: 4 | 6, index: number): void {
  check(
    native.br_udp_set_multicast_interface(fd, family, index),
    "setsockopt",
    () => `Cannot send multicast by interface ${index} on descriptor ${fd}`,
  );
}

/**
 * The index of the network interface named `name`; null if there is none.
 *
 * @example
 * ```ts
 * interfaceIndex("lo"); // 1 on Linux
 * ```
 */
export function interfaceIndex(name: string): number | null {
  const bytes = new TextEncoder().encode(name);
  const rc = native.br_interface_index(bytes, bytes);
  if (rc === -Errno.ENODEV) return null;
  return check(rc, "if_nametoindex", () => `Cannot look up interface "${name}"`);
}
