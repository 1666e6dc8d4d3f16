/**
 * The result of a non-blocking `try…` call of any source in this layer (sockets, signal
 * watches): the value, or would-block.
 *
 * @module
 */

/**
 * The result of a `try…` call: the value, or would-block (the source is not ready: wait for it
 * with the waiting form, or with `readable()` / `writable()`).
 *
 * @example
 * ```ts
 * const result = socket.tryRecvFrom(buffer);
 * if (result.state === "ok") console.log(result.value.bytes.length);
 * ```
 */
export type TryResult<T> = { readonly state: "ok"; readonly value: T } | { readonly state: "would-block" };

/** The one would-block result, shared: it carries nothing, so nothing is allocated for it. */
export const WOULD_BLOCK_RESULT: TryResult<never> = { state: "would-block" };
