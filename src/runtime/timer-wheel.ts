/**
 * The timer wheel: where the runtime's timers wait, arranged so that setting, cancelling and
 * firing a timer each cost O(1) whatever the number of timers (a hierarchical timing wheel, as
 * tokio's and the Linux kernel's).
 *
 * Time is counted in whole milliseconds ("ticks") on the {@link now} clock, the poller's
 * resolution. The wheel has {@link LEVELS} levels of {@link SLOTS} slots: a slot of level 0 is
 * one millisecond, a slot of level L is 64^L ms, so the levels cover 64 ms, 4 s, 4.4 min,
 * 4.7 h, 12.4 days and 795 days ahead. A timer goes into the finest level whose slots still
 * tell its deadline apart from the present; when the wheel reaches a slot of a higher level,
 * its timers move down to finer ones (or fire), so each timer moves at most {@link LEVELS}
 * times in its life. A deadline beyond the top level's reach (Infinity included) waits in the
 * top level's slot furthest ahead (the one behind the present) and is looked at again once per
 * 795 days or so.
 *
 * ```text
 *  level 2 ─ 64 slots of 4096 ms ─┐ cascade
 *  level 1 ─ 64 slots of   64 ms ─┤ cascade
 *  level 0 ─ 64 slots of    1 ms ─┴▶ fire: waker.wake()
 * ```
 *
 * Each slot is a doubly linked list threaded through the timers themselves (intrusive: a
 * `Sleep` is its own list node, so arming one allocates nothing), and each level keeps a
 * 64-bit map of its non-empty slots, so that the next deadline is found with a few bit
 * operations instead of a scan. Why a wheel rather than the binary heap it replaces: with a
 * million sleeping tasks the heap's O(log n) sift through a million scattered objects made
 * both arming and firing cache misses all the way down (profile in bench/RESULTS.md).
 *
 * Timers due in the same millisecond fire in the order they were set; a timer never fires
 * before its deadline, and at most about a millisecond after it (the wait is rounded up).
 *
 * @module
 */
import type { Waker } from "./waker.ts";

/** Levels of the wheel. */
export const LEVELS = 6;
/** Slots per level (64: one bit each in a level's two 32-bit occupancy words). */
export const SLOTS = 64;

/** Bits of a slot number. */
const SLOT_BITS = 6;
/** `widthMs[L]`: the milliseconds one slot of level L covers (64^L). */
const WIDTH_MS = Array.from({ length: LEVELS + 1 }, (_, level) => 2 ** (SLOT_BITS * level));
/** How far ahead the top level reaches, in milliseconds (64^6, about 795 days). */
const RANGE_MS = WIDTH_MS[LEVELS]!;

/**
 * The longest one wait in the driver may be, in milliseconds: the poller's timeout is a 32-bit
 * signed number. A timer further away makes the driver wake once per this period and wait again.
 */
const WAIT_MS_MAX = 0x7fff_ffff;

/**
 * One slot of a wheel: a list of timers threaded through the timers themselves, and the wheel
 * it belongs to, so that a timer in a slot knows its wheel without a field of its own for it
 * (a `Sleep` then fits JavaScriptCore's 64-byte size class, not the 80-byte one).
 *
 * @example
 * ```ts
 * const slot = sleep.wheelSlot; // the slot it waits in, or UNARMED, or FIRED
 * if (slot !== UNARMED && slot !== FIRED) slot.wheel!.remove(sleep);
 * ```
 */
export class WheelSlot {
  /** The wheel, or null for {@link FIRED}, which is in none. */
  readonly wheel: TimerWheel | null;
  /** `level * SLOTS + slot`: where the wheel's per-slot tables keep this slot. */
  readonly index: number;
  head: TimerEntry | null = null;
  tail: TimerEntry | null = null;

  constructor(wheel: TimerWheel | null, index: number) {
    this.wheel = wheel;
    this.index = index;
  }
}

