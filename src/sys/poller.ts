/**
 * The poller of `zig/src/poller.zig`, as a TypeScript object: epoll on Linux, kqueue on macOS.
 *
 * Readiness contract (as in mio): registrations are edge-triggered, so an event means readiness
 * *changed*; a source must be used until it would block before waiting for it again. Events can
 * be spurious: after one, an operation may still would-block, and that is not an error.
 *
 * @module
 */
import { INTEREST_READABLE, INTEREST_WRITABLE, Layout, TOKEN_WAKER_HIGH } from "./abi.ts";
import { check, SystemError } from "./errors.ts";
import { native } from "./ffi.ts";

declare const fdBrand: unique symbol;
declare const tokenBrand: unique symbol;

/**
 * A file descriptor: a number that only {@link asFd} (or a function that opened one) makes, so
 * that a token or a count cannot be passed where a descriptor is expected.
 *
 * @example
 * ```ts
 * const fd: Fd = asFd(3);
 * ```
 */
export type Fd = number & { readonly [fdBrand]: "Fd" };

/**
 * The name a registration's events carry (mio's `Token`), chosen by the caller: a whole number
 * from 0 to {@link TOKEN_MAX}. Made only by {@link asToken}, so it cannot be swapped with an
 * {@link Fd}.
 *
 * @example
 * ```ts
 * const token: Token = asToken(1);
 * ```
 */
export type Token = number & { readonly [tokenBrand]: "Token" };

/** The largest token a registration may use: tokens are numbers, exact up to 2^53. */
export const TOKEN_MAX = Number.MAX_SAFE_INTEGER;

/**
 * `value` as a descriptor, or a `RangeError` naming it if it cannot be one (descriptors are
 * whole numbers from 0 to 2^31 - 1).
 *
 * @example
 * ```ts
 * asFd(3); // 3, typed Fd
 * asFd(-1); // throws RangeError: descriptor -1 is not a whole number from 0 to 2147483647
 * ```
 */
export function asFd(value: number): Fd {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fff_ffff) {
    throw new RangeError(`descriptor ${value} is not a whole number from 0 to ${0x7fff_ffff}`);
  }
  return value as Fd;
}

/**
 * `value` as a token, or a `RangeError` naming it if it cannot be one.
 *
 * @example
 * ```ts
 * asToken(42); // 42, typed Token
 * asToken(-1); // throws RangeError: token -1 is not a whole number from 0 to 9007199254740991
 * ```
 */
export function asToken(value: number): Token {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`token ${value} is not a whole number from 0 to ${TOKEN_MAX}`);
  }
  return value as Token;
}

/**
 * What a registration asks to be told about (mio's `Interest`): readable, writable or both.
 * There is no empty interest: the only values are the two constants and their union.
 *
 * @example
 * ```ts
 * const both = Interest.READABLE.add(Interest.WRITABLE);
 * both.isWritable; // true
 * ```
 */
export class Interest {
  /** Readiness to read (`abi.interest_readable`). */
  static readonly READABLE: Interest = new Interest(INTEREST_READABLE);
  /** Readiness to write (`abi.interest_writable`). */
  static readonly WRITABLE: Interest = new Interest(INTEREST_WRITABLE);
  /** Both directions. */
  static readonly BOTH: Interest = new Interest(INTEREST_READABLE | INTEREST_WRITABLE);

  /** The `abi.interest_*` bits the library takes. */
  readonly bits: number;

  private constructor(bits: number) {
    this.bits = bits;
  }

  /** This interest and `other` together. */
  add(other: Interest): Interest {
    const bits = this.bits | other.bits;
    return bits === Interest.BOTH.bits ? Interest.BOTH : this;
  }

  get isReadable(): boolean {
    return (this.bits & INTEREST_READABLE) !== 0;
  }

  get isWritable(): boolean {
    return (this.bits & INTEREST_WRITABLE) !== 0;
  }

  toString(): string {
    return this === Interest.BOTH ? "readable | writable" : this.isReadable ? "readable" : "writable";
  }
}

/**
 * A reusable array of events that {@link Poller.wait} fills: event `i` is read with
 * {@link EventBuffer.token} and {@link EventBuffer.flags}, without allocating.
 */
export class EventBuffer {
  /** The raw events, shared with the library (and with other threads when `shared`). */
  readonly bytes: Uint8Array;
  readonly #words: Uint32Array;

  /**
   * @param capacity how many events one wait may return (at most `Layout.eventsMax`).
   * @param backing memory to use, e.g. a `SharedArrayBuffer` shared with another thread, and
   *   the byte offset in it (a multiple of 8).
   */
  constructor(capacity: number = 256, backing?: { buffer: ArrayBufferLike; byteOffset: number }) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > Layout.eventsMax) {
      throw new RangeError(`event capacity ${capacity} is not a whole number from 1 to ${Layout.eventsMax}`);
    }
    const buffer = backing?.buffer ?? new ArrayBuffer(capacity * Layout.eventSize);
    const byteOffset = backing?.byteOffset ?? 0;
    this.bytes = new Uint8Array(buffer, byteOffset, capacity * Layout.eventSize);
    this.#words = new Uint32Array(buffer, byteOffset, capacity * (Layout.eventSize / 4));
  }

  /** The bytes one buffer of `capacity` events needs. */
  static byteLength(capacity: number): number {
    return capacity * Layout.eventSize;
  }

  get capacity(): number {
    return this.bytes.byteLength / Layout.eventSize;
  }

  /** The token of event `index` (the low 53 bits; see {@link isWaker}). */
  token(index: number): Token {
    const base = index * (Layout.eventSize / 4);
    return (this.#words[base]! + this.#words[base + 1]! * 0x1_0000_0000) as Token;
  }

  /** Whether event `index` is the poller's own waker rather than a registration. */
  isWaker(index: number): boolean {
    return this.#words[index * (Layout.eventSize / 4) + 1] === TOKEN_WAKER_HIGH;
  }

  /** The `EVENT_*` flags of event `index`. */
  flags(index: number): number {
    return this.#words[index * (Layout.eventSize / 4) + Layout.eventFlagsOffset / 4]!;
  }
}

