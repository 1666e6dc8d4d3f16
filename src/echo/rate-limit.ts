/**
 * Per-source rate limiting: a token bucket for each source address, refilled at `--rate-limit`
 * datagrams per second, with a burst of one second's worth.
 *
 * The buckets live in a fixed-size table (typed arrays, no allocation per datagram), indexed by
 * a hash of the source address. A new source takes the slot of whatever was there: the table's
 * memory is bounded whatever the number of sources, so spoofed sources cannot exhaust it; the
 * cost of a collision is that an evicted source starts again with a full bucket.
 *
 * @module
 */

/** Address bytes per key: 2 (family) + 16 (address); the port is not part of the source. */
const KEY_WORDS = 5;

/** Token buckets for many sources in bounded memory. */
export class RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #mask: number;
  readonly #keys: Uint32Array;
  readonly #tokens: Float64Array;
  readonly #refilledAt: Float64Array;
  readonly #used: Uint8Array;
  /** How many slots were taken over from another source. */
  evictions = 0;

  /**
   * @param perSecond datagrams per second each source may send (at least 1).
   * @param slots table size, a power of two (default 65536: 2.5 MiB).
   */
  constructor(perSecond: number, slots = 65536) {
    if (!Number.isInteger(perSecond) || perSecond < 1)
      throw new RangeError(`rate limit ${perSecond} is not a whole number of datagrams per second >= 1`);
    if (!Number.isInteger(slots) || slots < 1 || (slots & (slots - 1)) !== 0)
      throw new RangeError(`slots ${slots} is not a power of two`);
    this.#ratePerMs = perSecond / 1000;
    this.#burst = perSecond;
    this.#mask = slots - 1;
    this.#keys = new Uint32Array(slots * KEY_WORDS);
    this.#tokens = new Float64Array(slots);
    this.#refilledAt = new Float64Array(slots);
    this.#used = new Uint8Array(slots);
  }

  /**
   * Takes one token for the source whose address (the 24-byte `abi.Address`: family, port,
   * scope, bytes) starts at word `offset` of `words`. Returns false if the source is over its
   * rate.
   */
  admit(words: Uint32Array, offset: number, nowMs: number): boolean {
    // Word 0 = family | port << 16 (the port is masked out), 1 = scope, 2..5 = address bytes.
    const family = words[offset]! & 0xffff;
    const a = words[offset + 2]!;
    const b = words[offset + 3]!;
    const c = words[offset + 4]!;
    const d = words[offset + 5]!;
    let hash = Math.imul(family ^ 0x9e3779b9, 0x85ebca6b);
    hash = Math.imul(hash ^ a, 0xc2b2ae35);
    hash = Math.imul(hash ^ b, 0x85ebca6b);
    hash = Math.imul(hash ^ c, 0xc2b2ae35);
    hash = Math.imul(hash ^ d, 0x85ebca6b);
    hash ^= hash >>> 15;
    const slot = hash & this.#mask;
    const base = slot * KEY_WORDS;
    const keys = this.#keys;
    const same =
      this.#used[slot] === 1 &&
      keys[base] === family &&
      keys[base + 1] === a &&
      keys[base + 2] === b &&
      keys[base + 3] === c &&
      keys[base + 4] === d;
    if (!same) {
      if (this.#used[slot] === 1) this.evictions++;
      this.#used[slot] = 1;
      keys[base] = family;
      keys[base + 1] = a;
      keys[base + 2] = b;
      keys[base + 3] = c;
      keys[base + 4] = d;
      this.#tokens[slot] = this.#burst;
      this.#refilledAt[slot] = nowMs;
    } else {
      const refilled = this.#tokens[slot]! + (nowMs - this.#refilledAt[slot]!) * this.#ratePerMs;
      this.#tokens[slot] = Math.min(this.#burst, refilled);
      this.#refilledAt[slot] = nowMs;
    }
    if (this.#tokens[slot]! < 1) return false;
    this.#tokens[slot]! -= 1;
    return true;
  }
}
