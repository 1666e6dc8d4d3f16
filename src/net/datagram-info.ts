/**
 * Datagram info: what a datagram carries besides its payload and peer. Received, the local
 * address it was sent to, the interface it came in on, and its traffic class with the ECN
 * codepoint; sent, the source address (and interface) it goes from and the traffic class it
 * carries. A socket reports it when bound with `receiveDestination` or `receiveEcn`; a send
 * carries it when asked (`sendTo`'s {@link SendOptions}, `DatagramBatch.setSource`).
 *
 * In memory it is `abi.DatagramInfo`, 32 bytes per datagram, kept apart from the batch's
 * entries so that a batch that does not use it allocates and reads none of it.
 *
 * @module
 */
import { INFO_INTERFACE, INFO_LOCAL, INFO_NOT_LOCAL, INFO_TRAFFIC_CLASS, Layout } from "../sys/abi.ts";
import { AddressError, decodeAddress, parseHost, socketAddress, type SocketAddress } from "../sys/address.ts";
import { SystemError } from "../sys/errors.ts";
import { udpGetDatagramInfo, udpSetDatagramInfo } from "../sys/udp.ts";

/**
 * An ECN codepoint (RFC 3168): `"not-ect"` (0b00, the sender does not do ECN), `"ect1"`
 * (0b01), `"ect0"` (0b10), `"ce"` (0b11, congestion experienced, set by a router).
 */
export type Ecn = "not-ect" | "ect1" | "ect0" | "ce";

/** The codepoints by their two-bit value. */
const ECN_NAMES: readonly Ecn[] = ["not-ect", "ect1", "ect0", "ce"];

/**
 * The two bits of an ECN codepoint name, or a RangeError naming the value.
 *
 * @example
 * ```ts
 * ecnBits("ce"); // 3
 * ```
 */
export function ecnBits(ecn: Ecn, call: string): number {
  const bits = ECN_NAMES.indexOf(ecn);
  if (bits === -1) throw new RangeError(`${call}: ECN ${JSON.stringify(ecn)} is not "not-ect", "ect1", "ect0" or "ce"`);
  return bits;
}

/** The ECN codepoint in a traffic class (TOS) byte: its two low bits. */
export function ecnOf(trafficClass: number): Ecn {
  return ECN_NAMES[trafficClass & 0b11]!;
}

/** What a socket reports of each datagram it receives (see `UdpSocket.receives`). */
export interface ReportedInfo {
  /** The local address each datagram was sent to, and the interface it came in on. */
  readonly destination: boolean;
  /** Each datagram's ECN codepoint and traffic class (TOS) byte. */
  readonly ecn: boolean;
}

/** What a datagram received with {@link ReportedInfo} on says of itself (see `Received`). */
export interface ReceivedInfo {
  /** The local address the datagram was sent to, with the socket's port. */
  readonly destination?: SocketAddress;
  /** The index of the interface it came in on (0 where the OS does not say). */
  readonly interfaceIndex?: number;
  /** Its ECN codepoint. */
  readonly ecn?: Ecn;
  /** Its whole IPv4 TOS byte or IPv6 traffic class: the DSCP in the high six bits, then ECN. */
  readonly trafficClass?: number;
}

