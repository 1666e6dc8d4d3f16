/**
 * The IP layer of a UDP socket (`socket.ip`): unicast TTL / hop limit and TOS / traffic class,
 * broadcast, don't-fragment, the multicast TTL, loopback and outgoing interface, and multicast
 * memberships, any-source and source-specific, for IPv4 and IPv6.
 *
 * Every value is checked before any system call, with an error that names it, and every option
 * reads back what the kernel holds. The option names are the same on every OS; the library maps
 * them to each one's (IP_TTL or IPV6_UNICAST_HOPS, IP_MTU_DISCOVER on Linux or IP_DONTFRAG on
 * the BSDs: `zig/src/ip.zig`).
 *
 * @module
 */
import { networkInterfaces } from "node:os";
import { AddressError, parseHost, socketAddress, type SocketAddress } from "../sys/address.ts";
import { interfaceIndex, udpGetIpOption, udpMembership, udpSetIpOption, udpSetMulticastInterface } from "../sys/ip.ts";
import { describeValue, type SocketAccess } from "./udp-types.ts";

/** The IP-layer options and the type of their values. */
export interface IpOptions {
  /** SO_BROADCAST: sends to a broadcast address (e.g. 192.0.2.255) are allowed (else `EACCES`). */
  readonly broadcast: boolean;
  /** IP_TTL / IPV6_UNICAST_HOPS: the TTL or hop limit of unicast datagrams, 1 to 255 (default 64). */
  readonly ttl: number;
  /** IP_TOS / IPV6_TCLASS: the whole TOS or traffic-class byte, DSCP and ECN, 0 to 255. */
  readonly tos: number;
  /** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS: 0 to 255 (default 1: the local network only). */
  readonly multicastTtl: number;
  /** IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP: this host's own members hear its multicast (default true). */
  readonly multicastLoop: boolean;
  /**
   * Don't fragment: datagrams go with DF set (IPv4) and are never fragmented by this host; one
   * larger than the path MTU fails with `EMSGSIZE`, and on Linux the error queue then holds the
   * MTU (`QueuedError.mtu`). Linux: IP_MTU_DISCOVER / IPV6_MTU_DISCOVER = PMTUDISC_DO (off is
   * PMTUDISC_WANT, the default); macOS and FreeBSD: IP_DONTFRAG / IPV6_DONTFRAG.
   */
  readonly dontFragment: boolean;
}

/** How a membership or the outgoing multicast interface names its interface. */
export type InterfaceName = string | number;

/** Where to hear a group: by which interface, and from which one source. */
export interface MembershipOptions {
  /**
   * The interface: its name (`"eth0"`), its index, or one of its addresses. Without it the
   * kernel chooses by route, which on a host without a multicast route fails (`ENODEV`).
   */
  readonly interface?: InterfaceName;
  /** Source-specific multicast: hear the group only from this source (an IP literal). */
  readonly source?: string;
}

/** A group this socket has joined (see {@link IpLayer.memberships}). */
export interface Membership {
  readonly group: string;
  /** The one source heard, or null for any source. */
  readonly source: string | null;
  /** The interface's index; 0 when the kernel chose it by route. */
  readonly interfaceIndex: number;
}

const RANGES: Record<"ttl" | "tos" | "multicastTtl", readonly [number, number]> = {
  ttl: [1, 255],
  tos: [0, 255],
  multicastTtl: [0, 255],
};
const BOOLEANS = new Set(["broadcast", "multicastLoop", "dontFragment"]);

/**
 * The IP layer of one socket, made by `UdpSocket.ip`.
 *
 * @example
 * ```ts
 * using socket = UdpSocket.bind("0.0.0.0:5353");
 * socket.ip.join("239.255.0.1", { interface: "eth0" });
 * socket.ip.set("multicastTtl", 4);
 * socket.ip.get("multicastTtl"); // 4
 * ```
 */
export class IpLayer {
  readonly #access: SocketAccess;
  readonly #family: 4 | 6;
  readonly #memberships = new Map<string, Membership>();
  #multicastInterface = 0;

  /** @internal Made by `UdpSocket.ip`. */
  constructor(access: SocketAccess, family: 4 | 6) {
    this.#access = access;
    this.#family = family;
  }

