/**
 * The poller of `zig/src/poller.zig`, as a TypeScript object: epoll on Linux, kqueue on macOS.
 *
 * Readiness contract (as in mio): registrations are edge-triggered, so an event means readiness
 * *changed*; a source must be used until it would block before waiting for it again. Events can
 * be spurious: after one, an operation may still would-block, and that is not an error.
 *
 * @module
 */
import { Layout, TOKEN_WAKER_HIGH } from "./abi.ts";
import { check, SystemError } from "./errors.ts";
import { native } from "./ffi.ts";

/** What a registration asks to be told about. An empty interest cannot be expressed. */
export type Interest = 1 | 2 | 3;

/** The largest token a registration may use: tokens are numbers, exact up to 2^53. */
export const TOKEN_MAX = Number.MAX_SAFE_INTEGER;

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
  token(index: number): number {
    const base = index * (Layout.eventSize / 4);
    return this.#words[base]! + this.#words[base + 1]! * 0x1_0000_0000;
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
 * poller.register(socketFd, 1, INTEREST_READABLE);
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

  register(fd: number, token: number, interest: Interest): void {
    this.#ensureOpen("Cannot register");
    checkToken(token);
    check(
      native.br_poller_register(this.#handle, this.#handle, fd, token, interest),
      "poller_register",
      () => `Cannot register descriptor ${fd} under token ${token}`,
    );
  }

  reregister(fd: number, token: number, interest: Interest): void {
    this.#ensureOpen("Cannot reregister");
    checkToken(token);
    check(
      native.br_poller_reregister(this.#handle, this.#handle, fd, token, interest),
      "poller_reregister",
      () => `Cannot reregister descriptor ${fd} under token ${token}`,
    );
  }

  deregister(fd: number): void {
    this.#ensureOpen("Cannot deregister");
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

function checkToken(token: number): void {
  if (!Number.isSafeInteger(token) || token < 0) {
    throw new RangeError(`token ${token} is not a whole number from 0 to ${TOKEN_MAX}`);
  }
}
