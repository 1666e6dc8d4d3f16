/**
 * IP socket addresses: parsing, formatting, and their 24-byte form shared with the library.
 *
 * @module
 */
import { Layout } from "./abi.ts";

/** An IPv4 or IPv6 address with a port. `scopeId` is the IPv6 zone (0 when none). */
export interface SocketAddress {
  readonly family: 4 | 6;
  readonly host: string;
  readonly port: number;
  readonly scopeId: number;
}

/** A value that is not an IP address, a port or an address with a port. */
export class AddressError extends TypeError {
  override readonly name = "AddressError";
}

const DOT = 46;
const DIGIT_ZERO = 48;

/**
 * Parses four dotted decimal parts, each 0 to 255 without a leading zero, into `out` at
 * `offset`. By character codes, not `split` and a pattern per part: every send to a peer given
 * as text, or as an address to check, parses its host (bench:runtime's select row).
 */
function parseIPv4(text: string, out: Uint8Array, offset: number): boolean {
  const length = text.length;
  let index = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0 && text.charCodeAt(index++) !== DOT) return false;
    const start = index;
    let value = 0;
    for (; index < length && index - start < 4; index++) {
      const digit = text.charCodeAt(index) - DIGIT_ZERO;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    const digits = index - start;
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && text.charCodeAt(start) === DIGIT_ZERO)) return false;
    out[offset + part] = value;
  }
  return index === length;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseGroups(text: string): number[] | null {
  if (text === "") return [];
  const groups: number[] = [];
  const parts = text.split(":");
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index]!;
    if (index === parts.length - 1 && part.includes(".")) {
      const v4 = new Uint8Array(4);
      if (!parseIPv4(part, v4, 0)) return null;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else if (HEX_GROUP.test(part)) {
      groups.push(Number.parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

function parseIPv6(text: string, out: Uint8Array): { scopeId: number } | null {
  let body = text;
  let scopeId = 0;
  const zone = text.indexOf("%");
  if (zone !== -1) {
    const id = text.slice(zone + 1);
    // Interface names would need if_nametoindex; numeric zones are enough for a server.
    if (!/^[0-9]{1,10}$/.test(id) || Number(id) > 0xffff_ffff) return null;
    scopeId = Number(id);
    body = text.slice(0, zone);
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const count = head.length + tail.length;
  if (halves.length === 2 ? count > 7 : count !== 8) return null;
  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  groups.forEach((group, index) => {
    out[index * 2] = group >> 8;
    out[index * 2 + 1] = group & 0xff;
  });
  return { scopeId };
}

/**
 * Parses an IP address literal (no host names). Returns its family, bytes and IPv6 zone, or
 * throws an {@link AddressError} naming the value.
 */
export function parseHost(host: string): ParsedHost {
  if (typeof host !== "string") throw new AddressError(`host ${String(host)} is not an IP address text such as "127.0.0.1"`);
  const bytes = new Uint8Array(16);
  if (parseIPv4(host, bytes, 0)) return { family: 4, bytes, scopeId: 0 };
  const v6 = host.includes(":") ? parseIPv6(host, bytes) : null;
  if (v6 !== null) return { family: 6, bytes, scopeId: v6.scopeId };
  if (isHostName(host)) {
    throw new AddressError(
      `"${host}" is a host name, not an IP address: this call takes IP addresses only; ` +
        "look the name up first with resolve(), a future that does not block the runtime's thread",
    );
  }
  throw new AddressError(`"${host}" is not an IPv4 or IPv6 address`);
}

const HOST_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * Whether `text` has the form of a DNS host name (RFC 1123 labels, at most 253 characters) and
 * is not an IPv4 literal: a text the resolver may be asked about.
 *
 * @example
 * ```ts
 * isHostName("example.com"); // true
 * isHostName("127.0.0.1"); // false: an address
 * ```
 */
export function isHostName(text: string): boolean {
  // A last label of digits only is an address's (RFC 3696 §2: no top-level domain is all-numeric).
  return typeof text === "string" && HOST_NAME.test(text) && !/(^|\.)\d+\.?$/.test(text);
}

/** An IP address literal parsed: its family, its 16 bytes (the first 4 for IPv4) and its IPv6 zone. */
export interface ParsedHost {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly scopeId: number;
}

/** A host parsed and written back in canonical form, as {@link parsedHost} keeps the last one. */
interface KnownHost extends ParsedHost {
  readonly text: string;
  readonly canonical: string;
}

/** The last host {@link parsedHost} parsed: a socket tends to send to the same peer many times. */
let lastHost: KnownHost | null = null;

/**
 * {@link parseHost} for the library's own use, which never writes to the bytes: the last host
 * is kept with its canonical text, so that sending to one peer again parses nothing.
 */
function parsedHost(host: string): KnownHost {
  const last = lastHost;
  if (last !== null && last.text === host) return last;
  const parsed = parseHost(host);
  lastHost = { ...parsed, text: host, canonical: formatHost(parsed.family, parsed.bytes, parsed.scopeId) };
  return lastHost;
}

function formatIPv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, index) => (bytes[index * 2]! << 8) | bytes[index * 2 + 1]!);
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (mapped) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  // RFC 5952: compress the longest run of two or more zero groups, the first if tied.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

function formatHost(family: 4 | 6, bytes: Uint8Array, scopeId: number): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const text = formatIPv6(bytes);
  return scopeId === 0 ? text : `${text}%${scopeId}`;
}

/** Checks that `port` is a whole number from 0 to 65535. */
export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AddressError(`port ${port} is not a whole number from 0 to 65535`);
  }
  return port;
}

