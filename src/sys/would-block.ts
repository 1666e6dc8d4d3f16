/**
 * Would-block, spelled once: the value a non-blocking operation returns when it cannot make
 * progress now, as mio's `io::ErrorKind::WouldBlock` and TigerBeetle's `error.WouldBlock` do.
 * It is a symbol, so it cannot be mistaken for a count or an errno: a result typed
 * `number | WouldBlock` must be told apart before it can be used as a number.
 *
 * Apps never see it: the `try…` forms of `UdpSocket` return `{ state: "would-block" }`.
 *
 * @module
 */

/** Returned by a non-blocking operation that would have to wait. */
export const WOULD_BLOCK: unique symbol = Symbol("WouldBlock");

/** The type of {@link WOULD_BLOCK}. */
export type WouldBlock = typeof WOULD_BLOCK;