/** `wheelSlot` of a timer that is in no slot: never armed, removed, or not yet re-armed. */
export const UNARMED = null;
/** `wheelSlot` of a timer that has fired (a slot of no wheel, never holding a timer). */
export const FIRED: WheelSlot = Object.freeze(new WheelSlot(null, -1));

/**
 * What the wheel keeps: a deadline, the waker to wake at it, and the wheel's own links (which
 * only the wheel touches). `Sleep` and {@link Timer} are entries. The tick a timer fires at is
 * its deadline rounded up to a whole millisecond, derived when needed rather than kept.
 */
export interface TimerEntry {
  /** When the timer is due, a {@link now} value in milliseconds. */
  readonly deadline: number;
  waker: Waker;
  /** The slot it waits in, or {@link UNARMED}, or {@link FIRED}. */
  wheelSlot: WheelSlot | null;
  wheelPrev: TimerEntry | null;
  wheelNext: TimerEntry | null;
}

/** Whether `entry` waits in a slot of some wheel (it is set, and has not fired). */
function isSet(entry: TimerEntry): boolean {
  return entry.wheelSlot !== UNARMED && entry.wheelSlot !== FIRED;
}

/**
 * Removes `entry` from the wheel it is set on, whichever that is; an entry not set (never
 * armed, removed, or fired) is left as it is. O(1).
 *
 * @example
 * ```ts
 * override drop(): void {
 *   removeTimer(this); // a Sleep dropped before its deadline
 * }
 * ```
 */
export function removeTimer(entry: TimerEntry): void {
  entry.wheelSlot?.wheel?.remove(entry);
}

/**
 * A timer on its own, as {@link TimerWheel.add} returns it (a `Sleep` is its own entry).
 *
 * @example
 * ```ts
 * const timer = new Timer(now() + 100, task.waker);
 * wheel.insert(timer);
 * ```
 */
export class Timer implements TimerEntry {
  readonly deadline: number;
  waker: Waker;
  wheelSlot: WheelSlot | null = UNARMED;
  wheelPrev: TimerEntry | null = null;
  wheelNext: TimerEntry | null = null;

  constructor(deadline: number, waker: Waker) {
    this.deadline = deadline;
    this.waker = waker;
  }

  /** Whether the timer has fired. */
  get fired(): boolean {
    return this.wheelSlot === FIRED;
  }
}

/** Index of the lowest set bit of a non-zero 32-bit word. */
function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/**
 * The timers of one runtime, in a hierarchical wheel.
 *
 * @example
 * ```ts
 * const wheel = new TimerWheel();
 * const timer = wheel.add(now() + 50, { wake: () => console.log("50 ms later") });
 * wheel.fireDue(now() + 60); // prints
 * ```
 */
export class TimerWheel {
  /** The slots, `level * SLOTS + slot`, each with its first and last timer. */
  readonly #slots: WheelSlot[] = Array.from({ length: LEVELS * SLOTS }, (_, index) => new WheelSlot(this, index));
  /**
   * Per level, two words: bit s set when slot s holds a timer (slots 0–31, then 32–63). Signed:
   * a Uint32Array's word with bit 31 set is no 32-bit integer to JavaScriptCore, which left its
   * compiled code for it ("Overflow") as the clock reached slot 31 or 63.
   */
  readonly #occupied = new Int32Array(LEVELS * 2);
  /**
   * Per slot, no more than the earliest tick in it (exact until a timer is removed, then
   * perhaps earlier): how long the driver may sleep past the slot's start, since timers of a
   * higher level fire well after their slot begins.
   */
  readonly #earliestTicks = new Float64Array(LEVELS * SLOTS).fill(Infinity);
  /** The tick the wheel has reached: every timer due at or before it has fired. */
  #elapsed = 0;
  #size = 0;
  /** The slot {@link #nextExpiration} found (an out-parameter, so that it allocates nothing). */
  #nextSlot = -1;

