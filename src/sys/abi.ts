/**
 * The TypeScript mirror of `zig/src/abi.zig`: struct sizes, offsets and constants.
 *
 * The library reports its own layout through `br_abi_layout`; {@link nativeLayout} reads it and
 * `test/abi.test.ts` checks it against the numbers here. Loading a library built from other
 * sources fails at once (see `assertLayout`) instead of corrupting memory later.
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

/** The high 32 bits of the waker's reserved token (all ones); no registration can use it. */
export const TOKEN_WAKER_HIGH = 0xffff_ffff;

/** Set in a datagram's flags when it was larger than its buffer and lost its tail. */
export const DATAGRAM_TRUNCATED = 1;

/** Socket options, as `abi.Option` numbers them. */
export const Option = {
  reuseAddress: 1,
  reusePort: 2,
  recvBuffer: 3,
  sendBuffer: 4,
  ipv6Only: 5,
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
} as const;

const layoutKeys = Object.keys(Layout) as (keyof typeof Layout)[];

/** The layout the loaded library was built with, field by field in `Layout`'s order. */
export function nativeLayout(): Record<keyof typeof Layout, number> {
  const words = new Uint32Array(layoutKeys.length);
  const rc = native.br_abi_layout(words, words);
  if (rc !== 0) throw new Error(`br_abi_layout failed with ${rc}`);
  return Object.fromEntries(layoutKeys.map((key, index) => [key, words[index]])) as Record<keyof typeof Layout, number>;
}

function assertLayout(): void {
  const actual = nativeLayout();
  for (const key of layoutKeys) {
    if (actual[key] !== Layout[key]) {
      throw new Error(
        `The native library's ${key} is ${actual[key]}, but the TypeScript mirror expects ${Layout[key]}: ` +
          "the library was built from other sources. Rebuild it with `bun run build`.",
      );
    }
  }
}

assertLayout();