const backendBuffer = new Uint8Array(16);

/** The poller's backend on this OS: `"epoll"` or `"kqueue"`. */
export function pollerBackend(): string {
  const len = check(
    native.br_poller_backend(backendBuffer, backendBuffer),
    "poller_backend",
    () => "Cannot name the poller backend",
  );
  return new TextDecoder().decode(backendBuffer.subarray(0, len));
}

/** The two descriptors behind a poller, enough to use it from another thread. */
export interface PollerHandle {
  readonly fd: number;
  readonly wakerFd: number;
}

/**
 * An epoll or kqueue instance with its cross-thread waker.
 *
 * @example
 * ```ts
 * using poller = Poller.open();
 * poller.register(socket.fd, asToken(1), Interest.READABLE);
 * const events = new EventBuffer(64);
 * const count = poller.wait(events, 100); // 0 on timeout
 * ```
 */
export class Poller {
  readonly #handle: Int32Array;
  #closed = false;
  readonly #owner: boolean;

  private constructor(handle: Int32Array, owner: boolean) {
    this.#handle = handle;
    this.#owner = owner;
  }

  /** Creates a poller and its waker. */
  static open(): Poller {
    const handle = new Int32Array(Layout.pollerSize / 4);
    check(native.br_poller_open(handle, handle), "poller_open", () => "Cannot create a poller");
    return new Poller(handle, true);
  }

  /**
   * A view of a poller opened elsewhere (e.g. by another thread), which does not close it.
   */
  static borrow(handle: PollerHandle): Poller {
    return new Poller(Int32Array.of(handle.fd, handle.wakerFd), false);
  }

  /** The poller's descriptors, to {@link borrow} it from another thread. */
  get handle(): PollerHandle {
    return { fd: this.#handle[0]!, wakerFd: this.#handle[1]! };
  }

  get closed(): boolean {
    return this.#closed;
  }

  #ensureOpen(action: string): void {
    if (this.#closed) throw new Error(`${action}: the poller is closed`);
  }

  /**
   * Reports `fd`'s readiness for `interest` under `token`, edge-triggered. A descriptor
   * registered already is refused (`EEXIST`), the same on every backend.
   */
  register(fd: Fd, token: Token, interest: Interest): void {
    this.#ensureOpen("Cannot register");
    checkArguments(fd, token, interest);
    check(
      native.br_poller_register(this.#handle, this.#handle, fd, token, interest.bits),
      "poller_register",
      () => `Cannot register descriptor ${fd} under token ${token}`,
    );
  }

  /** Replaces `fd`'s registration; one that is not registered is refused (`ENOENT`). */
  reregister(fd: Fd, token: Token, interest: Interest): void {
    this.#ensureOpen("Cannot reregister");
    checkArguments(fd, token, interest);
    check(
      native.br_poller_reregister(this.#handle, this.#handle, fd, token, interest.bits),
      "poller_reregister",
      () => `Cannot reregister descriptor ${fd} under token ${token}`,
    );
  }

  /** Stops reporting `fd`; one that is not registered is refused (`ENOENT`). */
  deregister(fd: Fd): void {
    this.#ensureOpen("Cannot deregister");
    asFd(fd);
    check(
      native.br_poller_deregister(this.#handle, this.#handle, fd),
      "poller_deregister",
      () => `Cannot deregister descriptor ${fd}`,
    );
  }

  /**
   * Blocks the calling thread until an event, a {@link wake} or `timeoutMs` (negative: no
   * limit); returns how many events it stored in `events`.
   */
  wait(events: EventBuffer, timeoutMs: number): number {
    this.#ensureOpen("Cannot wait");
    const rc = native.br_poller_wait(this.#handle, this.#handle, events.bytes, events.bytes, timeoutMs);
    // On the hot path: no closure for the message unless it is needed.
    if (rc >= 0) return rc;
    throw new SystemError("poller_wait", -rc, `Cannot wait for events (timeout ${timeoutMs} ms)`);
  }

  /** Makes a wait in progress return, from any thread; or the next wait return at once. */
  wake(): void {
    this.#ensureOpen("Cannot wake");
    check(native.br_poller_wake(this.#handle, this.#handle), "poller_wake", () => "Cannot wake the poller");
  }

  /** Closes the poller (a borrowed poller is only forgotten). Closing twice does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owner) return;
    check(native.br_poller_close(this.#handle, this.#handle), "poller_close", () => "Cannot close the poller");
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The brands are only types: a caller who casts (`x as Fd`) or calls from JavaScript is checked
 * here, before anything reaches the library.
 */
function checkArguments(fd: Fd, token: Token, interest: Interest): void {
  asFd(fd);
  asToken(token);
  if (!(interest instanceof Interest)) throw new TypeError(`interest ${String(interest)} is not an Interest`);
}