/**
 * A socket address from an IP literal and a port, in canonical form.
 *
 * @example
 * ```ts
 * socketAddress("::1", 7777); // { family: 6, host: "::1", port: 7777, scopeId: 0 }
 * ```
 */
export function socketAddress(host: string, port: number): SocketAddress {
  const parsed = parsedHost(host);
  return { family: parsed.family, host: parsed.canonical, port: checkPort(port), scopeId: parsed.scopeId };
}

/**
 * Parses `"127.0.0.1:7777"` or `"[::1]:7777"`.
 *
 * @example
 * ```ts
 * parseSocketAddress("[::1]:53").port; // 53
 * ```
 */
export function parseSocketAddress(text: string): SocketAddress {
  if (typeof text !== "string") throw new AddressError(`${String(text)} is not an address:port text such as 127.0.0.1:7777`);
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (match === null) throw new AddressError(`"${text}" is not an address:port pair such as 127.0.0.1:7777 or [::1]:7777`);
  return socketAddress(match[1]!, Number(match[2]));
}

/**
 * Whether `host` is a loopback address (127.0.0.0/8 or ::1): reachable from this machine only.
 * Throws an {@link AddressError} for a text that is not an IP address.
 *
 * @example
 * ```ts
 * isLoopbackHost("127.0.0.2"); // true
 * isLoopbackHost("0.0.0.0"); // false: every interface
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const { family, bytes } = parseHost(host);
  return family === 4 ? bytes[0] === 127 : bytes.every((byte, index) => byte === (index === 15 ? 1 : 0));
}

/**
 * Whether `host` is a wildcard (unspecified) address, `0.0.0.0` or `::` (or `::ffff:0.0.0.0`):
 * a socket bound to it receives what is sent to any of the host's addresses. Throws an
 * {@link AddressError} for a text that is not an IP address.
 *
 * @example
 * ```ts
 * isWildcardHost("::"); // true
 * isWildcardHost("127.0.0.1"); // false
 * ```
 */
export function isWildcardHost(host: string): boolean {
  const { family, bytes } = parseHost(host);
  if (family === 4) return bytes.subarray(0, 4).every((byte) => byte === 0);
  const mapped = bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return bytes.subarray(mapped ? 12 : 0).every((byte) => byte === 0);
}

/** `127.0.0.1:7777`, or `[::1]:7777` for IPv6. */
export function formatSocketAddress(address: SocketAddress): string {
  return address.family === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Writes `address` in the library's form at `offset` of `view` (24 bytes). */
export function encodeAddress(address: SocketAddress, view: DataView, offset: number): void {
  // Both checked before anything is written.
  const parsed = parsedHost(address.host);
  const port = checkPort(address.port);
  view.setUint16(offset + Layout.addressFamilyOffset, parsed.family, true);
  view.setUint16(offset + Layout.addressPortOffset, port, true);
  view.setUint32(offset + Layout.addressScopeIdOffset, address.scopeId || parsed.scopeId, true);
  // Byte by byte rather than through a view of `view.buffer`: that getter makes JSC give a
  // small typed array an ArrayBuffer of its own, per call.
  const bytes = parsed.bytes;
  for (let index = 0; index < 16; index++) view.setUint8(offset + Layout.addressBytesOffset + index, bytes[index]!);
}

/**
 * `address` in the library's form, in a buffer of its own (24 bytes).
 *
 * @example
 * ```ts
 * const bytes = encodedAddress(socketAddress("127.0.0.1", 7777));
 * ```
 */
export function encodedAddress(address: SocketAddress): Uint8Array {
  // The buffer first: `.buffer` of a small Uint8Array would make JSC give it one, slowly.
  const memory = new ArrayBuffer(Layout.addressSize);
  encodeAddress(address, new DataView(memory), 0);
  return new Uint8Array(memory);
}

/** The host text of the last address {@link decodeAddress} read, and its bytes as four words. */
const decoded = { family: 0, scopeId: 0, words: new Uint32Array(4), host: "" };

/** Reads an address in the library's form at `offset` of `view`. */
export function decodeAddress(view: DataView, offset: number): SocketAddress {
  const family = view.getUint16(offset + Layout.addressFamilyOffset, true);
  if (family !== 4 && family !== 6) throw new AddressError(`address family ${family} is neither 4 nor 6`);
  const port = view.getUint16(offset + Layout.addressPortOffset, true);
  const scopeId = view.getUint32(offset + Layout.addressScopeIdOffset, true);
  // A server hears from the same peers again and again: the host text of the last one is
  // reused when its bytes are the same, instead of formatting a string per datagram.
  const at = offset + Layout.addressBytesOffset;
  const words = decoded.words;
  let same = family === decoded.family && scopeId === decoded.scopeId;
  for (let index = 0; index < 4; index++) {
    const word = view.getUint32(at + index * 4);
    if (word !== words[index]) same = false;
    words[index] = word;
  }
  if (!same) {
    const bytes = new Uint8Array(16);
    for (let index = 0; index < 16; index++) bytes[index] = view.getUint8(at + index);
    decoded.family = family;
    decoded.scopeId = scopeId;
    decoded.host = formatHost(family, bytes, scopeId);
  }
  return { family, host: decoded.host, port, scopeId };
}
