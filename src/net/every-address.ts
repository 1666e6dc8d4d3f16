/**
 * A wildcard socket with a socket of its own on each of the host's addresses beside it, all on
 * one port: how a server answers every client from the address the client used without a
 * control message each way per datagram.
 *
 * A socket on a wildcard address (`0.0.0.0`, `::`) learns each datagram's destination from a
 * control message (IP_PKTINFO) and names it again in a control message of the reply; on Linux
 * those cost 7–9% more CPU per 64-byte echo, nearly all of it in the kernel (`bun run bench`,
 * the reply-source rows). A socket bound to one address needs neither: the kernel delivers a
 * datagram to the socket bound to its destination before the wildcard one, and a reply from it
 * goes from that address. The wildcard socket stays, reporting destinations, for the addresses
 * without a socket of their own: those the host gains later, and those that could not be bound.
 *
 * A specific address shares the wildcard's port only where both sockets allow it
 * (SO_REUSEADDR); once all are bound, the option is cleared again on each, so that another
 * program binding the port is refused as it would be by one wildcard socket.
 *
 * @module
 */
import { networkInterfaces } from "node:os";
import { AddressError, isWildcardHost } from "../sys/address.ts";
import { SystemError } from "../sys/errors.ts";
import { udpSetOption } from "../sys/udp.ts";
import { type BindAddress, checkSocketOptions, toSocketAddress, type UdpSocketOptions } from "./udp-types.ts";
import { UdpSocket } from "./udp-socket.ts";

/** Options of {@link bindEveryAddress}: those of `UdpSocket.bind`, for every socket, and a limit. */
export interface EveryAddressOptions extends UdpSocketOptions {
  /**
   * The most addresses bound on their own (default 16); the rest are served by the wildcard
   * socket. Each socket costs a descriptor and whatever its reader holds.
   */
  readonly addressesMax?: number;
}

/** What {@link bindEveryAddress} bound. */
export interface EveryAddress {
  /** The socket on the wildcard address; it always reports each datagram's destination. */
  readonly wildcard: UdpSocket;
  /** One socket per address of the host, on the wildcard's port. */
  readonly addresses: readonly UdpSocket[];
  /** The host's addresses not bound on their own, and why: their clients reach {@link wildcard}. */
  readonly skipped: readonly { readonly host: string; readonly reason: string }[];
}

/** Addresses bound on their own when {@link EveryAddressOptions.addressesMax} is not given. */
export const ADDRESSES_MAX = 16;

/**
 * The host's addresses that a socket beside a wildcard one of `family` can be bound to: those of
 * the family, and with `dualStack` (an IPv6 wildcard that takes IPv4 too) the IPv4 ones as well.
 * IPv6 link-local addresses (fe80::/10) are left to the wildcard socket: they need a scope.
 *
 * @example
 * ```ts
 * hostAddresses(4, false); // ["127.0.0.1", "192.0.2.2"]
 * ```
 */
export function hostAddresses(family: 4 | 6, dualStack: boolean): string[] {
  const found = new Set<string>();
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      const entryFamily = entry.family === "IPv6" ? 6 : 4;
      if (entryFamily !== family && !(dualStack && entryFamily === 4)) continue;
      if (entryFamily === 6 && /^fe[89ab]/i.test(entry.address)) continue;
      found.add(entry.address);
    }
  }
  return [...found];
}

/**
 * Binds `address`, a wildcard address, with each datagram's destination reported, and beside
 * it a socket on each address the host has now (up to `addressesMax`), on the same port; every
 * socket with `options`. The v4-mapped wildcard (`::ffff:0.0.0.0`) is bound alone. An address
 * that cannot be bound (an IPv6 address still tentative, `EADDRNOTAVAIL`) is skipped, and said in
 * {@link EveryAddress.skipped}. Throws {@link AddressError} for an address that is not a
 * wildcard one and a `SystemError` when the wildcard bind fails; nothing is left open then.
 *
 * @example
 * ```ts
 * const { wildcard, addresses } = bindEveryAddress("0.0.0.0:7777");
 * // a datagram to 127.0.0.1:7777 is received by the socket on 127.0.0.1, whose reply goes from it
 * ```
 */
export function bindEveryAddress(address: BindAddress, options: EveryAddressOptions = {}): EveryAddress {
  const target = toSocketAddress(address, "bindEveryAddress");
  if (!isWildcardHost(target.host)) {
    throw new AddressError(`bindEveryAddress: ${target.host} is not a wildcard address (0.0.0.0 or ::)`);
  }
  const { addressesMax = ADDRESSES_MAX, ...socketOptions } = options;
  checkSocketOptions(socketOptions, "bindEveryAddress");
  if (!Number.isInteger(addressesMax) || addressesMax < 0) {
    throw new RangeError(`bindEveryAddress: addressesMax ${addressesMax} is not a whole number of 0 or more`);
  }
  const sharing = { ...socketOptions, reuseAddress: true };
  const wildcard = UdpSocket.bind(target, { ...sharing, receiveDestination: true });
  const addresses: UdpSocket[] = [];
  const skipped: { host: string; reason: string }[] = [];
  try {
    const dualStack = target.family === 6 && wildcard.option("ipv6Only") === 0;
    // The v4-mapped wildcard (::ffff:0.0.0.0) takes IPv4 on an IPv6 socket, which no IPv4
    // socket may share the port with: it is bound alone.
    const mapped = target.family === 6 && target.host.includes(".");
    for (const host of mapped ? [] : hostAddresses(target.family, dualStack)) {
      if (addresses.length === addressesMax) {
        skipped.push({ host, reason: `more than ${addressesMax} addresses` });
        continue;
      }
      try {
        addresses.push(UdpSocket.bind({ host, port: wildcard.localAddress.port }, sharing));
      } catch (error) {
        if (!(error instanceof SystemError)) throw error;
        skipped.push({ host, reason: error.message });
      }
    }
    if (socketOptions.reuseAddress !== true) {
      for (const socket of [wildcard, ...addresses]) udpSetOption(socket.fd, "reuseAddress", 0);
    }
  } catch (error) {
    for (const socket of [wildcard, ...addresses]) socket.close();
    throw error;
  }
  return { wildcard, addresses, skipped };
}