  /**
   * Sets an option (see {@link IpOptions} for each one's meaning and range).
   *
   * @example
   * ```ts
   * socket.ip.set("tos", 0xb8); // DSCP EF
   * ```
   */
  set<K extends keyof IpOptions>(option: K, value: IpOptions[K]): void {
    const number = checkOption(option, value);
    udpSetIpOption(this.#access.openDescriptor(`set ${option} of`), this.#family, option, number);
  }

  /**
   * An option's value as the kernel holds it.
   *
   * @example
   * ```ts
   * socket.ip.get("ttl"); // 64 unless set
   * ```
   */
  get<K extends keyof IpOptions>(option: K): IpOptions[K] {
    checkOptionName(option);
    const value = udpGetIpOption(this.#access.openDescriptor(`read ${option} of`), this.#family, option)!;
    return (BOOLEANS.has(option) ? value !== 0 : value) as IpOptions[K];
  }

  /**
   * The path MTU the kernel knows for the connected peer (Linux's IP_MTU / IPV6_MTU); null on
   * the BSDs, which report it only in control messages. The socket must be connected.
   *
   * @example
   * ```ts
   * using link = socket.connect("192.0.2.2:9");
   * socket.ip.pathMtu(); // 1500 on an Ethernet link
   * ```
   */
  pathMtu(): number | null {
    return udpGetIpOption(this.#access.openDescriptor("read the path MTU of"), this.#family, "pathMtu");
  }

  /**
   * Joins multicast `group` (an IP literal of the socket's family: 224.0.0.0/4 or ff00::/8), on
   * an interface and, for source-specific multicast, from one source only. The socket must be
   * bound to the port the group's datagrams go to (on the wildcard address, or the group's).
   *
   * @example
   * ```ts
   * socket.ip.join("232.1.1.1", { interface: "eth0", source: "192.0.2.1" });
   * ```
   */
  join(group: string, options: MembershipOptions = {}): Membership {
    const request = this.#request(group, options, "join");
    const key = membershipKey(request);
    if (this.#memberships.has(key)) throw new AddressError(`join: already a member of ${describeMembership(request)}`);
    udpMembership(this.#access.openDescriptor("join a group on"), true, this.#wire(request), () => describeMembership(request));
    this.#memberships.set(key, request);
    return request;
  }

  /**
   * Leaves a group joined with the same group, interface and source.
   *
   * @example
   * ```ts
   * socket.ip.leave("239.255.0.1", { interface: "eth0" });
   * ```
   */
  leave(group: string, options: MembershipOptions = {}): void {
    const request = this.#request(group, options, "leave");
    const key = membershipKey(request);
    if (!this.#memberships.has(key)) throw new AddressError(`leave: not a member of ${describeMembership(request)}`);
    udpMembership(this.#access.openDescriptor("leave a group on"), false, this.#wire(request), () => describeMembership(request));
    this.#memberships.delete(key);
  }

  /** The groups this socket has joined and not left, in the order it joined them. */
  get memberships(): readonly Membership[] {
    return [...this.#memberships.values()];
  }

  /**
   * Sends this socket's multicast datagrams out of `iface` (a name, an index or one of its
   * addresses); null goes back to the kernel's choice by route.
   *
   * @example
   * ```ts
   * socket.ip.setMulticastInterface("eth1");
   * ```
   */
  setMulticastInterface(iface: InterfaceName | null): void {
    const index = iface === null ? 0 : resolveInterface(iface, "setMulticastInterface");
    udpSetMulticastInterface(this.#access.openDescriptor("set the multicast interface of"), this.#family, index);
    this.#multicastInterface = index;
  }

  /** The index of the interface multicast leaves by, as last set; 0 for the kernel's choice. */
  get multicastInterface(): number {
    return this.#multicastInterface;
  }

  #request(group: string, options: MembershipOptions, call: string): Membership {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`${call}: options ${describeValue(options)} are not an object`);
    }
    const parsedGroup = this.#literal(group, `${call}: the group`);
    if (!isMulticast(parsedGroup.family, parsedGroup.bytes)) {
      throw new AddressError(
        `${call}: ${group} is not a multicast group (${parsedGroup.family === 4 ? "224.0.0.0/4" : "ff00::/8"})`,
      );
    }
    let source: string | null = null;
    if (options.source !== undefined) {
      const parsed = this.#literal(options.source, `${call}: the source`);
      if (isMulticast(parsed.family, parsed.bytes))
        throw new AddressError(`${call}: the source ${options.source} is a multicast address`);
      source = socketAddress(options.source, 0).host;
    }
    const index = options.interface === undefined ? 0 : resolveInterface(options.interface, call);
    return { group: socketAddress(group, 0).host, source, interfaceIndex: index };
  }

  #literal(text: unknown, what: string): ReturnType<typeof parseHost> {
    if (typeof text !== "string") throw new AddressError(`${what} ${describeValue(text)} is not an IP address text`);
    const parsed = parseHost(text);
    if (parsed.family !== this.#family) {
      throw new AddressError(`${what} ${text} is IPv${parsed.family}, but the socket is IPv${this.#family}`);
    }
    return parsed;
  }

  #wire(request: Membership) {
    const source: SocketAddress | null = request.source === null ? null : socketAddress(request.source, 0);
    return { group: socketAddress(request.group, 0), source, interfaceIndex: request.interfaceIndex };
  }
}

function checkOptionName(option: unknown): void {
  if (typeof option !== "string" || !(BOOLEANS.has(option) || option in RANGES)) {
    const names = [...BOOLEANS, ...Object.keys(RANGES)].sort().join(", ");
    throw new TypeError(`${describeValue(option)} is not an IP option (${names})`);
  }
}

/** The option's value as the library takes it, or an error naming it. */
function checkOption(option: keyof IpOptions, value: unknown): number {
  checkOptionName(option);
  if (BOOLEANS.has(option)) {
    if (typeof value !== "boolean") throw new TypeError(`${option} ${describeValue(value)} is not true or false`);
    return value ? 1 : 0;
  }
  const [least, most] = RANGES[option as keyof typeof RANGES];
  if (typeof value !== "number" || !Number.isInteger(value) || value < least || value > most) {
    throw new RangeError(`${option} ${describeValue(value)} is not a whole number from ${least} to ${most}`);
  }
  return value;
}

function isMulticast(family: 4 | 6, bytes: Uint8Array): boolean {
  return family === 4 ? bytes[0]! >= 224 && bytes[0]! <= 239 : bytes[0] === 0xff;
}

function membershipKey(request: Membership): string {
  return `${request.group}|${request.source ?? "*"}|${request.interfaceIndex}`;
}

function describeMembership(request: Membership): string {
  const source = request.source === null ? "" : ` from ${request.source}`;
  const by = request.interfaceIndex === 0 ? "by route" : `on interface ${request.interfaceIndex}`;
  return `multicast group ${request.group}${source} ${by}`;
}

/**
 * The index of the interface `iface` names: a name, an index, or one of its addresses (found
 * with `os.networkInterfaces`). Checked before any system call on the socket.
 *
 * @example
 * ```ts
 * resolveInterface("lo", "join"); // 1
 * ```
 */
export function resolveInterface(iface: InterfaceName, call: string): number {
  if (typeof iface === "number") {
    if (!Number.isInteger(iface) || iface < 0 || iface > 0xffff_ffff) {
      throw new RangeError(`${call}: interface index ${iface} is not a whole number from 0 to 2^32 - 1`);
    }
    return iface;
  }
  if (typeof iface !== "string" || iface === "") {
    throw new TypeError(`${call}: interface ${describeValue(iface)} is not a name, an index or an address`);
  }
  let name = iface;
  if (/^[0-9.]+$|:/.test(iface)) {
    const wanted = socketAddress(iface, 0).host;
    const found = Object.entries(networkInterfaces()).find(([, list]) => list?.some((entry) => entry.address === wanted));
    if (found === undefined) throw new AddressError(`${call}: no interface has the address ${iface}`);
    name = found[0];
  }
  const index = interfaceIndex(name);
  if (index === null) throw new AddressError(`${call}: there is no interface named "${name}"`);
  return index;
}
