/**
 * The TypeScript mirror of `zig/src/abi.zig`: struct sizes, offsets and constants.
 *
 * The library reports its own layout through `br_abi_layout` and every integer constant of
 * `abi.zig` through `br_abi_constants`; {@link nativeLayout} and {@link nativeConstants} read
 * them, and loading a library built from other sources fails at once (see `assertMirror`)
 * instead of corrupting memory later. `test/abi.test.ts` checks both directions: no value
 * differs, and neither side has a constant the other lacks.
 *
 * @module
 */
import { native } from "./ffi.ts";

/** Interest in readability (`abi.interest_readable`). */
export const INTEREST_READABLE = 1;
/** Interest in writability (`abi.interest_writable`). */
export const INTEREST_WRITABLE = 2;

/** The event says the descriptor became readable. */
export const EVENT_READABLE = 1;
/** The event says the descriptor became writable. */
export const EVENT_WRITABLE = 2;
/** The event says the descriptor has an error pending. */
export const EVENT_ERROR = 4;
/** The event says the other end hung up. */
export const EVENT_HANGUP = 8;

/** The waker's reserved token (`abi.token_waker`, all ones); no registration can use it. */
export const TOKEN_WAKER = 0xffff_ffff_ffff_ffffn;

/** The high 32 bits of {@link TOKEN_WAKER}, which is how an event buffer tells the waker apart. */
export const TOKEN_WAKER_HIGH = Number(TOKEN_WAKER >> 32n);

/** Set in a datagram's flags when it was larger than its buffer and lost its tail. */
export const DATAGRAM_TRUNCATED = 1;

/**
 * Set in a datagram info's flags (`abi.DatagramInfo`) when it holds the local address and
 * interface (received: where the datagram was sent to; sent: where it goes from).
 */
export const INFO_LOCAL = 1;
/** Set in a datagram info's flags when it holds the traffic class (TOS) byte, ECN included. */
export const INFO_TRAFFIC_CLASS = 2;
/** Set in a datagram info's flags for a send that must leave through its interface (sends only). */
export const INFO_INTERFACE = 4;
/**
 * Set by a receive on Linux when the destination is not one of the host's addresses (a
 * broadcast or multicast one): it cannot be a reply's source, and a send of the info leaves the
 * source to the kernel.
 */
export const INFO_NOT_LOCAL = 8;
/** What kind of socket a descriptor is, as `br_socket_kind` answers (`abi.socket_kind_*`). */
export const SocketKind = {
  udp: 0,
  tcp: 1,
  unix: 2,
  other: 3,
} as const;

/** Socket options, as `abi.Option` numbers them. */
export const Option = {
  reuseAddress: 1,
  reusePort: 2,
  recvBuffer: 3,
  sendBuffer: 4,
  ipv6Only: 5,
} as const;

/**
 * Options of the IP layer, as `abi.IpOption` numbers them: their level and name depend on the
 * socket's family and the OS (see `zig/src/ip.zig`). `pathMtu` can only be read.
 */
export const IpOption = {
  broadcast: 1,
  ttl: 2,
  tos: 3,
  multicastTtl: 4,
  multicastLoop: 5,
  dontFragment: 6,
  pathMtu: 7,
} as const;

/** Sizes and offsets, in bytes. */
export const Layout = {
  pollerSize: 8,
  eventSize: 16,
  eventTokenOffset: 0,
  eventFlagsOffset: 8,
  addressSize: 24,
  addressFamilyOffset: 0,
  addressPortOffset: 2,
  addressScopeIdOffset: 4,
  addressBytesOffset: 8,
  datagramSize: 32,
  datagramLenOffset: 0,
  datagramFlagsOffset: 4,
  datagramAddressOffset: 8,
  eventsMax: 1024,
  batchMax: 256,
  datagramSegmentSizeOffset: 6,
  segmentsMax: 64,
  coalescedMax: 65535,
  datagramInfoSize: 32,
  datagramInfoLocalOffset: 0,
  datagramInfoInterfaceOffset: 24,
  datagramInfoTrafficClassOffset: 28,
  datagramInfoFlagsOffset: 29,
  membershipSize: 56,
  membershipGroupOffset: 0,
  membershipSourceOffset: 24,
  membershipInterfaceOffset: 48,
  queuedErrorSize: 32,
  queuedErrorAddressOffset: 0,
  queuedErrorErrnoOffset: 24,
  queuedErrorMtuOffset: 28,
} as const;