  /** How many timers are set. */
  get size(): number {
    return this.#size;
  }

  /** Sets a timer that wakes `waker` at `deadline` (a {@link now} value); returns it. */
  add(deadline: number, waker: Waker): Timer {
    const timer = new Timer(deadline, waker);
    this.insert(timer);
    return timer;
  }

  /** Puts an entry (not set already) into the wheel: O(1). */
  insert(entry: TimerEntry): void {
    if (isSet(entry)) throw new Error("this timer is set already: remove it before setting it again");
    if (Number.isNaN(entry.deadline)) throw new RangeError("a timer's deadline NaN is not a number");
    this.#link(entry);
    this.#size++;
  }

  /**
   * Removes a timer that has not fired: O(1). Removing it twice, or after it fired, does
   * nothing; removing it from a wheel it is not set on is refused (its links are another's).
   */
  remove(entry: TimerEntry): void {
    if (!isSet(entry)) return;
    if (entry.wheelSlot!.wheel !== this) throw new Error("this timer is set on another wheel: remove it from that one");
    this.#unlink(entry);
    entry.wheelSlot = UNARMED;
    this.#size--;
  }

  /**
   * How long the driver may wait: whole milliseconds until the earliest timer is due (rounded
   * up, so that it never wakes early), capped by `limitMs`; `limitMs` if no timer is set
   * (negative: no limit), and never more than 2^31 - 1 ms. After a timer was removed this may be earlier than the next timer:
   * the driver then wakes once for nothing and waits again.
   */
  timeoutMs(at: number, limitMs: number): number {
    if (this.#size === 0) return limitMs;
    const slotStart = this.#nextExpiration();
    const earliest = Math.max(slotStart, this.#earliestTicks[this.#nextSlot]!);
    // At most WAIT_MS_MAX: a longer wait would not fit the poller's 32-bit timeout.
    const untilMs = Math.min(WAIT_MS_MAX, Math.max(0, Math.ceil(earliest - at)));
    return limitMs < 0 ? untilMs : Math.min(untilMs, limitMs);
  }

  /**
   * Fires every timer whose deadline is at or before `at`, earliest first (those due in the
   * same millisecond in the order they were set); returns how many fired.
   */
  fireDue(at: number): number {
    if (Number.isNaN(at)) throw new RangeError("fireDue at NaN: not a time");
    const target = Math.floor(at);
    let fired = 0;
    while (this.#size > 0) {
      const slotStart = this.#nextExpiration();
      if (slotStart > target) break;
      const index = this.#nextSlot;
      // The wheel moves to the slot, then takes its list whole: a waker that sets a timer
      // while it is woken cannot touch the list being walked.
      this.#elapsed = Math.max(this.#elapsed, slotStart);
      const slot = this.#slots[index]!;
      let entry: TimerEntry | null = slot.head;
      slot.head = null;
      slot.tail = null;
      this.#emptied(index);
      while (entry !== null) {
        const next: TimerEntry | null = entry.wheelNext;
        entry.wheelPrev = null;
        entry.wheelNext = null;
        // (The tick is ceil(deadline), and the wheel's ticks are whole: compared as they are.)
        if (entry.deadline <= this.#elapsed) {
          entry.wheelSlot = FIRED;
          this.#size--;
          fired++;
          entry.waker.wake();
        } else {
          this.#link(entry); // not due yet: down to a finer level
          // Or a rotation on: never back into the slot being fired, which would be fired again, for ever.
          if (entry.wheelSlot === slot)
            throw new Error(`timer wheel: a timer due at ${entry.deadline} went back to the slot it left`);
        }
        entry = next;
      }
    }
    if (target > this.#elapsed) this.#elapsed = target;
    return fired;
  }

  /** Appends `entry` to the slot its tick belongs in, relative to where the wheel is. */
  #link(entry: TimerEntry): void {
    const elapsed = this.#elapsed;
    // A tick at or before the present goes into the present's slot: due at the next fireDue.
    // One beyond the top level's reach goes into the top level's slot just behind the present
    // one, a whole rotation ahead: `elapsed + RANGE_MS - 1` would fall in the present slot once
    // the top level has left its slot 0 (after 12.4 days), which reads as due now, and fireDue
    // would move it there again and again, for ever.
    const exactTick = Math.ceil(entry.deadline);
    const topSlotStart = Math.floor(elapsed / WIDTH_MS[LEVELS - 1]!) * WIDTH_MS[LEVELS - 1]!;
    const tick = Math.min(Math.max(exactTick, elapsed), topSlotStart + RANGE_MS - 1);
    let level = 0;
    while (level < LEVELS - 1 && Math.floor(tick / WIDTH_MS[level + 1]!) !== Math.floor(elapsed / WIDTH_MS[level + 1]!)) {
      level++;
    }
    const index = level * SLOTS + (Math.floor(tick / WIDTH_MS[level]!) % SLOTS);
    const slot = this.#slots[index]!;
    const tail = slot.tail;
    entry.wheelSlot = slot;
    // The real tick, not the clamped one: a timer beyond the top level's reach (Infinity
    // included) must not make the driver wake for it.
    const earliest = Math.max(exactTick, elapsed);
    if (earliest < this.#earliestTicks[index]!) this.#earliestTicks[index] = earliest;
    entry.wheelPrev = tail;
    entry.wheelNext = null;
    if (tail === null) {
      slot.head = entry;
      this.#occupied[index >> 5]! |= 1 << (index & 31);
    } else {
      tail.wheelNext = entry;
    }
    slot.tail = entry;
  }

  #unlink(entry: TimerEntry): void {
    const slot = entry.wheelSlot!;
    const { wheelPrev: prev, wheelNext: next } = entry;
    if (prev === null) slot.head = next;
    else prev.wheelNext = next;
    if (next === null) slot.tail = prev;
    else next.wheelPrev = prev;
    entry.wheelPrev = null;
    entry.wheelNext = null;
    if (slot.head === null) this.#emptied(slot.index);
  }

  #emptied(index: number): void {
    this.#occupied[index >> 5]! &= ~(1 << (index & 31));
    this.#earliestTicks[index] = Infinity;
  }

  /**
   * The tick at which the wheel's next non-empty slot begins (finest level first), with that
   * slot in {@link #nextSlot}; Infinity if the wheel is empty. Slots behind the wheel's
   * position in a level are empty, except where a too-far deadline wrapped into the top level:
   * those belong to the level's next rotation.
   */
  #nextExpiration(): number {
    const elapsed = this.#elapsed;
    for (let level = 0; level < LEVELS; level++) {
      const low = this.#occupied[level * 2]!;
      const high = this.#occupied[level * 2 + 1]!;
      if ((low | high) === 0) continue;
      const width = WIDTH_MS[level]!;
      const position = Math.floor(elapsed / width) % SLOTS;
      const slot = nextOccupied(low, high, position);
      const rotationStart = Math.floor(elapsed / WIDTH_MS[level + 1]!) * WIDTH_MS[level + 1]!;
      this.#nextSlot = level * SLOTS + slot;
      return rotationStart + slot * width + (slot < position ? WIDTH_MS[level + 1]! : 0);
    }
    this.#nextSlot = -1;
    return Infinity;
  }
}

/** The first set bit of the 64-bit map (`low`, `high`) at or after `position`, wrapping around. */
function nextOccupied(low: number, high: number, position: number): number {
  if (position < 32) {
    const ahead = low & (-1 << position);
    if (ahead !== 0) return lowestBit(ahead);
    if (high !== 0) return 32 + lowestBit(high);
    return lowestBit(low);
  }
  const ahead = high & (-1 << (position - 32));
  if (ahead !== 0) return 32 + lowestBit(ahead);
  if (low !== 0) return lowestBit(low);
  return 32 + lowestBit(high);
}