/** What a send may carry: `trySendTo(bytes, peer, options)` and `DatagramBatch.setSource` / `setEcn`. */
export interface SendOptions {
  /**
   * The source address: one of this host's addresses (an IP text or a socket address, whose
   * port is ignored), of the peer's kind. A socket bound to a wildcard address needs it to
   * reply from the address a client used (IP_PKTINFO / IPV6_PKTINFO). On a dual-stack IPv6
   * socket an IPv4 source for a v4-mapped peer is mapped too.
   */
  readonly source?: string | SocketAddress;
  /** The interface to send through, by index (needs `source`, which may be `0.0.0.0` / `::`). */
  readonly interfaceIndex?: number;
  /** The ECN codepoint to send with (IP_TOS / IPV6_TCLASS on the datagram). */
  readonly ecn?: Ecn;
  /**
   * The DSCP (0 to 63) beside `ecn`: a per-send traffic class replaces the whole byte for the
   * datagram, so a socket-wide DSCP must be given again here. Default 0.
   */
  readonly dscp?: number;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** Whether an IPv6 address's bytes are v4-mapped (`::ffff:a.b.c.d`). */
function isV4Mapped(bytes: Uint8Array): boolean {
  for (let index = 0; index < 10; index++) if (bytes[index] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** The source of a send to `peer` as the library takes it: of the peer's kind, or a RangeError. */
function sourceFor(source: string | SocketAddress, peer: SocketAddress, call: string): SocketAddress {
  const host = typeof source === "string" ? source : (source as SocketAddress | null)?.host;
  if (typeof host !== "string") throw new AddressError(`${call}: source ${describe(source)} is not an IP address`);
  const parsed = parseHost(host);
  const peerBytes = parseHost(peer.host).bytes;
  const mappedPeer = peer.family === 6 && isV4Mapped(peerBytes);
  if (parsed.family === 4 && mappedPeer) return socketAddress(`::ffff:${host}`, 0);
  const mappedSource = parsed.family === 6 && isV4Mapped(parsed.bytes);
  if (parsed.family !== peer.family || mappedSource !== mappedPeer) {
    const kind = (family: number, mapped: boolean) => (mapped ? "v4-mapped IPv6" : `IPv${family}`);
    throw new RangeError(
      `${call}: source ${host} is ${kind(parsed.family, mappedSource)}, ` +
        `but the peer ${peer.host} is ${kind(peer.family, mappedPeer)}: a datagram goes from and to the same kind`,
    );
  }
  const scopeId = typeof source === "string" ? 0 : (source.scopeId ?? 0);
  return { ...socketAddress(host, 0), scopeId: scopeId || parsed.scopeId };
}

/**
 * Writes the info of a send to `peer` that `options` asks for at `offset` of `view` (one
 * `Layout.datagramInfoSize` entry), checking every value first: nothing is written if one is
 * wrong. Returns false if `options` asks for nothing (the entry is then left as it was).
 */
export function encodeSendOptions(
  options: SendOptions,
  peer: SocketAddress,
  view: DataView,
  offset: number,
  call: string,
): boolean {
  if (typeof options !== "object" || options === null)
    throw new TypeError(`${call}: options ${describe(options)} are not an object`);
  const { source, interfaceIndex, ecn, dscp } = options;
  const local = source === undefined ? null : sourceFor(source, peer, call);
  if (interfaceIndex !== undefined) {
    if (!Number.isInteger(interfaceIndex) || interfaceIndex < 1 || interfaceIndex > 0xffff_ffff) {
      throw new RangeError(`${call}: interfaceIndex ${describe(interfaceIndex)} is not a whole number from 1 to 2^32 - 1`);
    }
    if (local === null) throw new RangeError(`${call}: interfaceIndex needs a source ("0.0.0.0" or "::" lets the kernel choose)`);
  }
  const ecnValue = ecn === undefined ? null : ecnBits(ecn, call);
  if (dscp !== undefined && (!Number.isInteger(dscp) || dscp < 0 || dscp > 63)) {
    throw new RangeError(`${call}: dscp ${describe(dscp)} is not a whole number from 0 to 63`);
  }
  if (local === null && ecnValue === null && dscp === undefined) return false;
  new Uint8Array(view.buffer, view.byteOffset + offset, Layout.datagramInfoSize).fill(0);
  let flags = 0;
  if (local !== null) {
    writeLocal(local, view, offset);
    flags |= INFO_LOCAL;
  }
  if (interfaceIndex !== undefined) {
    view.setUint32(offset + Layout.datagramInfoInterfaceOffset, interfaceIndex, true);
    flags |= INFO_INTERFACE;
  }
  if (ecnValue !== null || dscp !== undefined) {
    view.setUint8(offset + Layout.datagramInfoTrafficClassOffset, ((dscp ?? 0) << 2) | (ecnValue ?? 0));
    flags |= INFO_TRAFFIC_CLASS;
  }
  view.setUint8(offset + Layout.datagramInfoFlagsOffset, flags);
  return true;
}

function writeLocal(local: SocketAddress, view: DataView, offset: number): void {
  const parsed = parseHost(local.host);
  const at = offset + Layout.datagramInfoLocalOffset;
  view.setUint16(at + Layout.addressFamilyOffset, parsed.family, true);
  view.setUint32(at + Layout.addressScopeIdOffset, local.scopeId, true);
  new Uint8Array(view.buffer, view.byteOffset + at + Layout.addressBytesOffset, 16).set(parsed.bytes);
}

/** The flags of the info entry at `offset` of `view`. */
export function infoFlags(view: DataView, offset: number): number {
  return view.getUint8(offset + Layout.datagramInfoFlagsOffset);
}

/** The destination reported in the info entry at `offset`, with `port`, or null if none was. */
export function decodeDestination(view: DataView, offset: number, port: number): SocketAddress | null {
  if ((infoFlags(view, offset) & INFO_LOCAL) === 0) return null;
  return { ...decodeAddress(view, offset + Layout.datagramInfoLocalOffset), port };
}

/** The traffic class reported in the info entry at `offset`, or null if none was. */
export function decodeTrafficClass(view: DataView, offset: number): number | null {
  if ((infoFlags(view, offset) & INFO_TRAFFIC_CLASS) === 0) return null;
  return view.getUint8(offset + Layout.datagramInfoTrafficClassOffset);
}

/** The interface index in the info entry at `offset` (0 when none was reported). */
export function decodeInterface(view: DataView, offset: number): number {
  if ((infoFlags(view, offset) & INFO_LOCAL) === 0) return 0;
  return view.getUint32(offset + Layout.datagramInfoInterfaceOffset, true);
}

/** What the info entry in `info` reports, as the fields of a `Received`. */
export function receivedInfo(info: Uint8Array, port: number): ReceivedInfo {
  const view = new DataView(info.buffer, info.byteOffset, Layout.datagramInfoSize);
  const destination = decodeDestination(view, 0, port);
  const trafficClass = decodeTrafficClass(view, 0);
  return {
    ...(destination === null ? {} : { destination, interfaceIndex: decodeInterface(view, 0) }),
    ...(trafficClass === null ? {} : { trafficClass, ecn: ecnOf(trafficClass) }),
  };
}

/** Where an info entry's flags and its destination's family and address bytes lie. */
const FLAGS_AT = Layout.datagramInfoFlagsOffset;
const FAMILY_AT = Layout.datagramInfoLocalOffset + Layout.addressFamilyOffset;
const BYTES_AT = Layout.datagramInfoLocalOffset + Layout.addressBytesOffset;

/**
 * Whether the info entry at byte `offset` of `infos` reports a destination that can be a
 * reply's source: reported (`INFO_LOCAL`), and one of the host's own addresses. Linux says so of
 * each datagram (`INFO_NOT_LOCAL` for a subnet or limited broadcast, or an IPv4 multicast
 * group); everywhere a multicast address (224.0.0.0/4, ff00::/8, v4-mapped or not) and the
 * limited broadcast 255.255.255.255 are told by their form, while elsewhere a subnet's broadcast
 * address cannot be told from a unicast one. Reads the bytes themselves: the echo asks this of
 * every datagram it replies to.
 */
export function destinationIsUnicast(infos: Uint8Array, offset: number): boolean {
  if ((infos[offset + FLAGS_AT]! & (INFO_LOCAL | INFO_NOT_LOCAL)) !== INFO_LOCAL) return false;
  const bytes = offset + BYTES_AT;
  let v4 = bytes;
  // The family is a little-endian u16, 4 or 6: its low byte says which.
  if (infos[offset + FAMILY_AT] === 6) {
    if (infos[bytes] === 0xff) return false;
    for (let index = 0; index < 10; index++) if (infos[bytes + index] !== 0) return true;
    if (infos[bytes + 10] !== 0xff || infos[bytes + 11] !== 0xff) return true;
    v4 = bytes + 12;
  }
  const first = infos[v4]!;
  if ((first & 0xf0) === 0xe0) return false;
  return !(first === 0xff && infos[v4 + 1] === 0xff && infos[v4 + 2] === 0xff && infos[v4 + 3] === 0xff);
}

/** The `INFO_*` bits for what `options` asks the socket to report. */
function reportedBits(options: { readonly receiveDestination?: boolean; readonly receiveEcn?: boolean }): number {
  return (options.receiveDestination === true ? INFO_LOCAL : 0) | (options.receiveEcn === true ? INFO_TRAFFIC_CLASS : 0);
}

/** Asks the kernel of `fd` to report what `options` asks for (nothing asked: no system call). */
export function enableReportedInfo(
  fd: number,
  options: { readonly receiveDestination?: boolean; readonly receiveEcn?: boolean },
): void {
  const bits = reportedBits(options);
  if (bits !== 0) udpSetDatagramInfo(fd, bits);
}

const NOTHING_REPORTED: ReportedInfo = { destination: false, ecn: false };

/**
 * What the kernel of `fd` reports, read back; nothing where the OS cannot tell (an option it
 * does not know, ENOPROTOOPT), since it then reports nothing either.
 */
export function readReportedInfo(fd: number): ReportedInfo {
  let bits: number;
  try {
    bits = udpGetDatagramInfo(fd);
  } catch (error) {
    if (error instanceof SystemError && error.code === "ENOPROTOOPT") return NOTHING_REPORTED;
    throw error;
  }
  return bits === 0 ? NOTHING_REPORTED : { destination: (bits & INFO_LOCAL) !== 0, ecn: (bits & INFO_TRAFFIC_CLASS) !== 0 };
}

/**
 * The info entry of a send to `peer` that `options` asks for, checked (see
 * {@link encodeSendOptions}), or undefined if it asks for nothing: the send is then a plain one.
 *
 * @example
 * ```ts
 * const info = sendInfo({ source: "127.0.0.2", ecn: "ect0" }, peer, "trySendTo");
 * ```
 */
export function sendInfo(options: SendOptions | undefined, peer: SocketAddress, call: string): Uint8Array | undefined {
  if (options === undefined) return undefined;
  const info = new Uint8Array(Layout.datagramInfoSize);
  return encodeSendOptions(options, peer, new DataView(info.buffer), 0, call) ? info : undefined;
}