/**
 * Every integer constant shared with the library, by its name in `zig/src/abi.zig` (options as
 * `option.<name>`), read from the definitions above: what {@link nativeConstants} must equal.
 *
 * @example
 * ```ts
 * sharedConstants().interest_readable; // 1n
 * ```
 */
export function sharedConstants(): Record<string, bigint> {
  const constants: Record<string, bigint> = {
    interest_readable: BigInt(INTEREST_READABLE),
    interest_writable: BigInt(INTEREST_WRITABLE),
    interest_all: BigInt(INTEREST_READABLE | INTEREST_WRITABLE),
    event_readable: BigInt(EVENT_READABLE),
    event_writable: BigInt(EVENT_WRITABLE),
    event_error: BigInt(EVENT_ERROR),
    event_hangup: BigInt(EVENT_HANGUP),
    token_waker: TOKEN_WAKER,
    events_max: BigInt(Layout.eventsMax),
    batch_max: BigInt(Layout.batchMax),
    datagram_truncated: BigInt(DATAGRAM_TRUNCATED),
    segments_max: BigInt(Layout.segmentsMax),
    coalesced_max: BigInt(Layout.coalescedMax),
    info_local: BigInt(INFO_LOCAL),
    info_traffic_class: BigInt(INFO_TRAFFIC_CLASS),
    info_interface: BigInt(INFO_INTERFACE),
    info_not_local: BigInt(INFO_NOT_LOCAL),
    info_reported: BigInt(INFO_LOCAL | INFO_TRAFFIC_CLASS),
    ...Object.fromEntries(Object.entries(SocketKind).map(([name, value]) => [`socket_kind_${name}`, BigInt(value)])),
  };
  const snake = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  for (const [name, value] of Object.entries(Option)) constants[`option.${snake(name)}`] = BigInt(value);
  for (const [name, value] of Object.entries(IpOption)) constants[`ip_option.${snake(name)}`] = BigInt(value);
  return constants;
}

const layoutKeys = Object.keys(Layout) as (keyof typeof Layout)[];

/** The layout the loaded library was built with, field by field in `Layout`'s order. */
export function nativeLayout(): Record<keyof typeof Layout, number> {
  const words = new Uint32Array(layoutKeys.length);
  const rc = native.br_abi_layout(words, words);
  if (rc !== 0) throw new Error(`br_abi_layout failed with ${rc}`);
  return Object.fromEntries(layoutKeys.map((key, index) => [key, words[index]])) as Record<keyof typeof Layout, number>;
}

/**
 * Every integer constant of the loaded library, by name, as `br_abi_constants` lists them.
 *
 * @example
 * ```ts
 * nativeConstants()["option.reuse_port"]; // 2n
 * ```
 */
export function nativeConstants(): Record<string, bigint> {
  const text = new Uint8Array(4096);
  const len = native.br_abi_constants(text, text);
  if (len < 0) throw new Error(`br_abi_constants failed with ${len}`);
  const lines = new TextDecoder().decode(text.subarray(0, len)).trimEnd().split("\n");
  return Object.fromEntries(lines.map((line) => line.split(" ")).map(([name, value]) => [name!, BigInt(value!)]));
}

function mismatch(what: string, actual: unknown, expected: unknown): Error {
  return new Error(
    `The native library's ${what} is ${String(actual)}, but the TypeScript mirror expects ${String(expected)}: ` +
      "the library was built from other sources. Rebuild it with `bun run build`.",
  );
}

/** Refuses a library whose layout or constants differ from this mirror's, before any use. */
function assertMirror(): void {
  const actual = nativeLayout();
  for (const key of layoutKeys) {
    if (actual[key] !== Layout[key]) throw mismatch(key, actual[key], Layout[key]);
  }
  const constants = nativeConstants();
  for (const [name, expected] of Object.entries(sharedConstants())) {
    if (constants[name] !== expected) throw mismatch(`constant ${name}`, constants[name], expected);
  }
}

assertMirror();
